"""``pocket-mocap``: the command-line face of the extension.

    pocket-mocap info [--json]        what can run here: estimators and body models, with reasons
    pocket-mocap check INPUT...       decode photos/videos/folders in the background worker and report
    pocket-mocap reconstruct INPUT... -o OUT.{blend,fbx,glb,bvh,npz} [--body open|smpl|smplx] [--retarget ...] ...
                                      a person in each photo/video -> a rig (Blender as a module for .blend/.fbx)

Everything the command line is given is checked before any work starts, each problem as one line
``error: <sentence>``. Exit codes: 0 done (``warning:`` lines may say what was skipped or ignored); 1 an input,
model or weights file cannot be used, or the job failed; 2 the command line itself is wrong (an option, a value,
an output that cannot be written). Relative paths are taken from the folder the command runs in.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .core import catalog
from .core.errors import PocketMocapError, one_line
from .core.worker.job import Job

SUFFIXES = (".npz", ".blend", ".fbx", ".glb", ".bvh")
# Free space an output needs at least, by suffix (a photo's .npz is ~10 kB; an SMPL-X .blend with its
# shape keys ~30 MB), checked before the job so a full disk is found before the work, not after.
SPACE_NEEDED = {".npz": 1 << 20, ".blend": 64 << 20, ".fbx": 64 << 20, ".glb": 64 << 20, ".bvh": 16 << 20}
RETARGET_PRESETS = ("mixamo", "rigify", "unreal", "vrm")  # scene/targets.py SKELETON_PRESETS (that imports bpy)


class UsageError(PocketMocapError):
    """The command line is wrong: exit code 2."""


class Parser(argparse.ArgumentParser):
    """argparse with its errors as one ``error:`` line (no usage block), exit code 2."""

    def error(self, message: str):
        self.exit(2, f"error: {message[0].upper()}{message[1:]}. Run `{self.prog} --help` for the options.\n")


def weights_by_estimator(files: list[Path]) -> dict[str, str]:
    """Each weights file under the estimator its metadata names (unknown files go to EfficientHuman, whose
    check then says what is wrong with them)."""
    from .core.estimators.network import read_metadata

    found = {}
    for file in files:
        try:
            model = read_metadata(file).get("pocket_mocap.model", "")
        except PocketMocapError:
            model = ""
        found["binaryhpe" if model == "binaryhpe" else "efficienthuman"] = str(file.absolute())
    return found


def command_info(args: argparse.Namespace) -> int:
    weights = weights_by_estimator(args.weights or [])
    smpl, smplx = (str(Path(p).absolute()) if p else "" for p in (args.smpl, args.smplx))
    report = {
        "estimators": [asdict(choice) for choice in catalog.estimators(weights.get("efficienthuman", ""),
                                                                        weights.get("binaryhpe", ""))],
        "body_models": [asdict(choice) for choice in catalog.body_models(smpl, smplx)],
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
    from .core.worker.request import check_common

    request = {"kind": "probe", "inputs": [str(p) for p in args.inputs], "threads": args.threads}
    try:
        check_common(request)
    except PocketMocapError as exc:
        return fail(exc, 2)
    job_dir = Path(tempfile.mkdtemp(prefix="pocket_mocap_check_"))
    job = Job(request, job_dir)
    code = run_job_quietly(job, args.quiet)
    if code == 0:
        print(json.dumps(job.outcome.summary, indent=2))
    return code


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "pocket-mocap"


def output_paths(inputs: list[Path], out: Path) -> tuple[list[Path], list[str]]:
    """One output per input: ``out`` itself for one input, ``<out stem>_<input stem><suffix>`` for several.
    Inputs whose stems collide (``pose.jpg`` and ``pose.png``; ``a/person.jpg`` and ``b/person.jpg``) get
    ``<stem>_<extension>``, then a counter, so no result overwrites another; the sentences say which is which."""
    if len(inputs) == 1:
        return [out], []
    by_stem: dict[str, list[int]] = {}
    for index, path in enumerate(inputs):
        by_stem.setdefault(path.stem.casefold(), []).append(index)
    names = [path.stem if len(by_stem[path.stem.casefold()]) == 1 else f"{path.stem}_{path.suffix.lstrip('.')}"
             for path in inputs]
    taken: set[str] = set()
    for index, name in enumerate(names):  # the same name in two folders: a counter
        unique, count = name, 1
        while unique.casefold() in taken:
            count += 1
            unique = f"{name}_{count}"
        taken.add(unique.casefold())
        names[index] = unique
    targets = [out.with_name(f"{out.stem}_{name}{out.suffix}") for name in names]
    notes = [f'"{inputs[i]}" and "{inputs[j]}" have the same name; their results are "{targets[i].name}" and '
             f'"{targets[j].name}".' for group in by_stem.values() if len(group) > 1
             for i, j in zip(group, group[1:], strict=False)]
    return targets, notes


@dataclass
class Plan:
    """A checked reconstruct command: the worker's request, one output per input, warnings to print."""

    request: dict
    inputs: list[Path]
    targets: list[Path]
    cache: Path
    warnings: list[str] = field(default_factory=list)
    retarget: str = ""  # a preset name or a .blend/.fbx file: the outputs carry the motion on that armature


