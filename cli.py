"""``pocket-mocap``: the command-line face of the extension (no Blender needed for these commands).

    pocket-mocap info [--json]        what can run here: estimators and body models, with reasons
    pocket-mocap check INPUT...       decode photos/videos/folders in the background worker and report
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from .core import catalog
from .core.worker.job import Job


def command_info(args: argparse.Namespace) -> int:
    report = {
        "estimators": [asdict(choice) for choice in catalog.estimators()],
        "body_models": [asdict(choice) for choice in catalog.body_models(args.smpl or "", args.smplx or "")],
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for heading, key in (("Estimators", "estimators"), ("Body models", "body_models")):
        print(f"{heading}:")
        for item in report[key]:
            state = "ready" if item["available"] else item["reason"]
            print(f"  {item['name']:<15} {item['label']:<32} {state}")
    return 0


def progress_line(job: Job, width: int = 30) -> str:
    filled = int(job.progress.fraction * width)
    return f"\r[{'#' * filled}{'.' * (width - filled)}] {job.progress.describe()}"


def run_job(request: dict, job_dir: Path, quiet: bool = False) -> int:
    """Run one worker job to its end with a terminal progress bar; exit code 0 only when done."""
    job = Job(request, job_dir)
    job.start()
    try:
        while (interval := job.poll()) is not None:
            if not quiet:
                print(progress_line(job), end="", file=sys.stderr, flush=True)
            time.sleep(interval)
    except KeyboardInterrupt:
        job.cancel()
    if not quiet:
        print(progress_line(job), file=sys.stderr)
    for warning in job.outcome.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if job.outcome.state != "done":
        print(f"error: {job.outcome.message}", file=sys.stderr)
        return 1
    print(json.dumps(job.outcome.summary, indent=2))
    return 0


def command_check(args: argparse.Namespace) -> int:
    job_dir = Path(tempfile.mkdtemp(prefix="pocket_mocap_check_"))
    code = run_job({"kind": "probe", "inputs": [str(p) for p in args.inputs], "threads": args.threads},
                   job_dir, args.quiet)
    if code == 0:
        shutil.rmtree(job_dir, ignore_errors=True)
    return code


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(prog="pocket-mocap", description="Pocket Mocap from the command line.")
    commands = main_parser.add_subparsers(dest="command", required=True)
    info = commands.add_parser("info", help="list estimators and body models and whether they can run")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.add_argument("--smpl", help="an SMPL model file to check")
    info.add_argument("--smplx", help="an SMPL-X model file to check")
    info.set_defaults(run=command_info)
    check = commands.add_parser("check", help="decode every frame of photos, videos or folders and report")
    check.add_argument("inputs", nargs="+", type=Path)
    check.add_argument("--threads", type=int, default=2)
    check.add_argument("--quiet", action="store_true", help="no progress bar")
    check.set_defaults(run=command_check)
    return main_parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
