"""The pocket-mocap command (run as the installed console script)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_test_video


def pocket_mocap(*args: str) -> subprocess.CompletedProcess:
    script = shutil.which("pocket-mocap", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-m", "pocket_mocap.cli"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120)


def test_info_json_lists_every_estimator_and_body_model():
    done = pocket_mocap("info", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [e["name"] for e in report["estimators"]] == ["keypoints", "efficienthuman", "binaryhpe"]
    assert [b["name"] for b in report["body_models"]] == ["open", "smpl", "smplx"]
    assert all(item["available"] or item["reason"] for item in report["estimators"] + report["body_models"])
    keypoints = report["estimators"][0]
    assert keypoints["available"] and "MediaPipe 0.10.14" in keypoints["weights"] and "ONNX" in keypoints["weights"]
    assert report["estimators"][1]["weights"] == "" and "paper" in report["estimators"][1]["parameters"]


def test_check_reports_frames_and_shows_progress(media_dir):
    video = write_test_video(media_dir / "clip é.avi", frames=30)
    done = pocket_mocap("check", str(video))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["frames"] == 30
    assert "Frame 30/30" in done.stderr


@pytest.mark.parametrize("name", ["missing.mp4", "notes.txt"])
def test_check_bad_input_exits_1_with_a_sentence(media_dir, name):
    if name == "notes.txt":
        (media_dir / name).write_text("x")
    done = pocket_mocap("check", "--quiet", str(media_dir / name))
    assert done.returncode == 1
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr


PHOTO = Path(__file__).resolve().parents[2] / "shared/media/images/single/s03_yoga_treepose__tfexamples_image3.jpeg"
needs_media = pytest.mark.skipif(not PHOTO.is_file(), reason="../shared/media is absent: no real people")


@needs_media
def test_reconstruct_writes_npz_and_fbx(tmp_path):
    cache = tmp_path / "cache"
    done = pocket_mocap("reconstruct", str(PHOTO), "-o", str(tmp_path / "pose.npz"), "--cache", str(cache))
    assert done.returncode == 0, done.stderr
    import numpy as np

    with np.load(tmp_path / "pose.npz") as result:
        assert result["poses"].shape == (1, 165) and result["joints_2d"].shape == (1, 24, 2)
    done = pocket_mocap("reconstruct", str(PHOTO), "-o", str(tmp_path / "pose é.fbx"), "--cache", str(cache),
                        "--quiet")
    assert done.returncode == 0, done.stderr
    data = (tmp_path / "pose é.fbx").read_bytes()
    assert b"Shape000" in data and b"jawOpen" in data and b"left_knee" in data, "rig, mesh and shape keys"


@pytest.mark.parametrize("args, message", [
    (["-o", "out.obj"], "must end in .npz, .blend, .fbx, .glb or .bvh"),
    (["-o", "out.npz", "--body", "smplx"], "needs --body-file"),
])
def test_reconstruct_refuses_bad_arguments(tmp_path, args, message):
    done = pocket_mocap("reconstruct", str(tmp_path), *args)
    assert done.returncode == 2 and message in done.stderr
