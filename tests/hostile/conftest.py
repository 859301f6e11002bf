"""The hostile-input suite's switches: ``--hostile-full`` (or POCKET_MOCAP_HOSTILE=full) runs every case, else the
fast subset; ``--hostile-report PATH`` writes each case's figures (exit code, seconds, peak memory) as JSON.
POCKET_MOCAP_HOSTILE=before runs every case as the issue's reporter did (absolute paths, wording not judged), to
measure an older version."""

from __future__ import annotations

import json
import os


def pytest_addoption(parser):
    group = parser.getgroup("hostile", "hostile-input suite")
    group.addoption("--hostile-full", action="store_true", help="run every hostile case, not only the fast subset")
    group.addoption("--hostile-report", help="write the figures of the cases run to this JSON file")


def full_run(config) -> bool:
    return bool(config.getoption("--hostile-full", default=False)) or \
        os.environ.get("POCKET_MOCAP_HOSTILE") in ("full", "before")


FIGURES: list[dict] = []


def pytest_sessionfinish(session, exitstatus):
    path = session.config.getoption("--hostile-report", default=None)
    if path and FIGURES:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(FIGURES, handle, indent=1)
