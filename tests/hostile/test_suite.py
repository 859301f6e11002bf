"""Every hostile case through the real command line (tests/hostile/cases.py): exit code, one sentence, no
traceback, no stray file, inputs never opened for writing, bounded memory, no hang. The fast subset runs in
every test run; ``pytest tests/hostile --hostile-full`` runs them all."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

from .cases import NO_PERSON, Case, all_cases
from .conftest import FIGURES, full_run
from .make import SHARED_MEDIA, unmount_all
from .runner import judge, run_case


def pytest_generate_tests(metafunc):
    if "case" in metafunc.fixturenames:
        chosen = [case for case in all_cases() if case.fast or full_run(metafunc.config)]
        metafunc.parametrize("case", chosen, ids=[case.id for case in chosen])


def _missing(case: Case) -> str:
    if "media" in case.needs and not SHARED_MEDIA.is_dir():
        return "../shared/media is absent: no real people"
    if "onnx" in case.needs and importlib.util.find_spec("onnx") is None:
        return "the onnx package (test-only) is not installed"
    if "root" in case.needs and (not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("mount")):
        return "needs root to mount a small RAM disk"
    return ""


def make_files(case: Case, work: Path) -> None:
    for relative, maker in case.files.items():
        path = work / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(maker, bytes):
            path.write_bytes(maker)
        else:
            maker(path)


PATH_OPTIONS = ("-o", "--output", "--cache", "--body-file", "--weights", "--smpl", "--smplx")


def as_the_reporter_ran(args: list[str], cwd: Path) -> list[str]:
    """POCKET_MOCAP_HOSTILE=before: the arguments with absolute paths, as the issue's reporter gave them, so
    that an older version (which resolved relative paths in its worker's folder) is judged on the rest."""
    changed = []
    for index, token in enumerate(args):
        after_option = index and args[index - 1] in PATH_OPTIONS
        if (after_option or os.path.lexists(cwd / token)) and not token.startswith("-") and token \
                and not os.path.isabs(token):
            token = str(cwd / token)
        changed.append(token)
    return changed


def test_hostile_case(case: Case, tmp_path: Path):
    if reason := _missing(case):
        pytest.skip(reason)
    work = tmp_path / "work"
    work.mkdir()
    try:
        make_files(case, work)
        (work / case.cwd).mkdir(parents=True, exist_ok=True)
        before = os.environ.get("POCKET_MOCAP_HOSTILE") == "before"
        args = as_the_reporter_ran(list(case.args), work / case.cwd) if before else list(case.args)
        run = run_case(args, work, work / case.cwd, list(case.outputs), case.timeout)
        # Judging an older version, its wording is not held against it: only what the user was left with.
        problems = judge(run, case.code, "" if before else case.says, "" if before else case.warns, case.max_mb)
        culprit = next((Path(args[i + 1]).name for i, token in enumerate(args[:-1])
                        if token in ("--body-file", "--weights")), "")
        if case.blames_file and case.family in ("models", "weights") and run.code not in (0, None) and culprit and \
                not any(culprit in error for error in run.errors) and NO_PERSON not in case.says:
            problems.append(f"the error does not name {culprit}, the file at fault: {run.errors}")
        if run.code == 0:
            problems += [f"output {name} missing" for name in case.outputs if not (work / name).is_file()]
        if case.check is not None and not problems:
            problems += [p for p in [case.check(work, run)] if p]
    finally:
        unmount_all()
    FIGURES.append({"case": case.id, "family": case.family, "code": run.code, "seconds": round(run.seconds, 2),
                    "peak_mb": round(run.peak_mb), "passed": not problems})
    assert not problems, f"{case.id}: " + "; ".join(problems) + f"\nstderr:\n{run.stderr[-2000:]}"