def plan_reconstruct(args: argparse.Namespace) -> Plan:
    """Check the whole command line before any work; :class:`UsageError` (exit 2) or another
    :class:`PocketMocapError` (exit 1: a file that cannot be used) with its sentence."""
    from .core import media
    from .core.fileio import free_space_problem, output_problem
    from .core.worker.request import check_reconstruct

    output = args.output.absolute()
    suffix = output.suffix.lower()
    if suffix not in SUFFIXES:
        raise UsageError(f'The output "{args.output.name}" must end in .npz, .blend, .fbx, .glb or .bvh.')
    retarget = plan_retarget(args.retarget) if args.retarget and suffix != ".npz" else ""
    body_file = args.body_file.absolute() if args.body_file and args.body in ("smpl", "smplx") else None
    weights = args.weights.absolute() if args.weights and args.estimator != "keypoints" else None
    if args.body in ("smpl", "smplx") and body_file is None:
        raise UsageError(f"--body {args.body} needs --body-file (your licensed {args.body.upper()} model file).")
    request = {"kind": "reconstruct", "estimator": args.estimator, "body_model": args.body,
               "body_file": str(body_file or ""), "gender": args.gender or "neutral", "fov_degrees": args.fov,
               "smoothing": 0.5 if args.smooth is None else args.smooth, "hands_and_face": not args.no_hands,
               "foot_lock": 1.0 if args.foot_lock is None else args.foot_lock,
               "pose_prior": 1.0 if args.pose_prior is None else args.pose_prior,
               "contacts": args.contacts or "learned", "temporal_lifter": args.temporal_lifter is not False,
               "person": args.person,
               "threads": args.threads, "cache_dir": str(args.cache.absolute()), "weights": str(weights or ""),
               "inputs": [str(p.absolute()) for p in args.inputs]}
    try:
        request = check_reconstruct(request)
    except PocketMocapError as exc:
        raise UsageError(str(exc)) from None
    skipped: list[str] = []
    inputs = media.collect_inputs([Path(p) for p in request["inputs"]], skipped)
    check_model_files(request)
    targets, notes = output_paths(inputs, output)
    if args.smooth is not None and all(media.media_kind(path) == "photo" for path in inputs):
        notes.insert(0, "--smooth is ignored: it steadies videos, and every input is a photo.")
    if args.foot_lock is not None and all(media.media_kind(path) == "photo" for path in inputs):
        notes.insert(0, "--foot-lock is ignored: it holds planted feet in videos, and every input is a photo.")
    if args.contacts is not None and all(media.media_kind(path) == "photo" for path in inputs):
        notes.insert(0, "--contacts is ignored: it finds planted feet in videos, and every input is a photo.")
    for problem in [output_problem(target) for target in targets] + [
            free_space_problem(output.parent, SPACE_NEEDED[suffix] * len(targets)), cache_problem(request)]:
        if problem:
            raise UsageError(problem)
    request["inputs"] = [str(p) for p in inputs]
    return Plan(request, inputs, targets, args.cache.absolute(), skipped + notes, retarget)


def plan_retarget(value: str) -> str:
    """``--retarget``'s preset name, or its file made absolute and checked (its armature read in Blender):
    :class:`UsageError` for a value that is neither, :class:`PocketMocapError` for a file that cannot be used."""
    from .core.fileio import path_problem

    if value.lower() in RETARGET_PRESETS:
        return value.lower()
    path = Path(value).absolute()
    if path.suffix.lower() not in (".blend", ".fbx"):
        raise UsageError(f'--retarget "{value}" is neither a preset ({", ".join(RETARGET_PRESETS)}) nor a .blend or '
                         ".fbx file with your character's armature.")
    problem = path_problem(path, "target rig")
    if problem:
        raise PocketMocapError(problem)
    from .scene_files import check_retarget_file  # imports bpy: only for a file

    problem = check_retarget_file(path)
    if problem:
        raise PocketMocapError(problem)
    return str(path)


