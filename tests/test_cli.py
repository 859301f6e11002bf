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
