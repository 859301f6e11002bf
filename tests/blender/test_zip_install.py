"""The built zip installs offline into a fresh headless Blender, registers, and runs a job."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import ROOT, this_platform

pytestmark = pytest.mark.blender


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory) -> Path:
    from build_zip import build
    from manifest import load_manifest, wheels_for

    missing = [w.filename for w in wheels_for(load_manifest(), [this_platform()]) if not (ROOT / w.path).is_file()]
    if missing:
        pytest.skip(f"wheels not fetched ({', '.join(missing)}): run `python tools/fetch_wheels.py "
                    f"--platform {this_platform()}`")
    (path,) = build([this_platform()], output_dir=tmp_path_factory.mktemp("dist"))
    return path


@pytest.fixture(scope="module")
def zip_report(built_zip, tmp_path_factory) -> dict:
    """The report of zip_install_check.py: the zip installed into a fresh headless Blender of its own."""
    pytest.importorskip("bpy")
    script = Path(__file__).with_name("zip_install_check.py")
    video = tmp_path_factory.mktemp("zip_check") / "clip.avi"
    done = subprocess.run([sys.executable, str(script), str(built_zip), str(video)],
                          capture_output=True, text=True, timeout=300, env=dict(os.environ, PYTHONPATH=""))
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_zip_installs_registers_and_runs_offline(zip_report):
    report = zip_report
    assert report["install"] == ["FINISHED"] and report["enabled"]
    assert report["classes"] == report["expected_classes"] and len(report["classes"]) >= 10
    assert report["probe_level"] == "INFO", report["probe_message"]
    assert "12 frames at 24.00 fps, 64×48" in report["probe_message"]
    assert report["disabled"]
    if not _environment_has("cv2"):
        # Nothing but the zip could have provided OpenCV: the bundled wheels work offline.
        assert "extensions" in report["cv2_from"], report["cv2_from"]


def test_blender_installs_the_wheels_for_its_own_python(zip_report):
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert zip_report["python"] == python
    installed = zip_report["installed_wheels"]
    assert sorted(installed) == ["onnxruntime", "opencv_python_headless", "scipy"], installed
    own_abi = f"cp{sys.version_info[0]}{sys.version_info[1]}-cp{sys.version_info[0]}{sys.version_info[1]}-"
    for name in ("onnxruntime", "scipy"):
        assert all(tag.startswith(own_abi) for tag in installed[name]), (name, installed[name])
    assert all("-abi3-" in tag for tag in installed["opencv_python_headless"])


def test_the_worker_imports_the_bundled_packages_with_blenders_numpy(zip_report):
    import numpy

    worker = zip_report["worker"]
    assert "error" not in worker, worker.get("error")
    assert worker["python"] == zip_report["python"]
    assert worker["numpy"] == numpy.__version__  # Blender's own NumPy (2.x from Blender 5.1)
    assert worker["scipy_turn_ok"]
    for module in ("cv2", "onnxruntime", "scipy"):
        if not _environment_has(module):
            extension_packages = Path(zip_report["site_packages"]).resolve()
            assert Path(worker["modules"][module]).resolve().is_relative_to(extension_packages), worker["modules"]
    if worker["onnx_outputs"] is not None:
        assert worker["onnx_outputs"] and all(worker["onnx_outputs"]), worker


def _environment_has(module: str) -> bool:
    purelib = Path(sysconfig.get_paths()["purelib"])
    return (purelib / module).is_dir()
