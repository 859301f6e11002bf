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


def test_zip_installs_registers_and_runs_offline(built_zip, tmp_path):
    pytest.importorskip("bpy")
    script = Path(__file__).with_name("zip_install_check.py")
    done = subprocess.run([sys.executable, str(script), str(built_zip), str(tmp_path / "clip.avi")],
                          capture_output=True, text=True, timeout=300, env=dict(os.environ, PYTHONPATH=""))
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["install"] == ["FINISHED"] and report["enabled"]
    assert report["classes"] == report["expected_classes"] and len(report["classes"]) >= 10
    assert report["probe_level"] == "INFO", report["probe_message"]
    assert "12 frames at 24.00 fps, 64×48" in report["probe_message"]
    assert report["disabled"]
    if not _environment_has("cv2"):
        # Nothing but the zip could have provided OpenCV: the bundled wheels work offline.
        assert "extensions" in report["cv2_from"], report["cv2_from"]


def _environment_has(module: str) -> bool:
    purelib = Path(sysconfig.get_paths()["purelib"])
    return (purelib / module).is_dir()
