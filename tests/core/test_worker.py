"""The worker and its Job: done, cancel within 1 s, crashes reported, bad inputs explained."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from conftest import write_test_photo, write_test_video

from pocket_mocap.core.worker import protocol
from pocket_mocap.core.worker.job import Job, Progress


def run(request: dict, job_dir, timeout: float = 60.0):
    job = Job(request, job_dir)
    return job, job.run_to_end(timeout)


def test_probe_video_reports_every_frame(tmp_path, media_dir):
    video = write_test_video(media_dir / "clip ä.avi", frames=37, fps=25.0)
    job, outcome = run({"kind": "probe", "inputs": [str(video)]}, tmp_path / "job")
    assert outcome.state == "done", outcome.message
    assert outcome.summary["frames"] == 37
    (info,) = outcome.summary["files"]
    assert (info["frames"], info["width"], info["height"]) == (37, 64, 48)
    assert info["fps"] == pytest.approx(25.0)
    assert json.loads((tmp_path / "job" / "probe.json").read_text())["frames"] == 37
    assert (job.progress.frame, job.progress.total) == (37, 37)


def test_probe_folder_expands_in_name_order(tmp_path, media_dir):
    write_test_photo(media_dir / "b.png")
    write_test_video(media_dir / "a.avi", frames=5)
    (media_dir / "notes.txt").write_text("not media")
    _, outcome = run({"kind": "probe", "inputs": [str(media_dir)]}, tmp_path / "job")
    assert outcome.state == "done", outcome.message
    assert [f["kind"] for f in outcome.summary["files"]] == ["video", "photo"]
    assert outcome.summary["frames"] == 6


def test_cancel_ends_worker_within_one_second(tmp_path, media_dir):
    video = write_test_video(media_dir / "long.avi", frames=200)
    job = Job({"kind": "probe", "inputs": [str(video)], "simulate_work_s": 0.05}, tmp_path / "job")
    job.start()
    deadline = time.monotonic() + 30
    while job.progress.frame < 3 and time.monotonic() < deadline:
        job.poll()
        time.sleep(0.02)
    assert job.progress.frame >= 3, "the worker never reported progress"
    started = time.monotonic()
    job.cancel()
    assert time.monotonic() - started <= 1.0
    assert job._process.poll() is not None, "worker still alive after cancel"
    assert job.outcome.state == "cancelled"
    assert job.poll() is None


def test_cancel_kills_a_worker_that_ignores_the_request(tmp_path, media_dir):
    video = write_test_video(media_dir / "v.avi", frames=10)
    # One frame takes 30 s: the worker cannot look at the cancel request in time, so it is terminated.
    job = Job({"kind": "probe", "inputs": [str(video)], "simulate_work_s": 30}, tmp_path / "job")
    job.start()
    time.sleep(1.5)  # let it start its first long frame
    started = time.monotonic()
    job.cancel()
    assert time.monotonic() - started <= 1.0
    assert job._process.poll() is not None


def test_exception_in_worker_becomes_error_report(tmp_path, media_dir):
    video = write_test_video(media_dir / "v.avi", frames=10)
    job, outcome = run({"kind": "probe", "inputs": [str(video)], "fail_after_frames": 4}, tmp_path / "job")
    assert outcome.state == "failed" and job.exit_code == 2
    assert 'internal error stopped the job while it worked on "v.avi"' in outcome.message
    assert "RuntimeError" not in outcome.message and "self-test" not in outcome.message, "the traceback is for the log"
    log = (tmp_path / "job" / "worker.log").read_text()
    assert "Traceback" in log and "self-test failure" in log


def test_killed_worker_becomes_error_report(tmp_path, media_dir):
    video = write_test_video(media_dir / "v.avi", frames=100)
    job = Job({"kind": "probe", "inputs": [str(video)], "simulate_work_s": 0.05}, tmp_path / "job")
    job.start()
    time.sleep(0.5)
    job._process.kill()
    outcome = job.run_to_end(10)
    assert outcome.state == "failed"
    assert "stopped unexpectedly" in outcome.message and "worker.log" in outcome.message


def _file(name: str, data: bytes | None):
    def make(folder):
        path = folder / name
        if data is not None:
            path.write_bytes(data)
        return path
    return make


@pytest.mark.parametrize("make, expected", [
    (_file("missing.mp4", None), "does not exist"),
    (_file("empty.mp4", b""), "empty (0 bytes)"),
    (_file("fake.mp4", b"this is not a video" * 50), "could not be opened"),
    (_file("fake.jpg", b"\xff\xd8 not really" * 10), "could not be decoded"),
    (_file("notes.txt", b"hello"), "not a photo or a video"),
    (lambda folder: folder, "holds no photos or videos"),
], ids=["missing", "empty-video", "not-a-video", "corrupt-photo", "not-media", "empty-folder"])
def test_bad_input_gets_a_clear_message(tmp_path, media_dir, make, expected):
    _, outcome = run({"kind": "probe", "inputs": [str(make(media_dir))]}, tmp_path / "job")
    assert outcome.state == "failed"
    assert expected in outcome.message
    assert "Traceback" not in outcome.message


def test_truncated_video_warns_and_keeps_frames(tmp_path, media_dir):
    video = write_test_video(media_dir / "v.avi", frames=60)
    data = video.read_bytes()
    video.write_bytes(data[: len(data) // 2])
    _, outcome = run({"kind": "probe", "inputs": [str(video)]}, tmp_path / "job")
    if outcome.state == "failed":  # some OpenCV builds refuse a cut index outright: that must be explained
        assert "could not be opened" in outcome.message or "no frame" in outcome.message
    else:
        assert 0 < outcome.summary["frames"] < 60
        assert any("truncated" in w for w in outcome.warnings)


def test_unknown_job_kind_is_explained(tmp_path):
    _, outcome = run({"kind": "teleport"}, tmp_path / "job")
    assert outcome.state == "failed" and 'cannot run "teleport" jobs' in outcome.message


def test_library_noise_on_stdout_does_not_reach_the_event_stream():
    # Libraries (MediaPipe, TensorFlow Lite) print to fd 1; the worker must divert that to its log.
    code = ("import os, sys\n"
            "from pocket_mocap.core.worker.main import claim_stdout\n"
            "channel = claim_stdout()\n"
            "print('noise from python'); sys.stdout.flush()\n"
            "os.write(1, b'noise from C\\n')\n"
            "channel.write('EVENT\\n'); channel.flush()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "EVENT\n"
    assert "noise from python" in done.stderr and "noise from C" in done.stderr


def test_protocol_round_trip_and_garbage():
    message = protocol.progress(3, 10, 12.345, 0.56, "clip é.mp4")
    line = protocol.encode(message)
    assert line.endswith("\n") and line.isascii()
    assert protocol.decode(line) == message
    for garbage in ("", "not json", "[1, 2]", '{"no_type": 1}', "INFO: Created TensorFlow Lite delegate"):
        assert protocol.decode(garbage) is None


def test_progress_text():
    assert Progress(12, 412, 31.5, 12.7).describe() == "Frame 12/412 · 31.5 fps · 13 s left"
    assert Progress().fraction == 0.0 and Progress(5, 4).fraction == 1.0
