"""Download the run-time wheels that blender_manifest.toml lists, for the chosen platforms.

The manifest's file names are the single source of truth: each name gives the package, version and
tags, and pip is asked for exactly that file (``--only-binary``, ``--no-deps``, the wheel's own
Python version, platform and ABI tags). Already present wheels are kept.

    python tools/fetch_wheels.py                      # all four platforms
    python tools/fetch_wheels.py --platform linux-x64
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from manifest import ROOT, BuildError, Wheel, load_manifest, wheels_for  # noqa: E402


def pip_download_args(wheel: Wheel, dest: Path) -> list[str]:
    args = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
            "--dest", str(dest), f"{wheel.name}=={wheel.version}"]
    if wheel.platform_tags != ("any",):
        # The wheel's own Python (cp311, cp313; cp37 for abi3), not this interpreter's.
        if wheel.python_version:
            args += ["--python-version", wheel.python_version]
        args += ["--implementation", "cp", "--abi", wheel.abi_tag]
        for tag in wheel.platform_tags:
            args += ["--platform", tag]
    return args


def fetch_wheel(wheel: Wheel, wheel_dir: Path) -> Path:
    target = wheel_dir / wheel.filename
    if target.is_file():
        return target
    with tempfile.TemporaryDirectory() as scratch:
        run = subprocess.run(pip_download_args(wheel, Path(scratch)), capture_output=True, text=True)
        got = Path(scratch) / wheel.filename
        if run.returncode != 0 or not got.is_file():
            found = ", ".join(p.name for p in Path(scratch).iterdir()) or "nothing"
            raise BuildError(f"pip could not download {wheel.filename} (it got {found}).\n{run.stderr.strip()}")
        wheel_dir.mkdir(parents=True, exist_ok=True)
        shutil.move(got, target)
    return target


def fetch(platforms: list[str], source_dir: Path = ROOT) -> list[Path]:
    manifest = load_manifest(source_dir)
    return [fetch_wheel(wheel, source_dir / Path(wheel.path).parent) for wheel in wheels_for(manifest, platforms)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", action="append", help="a Blender platform, e.g. linux-x64 (repeatable)")
    args = parser.parse_args(argv)
    platforms = args.platform or load_manifest()["platforms"]
    try:
        paths = fetch(platforms)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    total = sum(p.stat().st_size for p in paths)
    print(f"{len(paths)} wheels for {', '.join(platforms)} ({total / 1e6:.0f} MB) in {ROOT / 'wheels'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