def ignored_options(args: argparse.Namespace) -> list[str]:
    """Sentences for options given that this command will not use."""
    notes = []
    if args.body_file and args.body == "open":
        notes.append(f'--body-file "{args.body_file}" is ignored: it is used with --body smpl or --body smplx, and '
                     "this run uses the open body.")
    if args.weights and args.estimator == "keypoints":
        notes.append(f'--weights "{args.weights}" is ignored: the keypoints estimator has no weights file of yours '
                     "(use --estimator efficienthuman or binaryhpe).")
    if args.retarget and args.output.suffix.lower() == ".npz":
        notes.append(f'--retarget "{args.retarget}" is ignored: an .npz holds the body\'s motion, not a rig (write '
                     ".blend, .fbx, .glb or .bvh).")
    if args.temporal_lifter is not None and args.estimator != "keypoints":
        flag = "--temporal-lifter" if args.temporal_lifter else "--no-temporal-lifter"
        notes.append(f"{flag} is ignored: it changes only the keypoint-guided estimator's fit.")
    if args.gender not in (None, "neutral") and args.body == "open":
        notes.append(f"--gender {args.gender} is ignored: the open body has one, neutral, form.")
    return notes


def check_model_files(request: dict) -> None:
    """The body-model and weights files, checked as cheaply as the preferences check them (headers, shapes,
    the network's inputs and outputs); the worker checks every value again when it loads them."""
    from .core.bodymodel.files import check_body_file

    if request["body_file"]:
        check_body_file(request["body_model"], request["body_file"])
    if request["estimator"] == "binaryhpe":
        from .core.estimators.binaryhpe import weights_status
    elif request["estimator"] == "efficienthuman":
        from .core.estimators.efficienthuman import weights_status
    else:
        return
    usable, reason = weights_status(request["weights"])
    if not usable:
        raise PocketMocapError(reason)


def cache_problem(request: dict) -> str:
    from .core.fileio import folder_problem

    return folder_problem(Path(request["cache_dir"]), "cache")


