"""The zip build: manifest ↔ requirements agree, bad manifests fail clearly, the zip holds the right
files, and the extension never imports what it must not."""

from __future__ import annotations

import ast
import re
import shutil
import tomllib
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, this_platform

build_zip = pytest.importorskip("build_zip")
manifest_tools = pytest.importorskip("manifest")
EXTENSION_DIRS = ("core", "operators", "panels", "scene")


def test_requirements_pin_exactly_the_bundled_wheel_versions():
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (ROOT / "requirements.txt").read_text(), re.MULTILINE))
    pins = {name.lower().replace("_", "-"): version for name, version in pins.items()}
    for wheel in map(manifest_tools.parse_wheel, manifest_tools.load_manifest()["wheels"]):
        assert pins.get(wheel.name.lower().replace("_", "-")) == wheel.version, wheel.filename


RUNTIME_PACKAGES = ["onnxruntime", "opencv_python_headless", "scipy"]
# Blender's Pythons: 3.11 in 4.2-5.0, 3.13 from 5.1.
BLENDER_PYTHONS = ("3.11", "3.13")


def test_every_platform_and_python_gets_each_runtime_package_once():
    manifest = manifest_tools.load_manifest()
    for platform in manifest["platforms"]:
        for python in BLENDER_PYTHONS:
            names = [w.name for w in manifest_tools.wheels_for(manifest, [platform], python)]
            assert sorted(names) == RUNTIME_PACKAGES, (platform, python)
        every = manifest_tools.wheels_for(manifest, [platform])
        used = {w for python in BLENDER_PYTHONS for w in manifest_tools.wheels_for(manifest, [platform], python)}
        assert set(every) == used, f"{platform}: wheels no Blender Python installs"


@pytest.mark.parametrize(("filename", "fits"), [
    ("scipy-1.15.3-cp311-cp311-win_amd64.whl", {"3.11"}),
    ("scipy-1.15.3-cp313-cp313-win_amd64.whl", {"3.13"}),
    ("opencv_python_headless-4.11.0.86-cp37-abi3-win_amd64.whl", {"3.11", "3.13"}),
    ("attrs-24.2.0-py3-none-any.whl", {"3.11", "3.13"}),
])
def test_a_wheel_fits_the_pythons_blender_would_install_it_for(filename, fits):
    wheel = manifest_tools.parse_wheel(f"./wheels/{filename}")
    assert {python for python in BLENDER_PYTHONS if wheel.fits_python(python)} == fits


def test_each_wheel_is_downloaded_for_its_own_python():
    from fetch_wheels import pip_download_args

    def python_version(filename: str) -> str | None:
        args = pip_download_args(manifest_tools.parse_wheel(f"./wheels/{filename}"), Path("dest"))
        return args[args.index("--python-version") + 1] if "--python-version" in args else None

    assert python_version("scipy-1.15.3-cp313-cp313-macosx_12_0_arm64.whl") == "3.13"
    assert python_version("scipy-1.15.3-cp311-cp311-macosx_12_0_arm64.whl") == "3.11"
    assert python_version("opencv_python_headless-4.11.0.86-cp37-abi3-win_amd64.whl") == "3.7"
    assert python_version("attrs-24.2.0-py3-none-any.whl") is None


def test_pyproject_and_manifest_agree_on_the_version():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["version"] == manifest_tools.load_manifest()["version"]


@pytest.fixture
def source_copy(tmp_path) -> Path:
    """The extension's sources without wheels, to break on purpose."""
    copy = tmp_path / "src"
    shutil.copytree(ROOT, copy, ignore=build_zip.STAGE_IGNORE)
    return copy


def _edit_manifest(source: Path, old: str, new: str) -> None:
    path = source / "blender_manifest.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_missing_wheel_fails_with_a_clear_message(source_copy):
    with pytest.raises(manifest_tools.BuildError,
                       match=r"missing: .*onnxruntime-1\.20\.1-cp311.*onnxruntime-1\.20\.1-cp313.*fetch_wheels\.py"):
        build_zip.build(["linux-x64"], source_dir=source_copy, output_dir=source_copy / "dist")


def test_bad_field_fails_with_the_builders_reason(source_copy):
    _edit_manifest(source_copy, 'version = "0.1.0"', 'version = "one"')
    (source_copy / "wheels").mkdir()
    for wheel in manifest_tools.wheels_for(manifest_tools.load_manifest(source_copy), ["linux-x64"]):
        (source_copy / wheel.path).write_bytes(b"")  # present, so only the bad field can stop the build
    with pytest.raises(manifest_tools.BuildError, match=r'(?s)rejected the package.*"version"'):
        build_zip.build(["linux-x64"], source_dir=source_copy, output_dir=source_copy / "dist")


def test_broken_toml_fails_with_a_clear_message(source_copy):
    _edit_manifest(source_copy, 'name = "Pocket Mocap"', 'name = "Pocket Mocap')
    with pytest.raises(manifest_tools.BuildError, match="not valid TOML"):
        build_zip.build(["linux-x64"], source_dir=source_copy)


def test_unknown_platform_is_refused():
    with pytest.raises(manifest_tools.BuildError, match="not among the platforms"):
        build_zip.build(["amiga-68k"])


def test_build_command_exits_non_zero_with_one_sentence(source_copy, capsys):
    assert build_zip.main(["--platform", "windows-x64", "--source-dir", str(source_copy)]) == 1
    assert capsys.readouterr().err.startswith("error: ")


def test_zip_holds_the_extension_and_only_this_platforms_wheels(tmp_path):
    manifest = manifest_tools.load_manifest()
    wheels = manifest_tools.wheels_for(manifest, [this_platform()])
    if any(not (ROOT / w.path).is_file() for w in wheels):
        pytest.skip(f"wheels not fetched: run `python tools/fetch_wheels.py --platform {this_platform()}`")
    (path,) = build_zip.build([this_platform()], output_dir=tmp_path)
    names = zipfile.ZipFile(path).namelist()
    assert {"__init__.py", "blender_manifest.toml", "LICENSE", "core/worker/launch.py", "cli.py"} <= set(names)
    assert sorted(n for n in names if n.startswith("wheels/")) == sorted(w.path[2:] for w in wheels)
    assert not [n for n in names if n.split("/")[0] in ("tests", "tools", "training", ".ci", ".git")]
    assert not [n for n in names if "__pycache__" in n]
    inner = tomllib.loads(zipfile.ZipFile(path).read("blender_manifest.toml").decode())
    assert inner["platforms"] == [this_platform()]
    # Blender reads the wheel list of its builder's generated table; both Pythons' wheels are in it.
    generated = [manifest_tools.parse_wheel(w) for w in inner["build"]["generated"]["wheels"]]
    assert set(BLENDER_PYTHONS) <= {w.python_version for w in generated}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_core_never_imports_bpy_and_the_extension_never_imports_torch_or_smplx():
    files = [ROOT / "__init__.py", ROOT / "cli.py", *[p for d in EXTENSION_DIRS for p in (ROOT / d).rglob("*.py")]]
    assert len(files) > 15
    for path in files:
        imported = _imports(path)
        assert not imported & {"torch", "smplx", "chumpy"}, path
        if path.is_relative_to(ROOT / "core"):
            assert not imported & {"bpy", "bpy_extras", "mathutils", "addon_utils"}, path
