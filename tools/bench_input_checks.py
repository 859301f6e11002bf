"""Benchmark: what the input and output checks cost a normal job, before against after.

    .venv/bin/python tools/bench_input_checks.py --before DIR [--after DIR] [--repeats 5]

Each DIR is a source tree of this repository (e.g. ``git archive <commit> | tar -x -C DIR``); ``--after``
defaults to this one. The same jobs run through each tree's own ``pocket-mocap reconstruct`` (a fresh cache
every time, so nothing is reused), alternating before/after so that a loaded machine slows both alike: a photo
(s03, 426x640), a short video (v02, 40 frames) and the taiji clip body only (412 frames, 1280x720). Printed:
medians of wall seconds, and the ratio after/before.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MEDIA = ROOT.parent / "shared" / "media"
JOBS = {
    "photo (s03, 426x640)": ([MEDIA / "images" / "single" / "s03_yoga_treepose__tfexamples_image3.jpeg"], ()),
    "video (v02, 40 frames)": ([MEDIA / "videos" / "v02_basketball_dribble__mmhuman3d_single_person_demo.mp4"], ()),
    "taiji body only (412 frames)": ([MEDIA / "videos" / "v01_taiji__hybrik.mp4"], ("--no-hands",)),
}


def importable(tree: Path, scratch: Path) -> Path:
    """A folder holding ``pocket_mocap`` -> ``tree``, to put first on PYTHONPATH."""
    folder = scratch / f"path-{abs(hash(str(tree)))}"
    folder.mkdir(exist_ok=True)
    link = folder / "pocket_mocap"
    if not link.exists():
        link.symlink_to(tree.resolve(), target_is_directory=True)
    return folder


def run_once(tree_path: Path, inputs: list[Path], extra: tuple, scratch: Path) -> float:
    with tempfile.TemporaryDirectory(dir=scratch) as work:
        env = dict(os.environ, PYTHONPATH=str(tree_path))
        env.pop("BLENDER_USER_RESOURCES", None)
        command = [sys.executable, "-m", "pocket_mocap.cli", "reconstruct", *map(str, inputs), "-o",
                   str(Path(work) / "out.npz"), "--cache", str(Path(work) / "cache"), "--quiet", *extra]
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=work)
        seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{tree_path}: {done.stderr.strip()}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, default=ROOT)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--jobs", nargs="*", default=list(JOBS), help="which of the jobs to time")
    args = parser.parse_args()
    if not MEDIA.is_dir():
        print(f"{MEDIA} is absent: nothing to measure.")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        trees = {"before": importable(args.before, Path(scratch)), "after": importable(args.after, Path(scratch))}
        print(f"median of {args.repeats} alternating runs, wall seconds of `pocket-mocap reconstruct` (fresh cache)")
        for label in args.jobs:
            inputs, extra = JOBS[label]
            times: dict[str, list[float]] = {"before": [], "after": []}
            for repeat in range(args.repeats):
                for name in ("before", "after") if repeat % 2 == 0 else ("after", "before"):
                    times[name].append(run_once(trees[name], inputs, extra, Path(scratch)))
            before, after = (statistics.median(times[name]) for name in ("before", "after"))
            print(f"  {label:<30} before {before:6.2f} s   after {after:6.2f} s   after/before {after / before:5.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