def command_reconstruct(args: argparse.Namespace) -> int:
    for warning in ignored_options(args):  # said first: they explain the run, whether or not it can start
        warn(warning)
    try:
        plan = plan_reconstruct(args)
    except UsageError as exc:
        return fail(exc, 2)
    except PocketMocapError as exc:
        return fail(exc, 1)
    for warning in plan.warnings:
        warn(warning)
    jobs = plan.cache / "jobs"
    try:
        jobs.mkdir(parents=True, exist_ok=True)
        job_dir = Path(tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-reconstruct-"), dir=jobs))
    except OSError as exc:
        from .core.fileio import os_error_sentence

        return fail(os_error_sentence(exc, f'Making a job folder in the cache "{plan.cache}"'), 2)
    job = Job(plan.request, job_dir)
    if run_job_quietly(job, args.quiet) != 0:
        return 1
    by_input = {item["input"]: item for item in job.outcome.summary["results"]}
    done = [(by_input[str(path)], target) for path, target in zip(plan.inputs, plan.targets, strict=True)
            if str(path) in by_input]
    code = write_outputs(done, {**plan.request, "retarget": plan.retarget})
    for _, target in done:
        if target.is_file():
            print(target)
    return code


def write_outputs(done: list[tuple[dict, Path]], request: dict) -> int:
    """Each result to its output (the people ``--person`` asks for), atomically; a failure is one sentence (the
    other outputs are still written)."""
    import numpy as np

    from .core.fileio import copy_atomically, os_error_sentence, replace_atomically

    code = 0
    choice = request.get("person", "all")
    chosen = []
    for item, target in done:
        try:
            result = people_for_output(item, choice)
        except ValueError as exc:
            code = fail(f'{exc} Nothing was written to "{target}".', 1)
            continue
        chosen.append((item, target, result))
    scene = [(dict(item, chosen=result), target) for item, target, result in chosen if target.suffix.lower() != ".npz"]
    for item, target, result in chosen:
        if target.suffix.lower() == ".npz":
            try:
                if result is None:
                    copy_atomically(Path(item["result"]), target)
                else:
                    replace_atomically(lambda temp, arrays=result: np.savez(temp, **arrays), target)
            except OSError as exc:
                code = fail(os_error_sentence(exc, f'Writing "{target}"'), 1)
    if scene:
        from .scene_files import write_scene_files  # imports bpy: only for .blend / .fbx

        for message in write_scene_files([item for item, _ in scene], [target for _, target in scene], request):
            code = fail(message, 1)
    return code


def people_for_output(item: dict, choice) -> dict | None:
    """The result's arrays holding only the people ``choice`` asks for (``None``: all of them, the file as it
    is); a warning for each number the input does not hold; ``ValueError`` when it holds none of them."""
    if choice == "all":
        return None
    import numpy as np

    from .core.pipeline.results import choose_people

    with np.load(item["result"], allow_pickle=False) as data:
        result = {key: data[key] for key in data.files}
    chosen, notes = choose_people(result, choice, Path(item["input"]).name)
    for note in notes:
        warn(note)
    return chosen


def fail(problem: PocketMocapError | str, code: int) -> int:
    print(f"error: {one_line(problem)}", file=sys.stderr)
    return code


def warn(warning: str) -> None:
    print(f"warning: {one_line(warning)}", file=sys.stderr)


def run_job_quietly(job: Job, quiet: bool) -> int:
    """Run with the progress bar on stderr; 0 when done. The job's folder is removed afterwards unless the
    worker failed unexpectedly (then it holds the log the message points at)."""
    try:
        job.start()
    except PocketMocapError as exc:
        shutil.rmtree(job.job_dir, ignore_errors=True)
        return fail(exc, 2)
    try:
        while (interval := job.poll()) is not None:
            if not quiet:
                print(progress_line(job), end="", file=sys.stderr, flush=True)
            job.wait(interval)  # wakes as soon as the worker says something (its end included)
    except KeyboardInterrupt:
        job.cancel()
    if not quiet:
        print(progress_line(job), file=sys.stderr)
    for warning in job.outcome.warnings:
        warn(warning)
    if job.exit_code != 2:
        shutil.rmtree(job.job_dir, ignore_errors=True)
    if job.outcome.state != "done":
        return fail(job.outcome.message, 1)
    return 0


def parser() -> argparse.ArgumentParser:
    main_parser = Parser(prog="pocket-mocap", description="Pocket Mocap from the command line.")
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
    rec.add_argument("-o", "--output", type=Path, required=True,
                     help="OUT.blend, OUT.fbx, OUT.glb (glTF), OUT.bvh (skeleton only) or OUT.npz")
    rec.add_argument("--retarget", metavar="PRESET_OR_FILE",
                     help="put the motion on another skeleton: mixamo, rigify, unreal or vrm (that convention's "
                          "bones, proportioned like the body), or a .blend/.fbx file with your character's armature")
    rec.add_argument("--estimator", default="keypoints", choices=[c.name for c in catalog.estimators()])
    rec.add_argument("--body", default="open", choices=("open", "smpl", "smplx"))
    rec.add_argument("--body-file", type=Path, help="your SMPL / SMPL-X model file (with --body smpl|smplx)")
    rec.add_argument("--weights", type=Path,
                     help="trained network weights (.onnx) for --estimator efficienthuman or binaryhpe")
    rec.add_argument("--gender", choices=("neutral", "female", "male"),
                     help="which of your SMPL/SMPL-X files (default neutral)")
    rec.add_argument("--person", default="all",
                     help="which people: all (default), 0 (the most prominent) or numbers as the rigs are named, "
                          "such as 1 or 1,3")
    rec.add_argument("--smooth", type=float, help="video smoothing, 0 (off) to 1 (default 0.5)")
    rec.add_argument("--foot-lock", type=float, help="video: how firmly a planted foot stays put, 0 (off) to 1 "
                                                     "(default 1)")
    rec.add_argument("--pose-prior", type=float, help="how strongly the fit keeps to poses seen in motion capture, "
                                                      "0 (off) to 3 (default 1)")
    rec.add_argument("--contacts", choices=("learned", "lifted", "both", "rule"),
                     help="video: foot contact from the learned model on the fitted feet (default), from the temporal "
                          "lifter reading MediaPipe's landmarks (the network estimators keep none and use the learned "
                          "model), the mean of the two, or from the feet's height and speed")
    rec.add_argument("--temporal-lifter", action=argparse.BooleanOptionalAction,
                     help="keypoint-guided estimator: fit to where the temporal lifter puts the body (default; a "
                          "video is fitted a second time, from 27 frames of landmarks around each frame; a photo is "
                          "read as a person holding still, 30 %% MediaPipe's own 3D mixed in); --no-temporal-lifter: "
                          "fit to MediaPipe's own 3D alone")
    rec.add_argument("--fov", type=float, default=55.0, help="assumed field of view in degrees, 10 to 150")
    rec.add_argument("--no-hands", action="store_true", help="body only (faster; SMPL layout with the open body)")
    rec.add_argument("--threads", type=int, default=2, help="worker threads, 1 to 64")
    rec.add_argument("--cache", type=Path, default=default_cache(), help="where results are kept and resumed")
    rec.add_argument("--quiet", action="store_true")
    rec.set_defaults(run=command_reconstruct)
    return main_parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
