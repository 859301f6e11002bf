"""The reconstruct job in the worker, on real photos and videos (skipped without ../shared/media)."""

from __future__ import annotations

import importlib.util
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_MEDIA

from pocket_mocap.core.worker.job import Job

if importlib.util.find_spec("onnxruntime") is None:
    pytest.skip("onnxruntime is not installed here", allow_module_level=True)
PHOTO = SHARED_MEDIA / "images" / "single" / "s03_yoga_treepose__tfexamples_image3.jpeg"
SHORT_VIDEO = SHARED_MEDIA / "videos" / "v02_basketball_dribble__mmhuman3d_single_person_demo.mp4"
needs_media = pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="../shared/media is absent: no real people")


def reconstruct(inputs, tmp_path: Path, name: str = "job", timeout: float = 300, **settings):
    job = Job({"kind": "reconstruct", "inputs": [str(p) for p in inputs], "cache_dir": str(tmp_path / "cache"),
               **settings}, tmp_path / name)
    return job, job.run_to_end(timeout)


def load(outcome, index: int = 0) -> dict:
    with np.load(outcome.summary["results"][index]["result"]) as data:
        return {key: data[key] for key in data.files}


@needs_media
def test_photo_gives_a_result_in_the_documented_layout(tmp_path, media_dir):
    photo = shutil.copy(PHOTO, media_dir / "yoga ü é.jpeg")  # spaces and non-ASCII letters in the path
    _, outcome = reconstruct([photo], tmp_path)
    assert outcome.state == "done", outcome.message
    result = load(outcome)
    assert result["poses"].shape == (1, 165) and result["trans"].shape == (1, 3)
    assert result["joints"].shape == (1, 24, 3) and result["joints_2d"].shape == (1, 24, 2)
    assert str(result["surface_model_type"]) == "smplx" and result["camera_intrinsics"].shape == (3, 3)
    assert result["confidence"][0] > 0.5
    assert 1.0 < result["trans"][0, 2] < 8.0, "a person a few metres in front of the camera"
    box = result["person_box"][0]
    inside = (result["joints_2d"][0] >= box[:2] - 40) & (result["joints_2d"][0] <= box[2:] + 40)
    assert inside.all(), "the fitted joints project onto the person"
    landmarks = result["landmarks"][0]  # what the fit read: pixels, visibility, MediaPipe's world landmarks
    assert result["landmarks"].shape == (1, 33, 6) and 0 <= landmarks[:, 2].min() <= landmarks[:, 2].max() <= 1
    seen = landmarks[:, 2] > 0.5
    assert ((landmarks[seen, :2] >= box[:2] - 40) & (landmarks[seen, :2] <= box[2:] + 40)).all()
    assert 1.2 < np.ptp(landmarks[:, 3:], axis=0).max() < 2.2, "world landmarks in metres, a whole body"


@needs_media
def test_huge_photo_is_handled(tmp_path):
    import cv2

    image = cv2.imread(str(PHOTO))
    huge = cv2.resize(image, (5200, 7800), interpolation=cv2.INTER_LINEAR)  # 40.6 megapixels
    path = tmp_path / "huge.jpg"
    cv2.imwrite(str(path), huge, [cv2.IMWRITE_JPEG_QUALITY, 80])
    _, outcome = reconstruct([path], tmp_path)
    assert outcome.state == "done", outcome.message
    normal_job, normal = reconstruct([PHOTO], tmp_path, "normal")
    scale = 7800 / image.shape[0]
    big, small = load(outcome)["joints_2d"][0], load(normal)["joints_2d"][0] * scale
    assert np.median(np.linalg.norm(big - small, axis=1)) < 0.03 * 7800, "landmarks in full-size pixels"


def test_nobody_in_the_image(tmp_path):
    import cv2

    rng = np.random.default_rng(0)
    path = tmp_path / "wall.png"
    cv2.imwrite(str(path), cv2.GaussianBlur(rng.integers(0, 255, (480, 640, 3), np.uint8), (31, 31), 0))
    _, outcome = reconstruct([path], tmp_path)
    assert outcome.state == "failed" and "No person was found" in outcome.message


@pytest.mark.parametrize("name, data, expected", [
    ("truncated.jpg", lambda: PHOTO.read_bytes()[:3000] if PHOTO.is_file() else b"\xff\xd8\xff", "could not"),
    ("empty.mp4", lambda: b"", "empty (0 bytes)"),
    ("notes.mp4", lambda: b"plain text, not a video" * 100, "could not be opened"),
], ids=["truncated-photo", "zero-length-video", "not-media"])
def test_bad_files_are_explained(tmp_path, name, data, expected):
    path = tmp_path / name
    path.write_bytes(data())
    _, outcome = reconstruct([path], tmp_path)
    assert outcome.state == "failed"
    assert expected in outcome.message or "No person was found" in outcome.message
    assert "Traceback" not in outcome.message


