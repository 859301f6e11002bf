"""Read blender_manifest.toml and answer which wheels belong to which Blender platform."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = "blender_manifest.toml"


class BuildError(Exception):
    """A problem with the manifest, the wheels or the build, said so that the reader can fix it."""


@dataclass(frozen=True)
class Wheel:
    path: str  # as written in the manifest, e.g. "./wheels/scipy-...whl"
    name: str
    version: str
    python_tag: str
    abi_tag: str
    platform_tags: tuple[str, ...]

    @property
    def filename(self) -> str:
        return Path(self.path).name

    def blender_platforms(self) -> set[str]:
        return set().union(*(blender_platforms(tag) for tag in self.platform_tags))

    @property
    def python_version(self) -> str | None:
        """The Python the wheel was built for, from its first python tag ("cp313" -> "3.13"); None for
        tags without a minor version ("py3")."""
        match = re.fullmatch(r"(?:cp|py)(\d)(\d+)", self.python_tag.split(".")[0])
        return f"{match[1]}.{match[2]}" if match else None

    def fits_python(self, version: str) -> bool:
        """Whether Blender with Python ``version`` ("3.13") installs this wheel: the same CPython, or an older
        one with the stable ABI (abi3), or a tag without a minor version. Blender 4.2.13+ filters this way."""
        if self.python_version is None:
            return True
        built, running = (tuple(map(int, v.split("."))) for v in (self.python_version, version))
        return built == running or (self.abi_tag == "abi3" and built[0] == running[0] and built <= running)


MACHINES = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64", "universal2": "universal2"}
ALL_PLATFORMS = {"linux-x64", "linux-arm64", "macos-x64", "macos-arm64", "windows-x64", "windows-arm64"}


def blender_platforms(tag: str) -> set[str]:
    """Map one wheel platform tag to Blender's platform names ("any" fits every platform)."""
    if tag == "any":
        return set(ALL_PLATFORMS)
    machine = next((name for suffix, name in MACHINES.items() if tag.endswith("_" + suffix)), "unknown")
    system = next((name for prefix, name in (("manylinux", "linux"), ("musllinux", "linux"), ("linux", "linux"),
                                             ("macosx", "macos"), ("win", "windows")) if tag.startswith(prefix)), "")
    if system == "macos" and machine == "universal2":
        return {"macos-x64", "macos-arm64"}
    return {f"{system}-{machine}"} if system else set()


def parse_wheel(path: str) -> Wheel:
    parts = Path(path).name.removesuffix(".whl").split("-")
    if len(parts) not in (5, 6):
        raise BuildError(f'"{path}" in {MANIFEST} is not a wheel file name (name-version-python-abi-platform.whl).')
    name, version, python_tag, abi_tag, platform = parts[0], parts[1], parts[-3], parts[-2], parts[-1]
    return Wheel(path, name, version, python_tag, abi_tag, tuple(platform.split(".")))


def load_manifest(source_dir: Path = ROOT) -> dict:
    path = source_dir / MANIFEST
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BuildError(f"{path} is missing: the extension has no manifest.") from None
    except tomllib.TOMLDecodeError as exc:
        raise BuildError(f"{path} is not valid TOML: {exc}. Fix that line.") from None


def wheels_for(manifest: dict, platforms: list[str], python: str | None = None) -> list[Wheel]:
    """The manifest's wheels that any of ``platforms`` needs (and Python ``python``, when given), in manifest
    order."""
    wanted = set(platforms)
    return [wheel for wheel in map(parse_wheel, manifest.get("wheels", []))
            if wheel.blender_platforms() & wanted and (python is None or wheel.fits_python(python))]


def rewrite_list(text: str, key: str, values: list[str]) -> str:
    """Replace the TOML array ``key = [...]`` in ``text`` (the manifest has no tables before it)."""
    items = "".join(f'  "{value}",\n' for value in values)
    pattern = re.compile(rf"^{key}\s*=\s*\[.*?\]", re.MULTILINE | re.DOTALL)
    if not pattern.search(text):
        raise BuildError(f"{MANIFEST} has no `{key} = [...]` list.")
    return pattern.sub(lambda _m: f"{key} = [\n{items}]", text, count=1)
