"""Build the extension zips with Blender's own extension builder, one per platform.

    python tools/build_zip.py                          # dist/pocket_mocap-<version>-<platform>.zip, all four
    python tools/build_zip.py --platform linux-x64 --fetch

The source is staged in a temporary folder with a manifest that lists only the chosen platforms and
their wheels, then ``blender_ext.py build --split-platforms`` (from the installed ``bpy`` wheel)
validates and packs it. Every problem is reported as one sentence and a non-zero exit.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from fetch_wheels import fetch  # noqa: E402
from manifest import MANIFEST, ROOT, BuildError, load_manifest, rewrite_list, wheels_for  # noqa: E402

# Never staged: version control, environments, build outputs, caches.
STAGE_IGNORE = shutil.ignore_patterns(".git", ".venv*", "dist", "build", "wheels", "__pycache__", "*.pyc",
                                      ".pytest_cache", ".ruff_cache", "*.egg-info", ".gl", ".whl", "out")


def blender_ext_script() -> Path:
    """``blender_ext.py`` inside the installed bpy wheel."""
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        raise BuildError("The bpy module is not installed, and its extension builder is needed. "
                         "Run `python3 tools/dev.py setup` first.")
    found = sorted(Path(spec.submodule_search_locations[0]).glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    if not found:
        raise BuildError("This bpy installation has no bl_pkg/cli/blender_ext.py; reinstall bpy.")
    return found[-1]


def check_wheels_present(source_dir: Path, manifest: dict, platforms: list[str]) -> list[Path]:
    paths = [source_dir / wheel.path for wheel in wheels_for(manifest, platforms)]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise BuildError(f"{len(missing)} wheel(s) listed in {MANIFEST} are missing: {', '.join(missing)}. "
                         "Run `python tools/fetch_wheels.py` (or build with --fetch).")
    return paths


def stage(source_dir: Path, manifest: dict, platforms: list[str], stage_dir: Path) -> Path:
    """Copy the extension into ``stage_dir/pocket_mocap`` with a manifest for ``platforms`` only."""
    target = stage_dir / manifest.get("id", "extension")
    shutil.copytree(source_dir, target, ignore=STAGE_IGNORE)
    wheels = wheels_for(manifest, platforms)
    (target / "wheels").mkdir()
    for wheel in wheels:
        _link_or_copy(source_dir / wheel.path, target / wheel.path)
    text = (source_dir / MANIFEST).read_text(encoding="utf-8")
    text = rewrite_list(text, "wheels", [wheel.path for wheel in wheels])
    text = rewrite_list(text, "platforms", platforms)
    (target / MANIFEST).write_text(text, encoding="utf-8")
    return target


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def run_builder(staged: Path, output_dir: Path) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    run = subprocess.run([sys.executable, str(blender_ext_script()), "build", "--source-dir", str(staged),
                          "--output-dir", str(output_dir), "--split-platforms"], capture_output=True, text=True)
    if run.returncode != 0:
        detail = (run.stdout + run.stderr).strip().replace(str(staged), "<source>")
        raise BuildError(f"Blender's extension builder rejected the package:\n{detail}")


def build(platforms: list[str] | None = None, source_dir: Path = ROOT, output_dir: Path | None = None,
          fetch_missing: bool = False) -> list[Path]:
    """Build one zip per platform; returns their paths."""
    manifest = load_manifest(source_dir)
    platforms = platforms or list(manifest.get("platforms", []))
    unknown = sorted(set(platforms) - set(manifest.get("platforms", [])))
    if unknown:
        raise BuildError(f"{', '.join(unknown)} is not among the platforms {MANIFEST} declares.")
    if fetch_missing:
        fetch(platforms, source_dir)
    check_wheels_present(source_dir, manifest, platforms)
    output_dir = output_dir or source_dir / "dist"
    with tempfile.TemporaryDirectory(prefix="pocket_mocap_stage_") as stage_dir:
        staged = stage(source_dir, manifest, platforms, Path(stage_dir))
        run_builder(staged, output_dir)
    version = manifest["version"]
    zips = [output_dir / f"{manifest['id']}-{version}-{p.replace('-', '_')}.zip" for p in platforms]
    missing = [z.name for z in zips if not z.is_file()]
    if missing:
        raise BuildError(f"The builder finished but did not write {', '.join(missing)}.")
    return zips


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", action="append", help="a Blender platform, e.g. linux-x64 (repeatable)")
    parser.add_argument("--source-dir", type=Path, default=ROOT, help="the extension's sources (default: here)")
    parser.add_argument("--output-dir", type=Path)
    parser.add_argument("--fetch", action="store_true", help="download missing wheels first")
    args = parser.parse_args(argv)
    try:
        zips = build(args.platform, source_dir=args.source_dir, output_dir=args.output_dir, fetch_missing=args.fetch)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in zips:
        print(f"{path}  {path.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