@needs_media
@pytest.mark.parametrize("refit", [False, True])
def test_killed_video_job_resumes_without_losing_or_repeating_frames(tmp_path, refit):
    # Foot lock and smoothing off: the lock holds each contact at its median over the whole clip, and the smoothing
    # runs back over the finished clip, so a resumed run's last frames (tracked anew from the saved state) would
    # move the first chunk's poses too if they differed at all. With the second fit (``refit``), the temporal
    # lifter reads each frame with its neighbours: the first chunk's last frames see the resumed ones.
    settings = {"foot_lock": 0.0, "smoothing": 0.0, "temporal_lifter": refit}
    reference_job, reference = reconstruct([SHORT_VIDEO], tmp_path / "whole", **settings)
    assert reference.state == "done", reference.message
    expected = load(reference)
    job = Job({"kind": "reconstruct", "inputs": [str(SHORT_VIDEO)], "cache_dir": str(tmp_path / "cache"),
               **settings}, tmp_path / "first")
    job.start()
    deadline = time.monotonic() + 120
    while not list((tmp_path / "cache").glob("results/*/chunks/chunk_*.npz")) and time.monotonic() < deadline:
        job.poll()
        time.sleep(0.05)
    job._process.kill()  # mid-video, after the first chunk
    assert job.run_to_end(10).state == "failed"
    _, resumed = reconstruct([SHORT_VIDEO], tmp_path, "second", **settings)
    assert resumed.state == "done", resumed.message
    result = load(resumed)
    assert len(result["poses"]) == len(expected["poses"]) == 40
    first_chunk = 24  # two seconds at 12 fps
    unaffected = first_chunk - (6 if refit else 0)  # the lifter's 13 frames of look-ahead at 30 fps, at 12 fps
    assert np.allclose(result["poses"][:unaffected], expected["poses"][:unaffected], atol=1e-5)
    assert np.all(np.abs(np.diff(result["trans"][:, 2])) < 0.5), "no jump where the job resumed"


@needs_media
def test_a_video_is_smoothed_back_over_the_finished_clip(tmp_path):
    """The result is the streamed smoothing (what the chunks hold) run back in time once the clip is done: no lag.
    Foot lock off, so that grounding leaves the camera-space poses as the smoothing made them, and the second fit
    off, which replaces the chunks' poses (``Lane.refit``: the same smoothing, run on its own output)."""
    from pocket_mocap.core.pipeline.smoothing import backward_pass

    _, outcome = reconstruct([SHORT_VIDEO], tmp_path, foot_lock=0.0, temporal_lifter=False)  # no second fit
    assert outcome.state == "done", outcome.message
    result = load(outcome)
    chunks = [np.load(path) for path in sorted((tmp_path / "cache").glob("results/*/chunks/chunk_*.npz"))]
    streamed = {key: np.concatenate([chunk[key][0] for chunk in chunks]).astype(np.float64)
                for key in ("poses", "trans")}
    poses, trans = backward_pass(streamed["poses"], streamed["trans"], float(result["mocap_framerate"]), 0.5)
    assert np.abs(result["poses"] - poses).max() < 1e-5 and np.abs(result["trans"] - trans).max() < 1e-5
    assert np.abs(result["poses"] - streamed["poses"]).max() > 0.01  # the pass back did change them


@needs_media
def test_same_input_again_reuses_the_result(tmp_path):
    _, first = reconstruct([PHOTO], tmp_path)
    started = time.monotonic()
    _, again = reconstruct([PHOTO], tmp_path, "again")
    assert again.summary["results"][0]["reused"] and again.summary["results"][0]["result"] == \
        first.summary["results"][0]["result"]
    assert time.monotonic() - started < 5


def test_estimator_without_weights_is_refused(tmp_path):
    _, outcome = reconstruct([tmp_path], tmp_path, estimator="efficienthuman")
    assert outcome.state == "failed" and "no trained weights" in outcome.message
    _, outcome = reconstruct([tmp_path], tmp_path, "binary", estimator="binaryhpe")
    assert outcome.state == "failed" and outcome.message.startswith("Not installed: no trained weights")


@needs_media
def test_frames_without_anybody_hold_the_pose_and_are_reported(tmp_path):
    import cv2

    source = cv2.VideoCapture(str(SHORT_VIDEO))
    path = tmp_path / "half empty.avi"
    writer = None
    for index in range(24):
        ok, frame = source.read()
        frame = cv2.resize(frame, (270, 480))
        if index >= 12:
            frame[:] = 90  # the person leaves: a blank wall
        writer = writer or cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 12, (270, 480))
        writer.write(frame)
    writer.release()
    _, outcome = reconstruct([path], tmp_path)
    assert outcome.state == "done", outcome.message
    result = load(outcome)
    assert np.all(result["confidence"][14:] == 0) and np.all(result["confidence"][:10] > 0)
    assert np.allclose(result["poses"][-1], result["poses"][14]), "the last pose is held"
    assert any("No person was found in" in warning for warning in outcome.warnings)


@needs_media
def test_truncated_video_keeps_what_decodes(tmp_path):
    data = SHORT_VIDEO.read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) * 2 // 3])
    _, outcome = reconstruct([path], tmp_path)
    if outcome.state == "failed":  # an MP4 whose index is gone cannot be opened at all: that must be explained
        assert "could not be opened" in outcome.message or "no frame" in outcome.message
    else:
        assert 0 < len(load(outcome)["poses"]) <= 40


@needs_media
def test_a_photo_of_legs_alone_is_not_passed_off_as_a_person(tmp_path):
    """MediaPipe draws a whole body, head down, on the lower half of this photo (legs spread on the ground)."""
    import cv2

    image = cv2.imread(str(SHARED_MEDIA / "images" / "single" / "s02_sitting_stretch__mpsamples_test_image.jpg"))
    legs = tmp_path / "legs.jpg"
    cv2.imwrite(str(legs), image[image.shape[0] // 2:])
    _, outcome = reconstruct([legs], tmp_path)
    assert outcome.state == "done", outcome.message
    said = [warning for warning in outcome.warnings if "upside down" in warning]
    assert len(said) == 1 and "legs.jpg" in said[0] and "head and shoulders" in said[0]
    assert float(np.max(load(outcome)["confidence"])) < 0.2
    _, whole = reconstruct([SHARED_MEDIA / "gt" / "h36m" / "S5_SittingDown.54138969_002061.jpg"], tmp_path, "floor")
    assert not any("upside down" in warning for warning in whole.warnings), "lying on the floor is not upside down"
