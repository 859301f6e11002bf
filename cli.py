"""``pocket-mocap``: the command-line face of the extension.

    pocket-mocap info [--json]        what can run here: estimators and body models, with reasons
    pocket-mocap check INPUT...       decode photos/videos/folders in the background worker and report
    pocket-mocap reconstruct INPUT... -o OUT.{blend,fbx,npz} [--body open|smpl|smplx] [--body-file PATH] ...
                                      a person in each photo/video -> a rig (Blender as a module for .blend/.fbx)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from .core import catalog
from .core.worker.job import Job


def weights_by_estimator(files: list[Path]) -> dict[str, str]:
    """Each weights file under the estimator its metadata names (unknown files go to EfficientHuman, whose
    check then says what is wrong with them)."""
    from .core.errors import PocketMocapError
    from .core.estimators.network import read_metadata

    found = {}
    for file in files:
        try:
            model = read_metadata(file).get("pocket_mocap.model", "") if file.is_file() else ""
        except PocketMocapError:
            model = ""
        found["binaryhpe" if model == "binaryhpe" else "efficienthuman"] = str(file)
    return found


def command_info(args: argparse.Namespace) -> int:
    weights = weights_by_estimator(args.weights or [])
    report = {
        "estimators": [asdict(choice) for choice in catalog.estimators(weights.get("efficienthuman", ""),
                                                                        weights.get("binaryhpe", ""))],
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


def command_check(args: argparse.Namespace) -> int:
    job_dir = Path(tempfile.mkdtemp(prefix="pocket_mocap_check_"))
    job = Job({"kind": "probe", "inputs": [str(p) for p in args.inputs], "threads": args.threads}, job_dir)
    code = run_job_quietly(job, args.quiet)
    if code == 0:
        print(json.dumps(job.outcome.summary, indent=2))
        shutil.rmtree(job_dir, ignore_errors=True)
    return code


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "pocket-mocap"


def output_paths(results: list[dict], out: Path) -> list[Path]:
    """One output per result: ``out`` itself for one input, ``<out stem>_<input stem><suffix>`` for several."""
    if len(results) == 1:
        return [out]
    return [out.with_name(f"{out.stem}_{Path(item['input']).stem}{out.suffix}") for item in results]


def command_reconstruct(args: argparse.Namespace) -> int:
    suffix = args.output.suffix.lower()
    if suffix not in (".npz", ".blend", ".fbx"):
        print("error: the output must end in .npz, .blend or .fbx", file=sys.stderr)
        return 2
    if args.body in ("smpl", "smplx") and not args.body_file:
        print(f"error: --body {args.body} needs --body-file (your licensed {args.body.upper()} model file)",
              file=sys.stderr)
        return 2
    args.output.parent.mkdir(parents=True, exist_ok=True)
    request = {"kind": "reconstruct", "inputs": [str(p) for p in args.inputs], "estimator": args.estimator,
               "body_model": args.body, "body_file": str(args.body_file or ""), "gender": args.gender,
               "fov_degrees": args.fov, "smoothing": args.smooth, "hands_and_face": not args.no_hands,
               "person": args.person, "threads": args.threads, "cache_dir": str(args.cache),
               "weights": str(args.weights or "")}
    job = Job(request, args.cache / "jobs" / time.strftime("%Y%m%d-%H%M%S-reconstruct"))
    if run_job_quietly(job, args.quiet) != 0:
        return 1
    results = job.outcome.summary["results"]
    targets = output_paths(results, args.output)
    if suffix == ".npz":
        for item, target in zip(results, targets, strict=True):
            shutil.copyfile(item["result"], target)
    else:
        from .scene_files import write_scene_files  # imports bpy: only for .blend / .fbx

        write_scene_files(results, targets, request)
    for target in targets:
        print(target)
    return 0


def run_job_quietly(job: Job, quiet: bool) -> int:
    """Run with the progress bar on stderr; 0 when done."""
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
    return 0


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(prog="pocket-mocap", description="Pocket Mocap from the command line.")
    commands = main_parser.add_subparsers(dest="command", required=True)
    info = commands.add_parser("info", help="list estimators and body models and whether they can run")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.add_argument("--smpl", help="an SMPL model file to check")
    info.add_argument("--smplx", help="an SMPL-X model file to check")
    info.add_argument("--weights", type=Path, action="append",
                      help="a network weights file (.onnx) to check; repeat for EfficientHuman and BinaryHPE")
    info.set_defaults(run=command_info)
    check = commands.add_parser("check", help="decode every frame of photos, videos or folders and report")
    check.add_argument("inputs", nargs="+", type=Path)
    check.add_argument("--threads", type=int, default=2)
    check.add_argument("--quiet", action="store_true", help="no progress bar")
    check.set_defaults(run=command_check)
    rec = commands.add_parser("reconstruct", help="photos/videos of a person -> a rig (.blend/.fbx) or motion (.npz)")
    rec.add_argument("inputs", nargs="+", type=Path, help="photos, videos or folders")
    rec.add_argument("-o", "--output", type=Path, required=True, help="OUT.blend, OUT.fbx or OUT.npz")
    rec.add_argument("--estimator", default="keypoints", choices=[c.name for c in catalog.estimators()])
    rec.add_argument("--body", default="open", choices=("open", "smpl", "smplx"))
    rec.add_argument("--body-file", type=Path, help="your SMPL / SMPL-X model file (with --body smpl|smplx)")
    rec.add_argument("--weights", type=Path,
                     help="trained network weights (.onnx) for --estimator efficienthuman or binaryhpe")
    rec.add_argument("--gender", default="neutral", choices=("neutral", "female", "male"))
    rec.add_argument("--person", type=int, default=0, help="which person (0: the most prominent)")
    rec.add_argument("--smooth", type=float, default=0.5, help="video smoothing, 0 (off) to 1")
    rec.add_argument("--fov", type=float, default=55.0, help="assumed field of view in degrees")
    rec.add_argument("--no-hands", action="store_true", help="body only (faster; SMPL layout with the open body)")
    rec.add_argument("--threads", type=int, default=2)
    rec.add_argument("--cache", type=Path, default=default_cache(), help="where results are kept and resumed")
    rec.add_argument("--quiet", action="store_true")
    rec.set_defaults(run=command_reconstruct)
    return main_parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
