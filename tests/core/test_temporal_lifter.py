"""The temporal lifter at run time (core/lifting/temporal.py): a clip's input layout with frames where the person is
not seen, resampling, refusal of files without a training record, the bundled file's record, a video job that
grounds on its foot contacts, and the second fit to its points (the ``temporal_lifter`` setting)."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from conftest import SHARED_MEDIA
from support.onnx_files import assert_untrained_refused, save_graph

from pocket_mocap.core.lifting.features import FEATURES
from pocket_mocap.core.lifting.temporal import (
    BUNDLED,
    LIFTER_SHARE,
    REQUIRED_METADATA,
    TemporalLifter,
    blended,
    clip_features,
    resample,
)

needs_weights = pytest.mark.skipif(not BUNDLED.is_file(), reason="no temporal lifter in this build "
                                   "(python3 tools/dev.py train-temporal makes it)")


def _clip(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    pixels = rng.uniform(100, 400, (count, 33, 2))
    return pixels, rng.uniform(0.5, 1.0, (count, 33)), rng.normal(0, 0.3, (count, 33, 3))


def test_unseen_frames_take_the_nearest_seen_frame_and_are_flagged():
    pixels, visibility, world = _clip(7)
    seen = np.array([False, True, True, False, False, False, True])
    features = clip_features(pixels, visibility, world, seen, 600.0, (320.0, 240.0))
    assert features.shape == (7, FEATURES + 1) and features.dtype == np.float32
    np.testing.assert_array_equal(features[:, -1], seen.astype(np.float32))
    for frame, source in ((0, 1), (3, 2), (4, 2), (5, 6)):  # ties go to the earlier frame
        np.testing.assert_array_equal(features[frame, :-1], features[source, :-1])
    assert not np.array_equal(features[1, :-1], features[2, :-1])
    with pytest.raises(ValueError, match="not seen in any frame"):
        clip_features(pixels, visibility, world, np.zeros(7, bool), 600.0, (320.0, 240.0))


def test_resampling_keeps_a_linear_motion_and_the_frame_count():
    values = np.arange(25, dtype=np.float64)[:, None] * np.array([[1.0, -2.0]])  # 25 frames at 25 fps
    up = resample(values, 25.0, 30.0)
    assert len(up) == 30  # 0.96 s at 30 fps: 29 intervals, the last frame held
    np.testing.assert_allclose(up[:, 0], np.minimum(np.arange(30) * 25 / 30, 24), atol=1e-9)
    back = resample(up, 30.0, 25.0, 25)
    np.testing.assert_allclose(back[:-1], values[:-1], atol=1e-9)
    assert np.abs(back[-1] - values[-1]).max() <= 2.0  # the held last frame: within one frame's motion
    assert resample(values, 30.0, 30.0) is values


def _untrained_onnx(path, metadata: dict[str, str]):
    from onnx import TensorProto, helper

    inputs = FEATURES + 1
    nodes = [helper.make_node("Slice", ["features", "start", "stop", "axis"], ["middle"]),
             helper.make_node("MatMul", ["middle", "w"], ["flat"]),
             helper.make_node("Reshape", ["flat", "shape"], ["points"]),
             helper.make_node("MatMul", ["middle", "c"], ["contacts"])]
    constants = [helper.make_tensor("start", TensorProto.INT64, (1,), [13]),
                 helper.make_tensor("stop", TensorProto.INT64, (1,), [-13]),
                 helper.make_tensor("axis", TensorProto.INT64, (1,), [1]),
                 helper.make_tensor("w", TensorProto.FLOAT, (inputs, 387), np.zeros(inputs * 387).tolist()),
                 helper.make_tensor("c", TensorProto.FLOAT, (inputs, 4), np.zeros(inputs * 4).tolist()),
                 helper.make_tensor("shape", TensorProto.INT64, (4,), [1, -1, 129, 3])]
    graph = helper.make_graph(nodes, "temporal", [helper.make_tensor_value_info("features", TensorProto.FLOAT,
                                                                                 [1, "t", inputs])],
                              [helper.make_tensor_value_info("points", TensorProto.FLOAT, [1, "f", 129, 3]),
                               helper.make_tensor_value_info("contacts", TensorProto.FLOAT, [1, "f", 4])], constants)
    return save_graph(graph, path, metadata)


def test_weights_without_a_training_record_are_refused(tmp_path):
    assert_untrained_refused(TemporalLifter, _untrained_onnx, tmp_path, {key: "x" for key in REQUIRED_METADATA})


def test_a_recorded_file_runs_over_a_whole_clip_at_its_own_rate(tmp_path):
    pytest.importorskip("onnx")
    record = {"architecture": "temporal", "trained_steps": "5", "data": "x", "held_out_clips": "x",
              "validation": "{}", "command": "x"}
    lifter = TemporalLifter(_untrained_onnx(tmp_path / "recorded.onnx", record))
    pixels, visibility, world = _clip(40)
    features = clip_features(pixels, visibility, world, np.ones(40, bool), 600.0, (320.0, 240.0))
    landmarks, keypoints, contacts = lifter.lift(features, fps=25.0)
    assert landmarks.shape == (40, 33, 3) and keypoints.shape == (40, 96, 3) and contacts.shape == (40, 4)
    np.testing.assert_allclose(contacts, 0.5)  # zero logits


def test_lifted_contacts_need_the_landmarks_the_estimator_keeps():
    """Without landmarks (a network estimator's frames) there are no lifted contacts: the learned model decides."""
    pytest.importorskip("cv2")
    from pocket_mocap.core.estimators.keypoints.fit import Camera
    from pocket_mocap.core.pipeline.reconstruct import Person, lifted_contacts

    frames = {"presence": np.ones(5, bool), "confidence": np.ones(5)}
    assert lifted_contacts([Person(1, frames, np.zeros(10))], Camera(600.0, 320.0, 240.0), 30.0) is None


@needs_weights
def test_bundled_temporal_lifter_carries_its_training_record():
    lifter = TemporalLifter()
    record = lifter.record
    assert int(record["trained_steps"]) > 1000 and record["command"] == "python3 tools/dev.py train-temporal"
    assert "02_10" in record["held_out_clips"].split(",") and "real landmark-stage windows" in record["data"]
    baselines = json.loads(record["validation_baselines"])
    assert lifter.validation["pa_mpjpe_mm"] < 0.5 * baselines["mediapipe_world"]["pa_mpjpe_mm"]
    assert min(lifter.validation["contacts"].values()) > 0.8
    assert BUNDLED.stat().st_size < 16e6


@needs_weights
@pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="../shared/media is absent: no real video")
def test_a_video_job_grounds_on_the_lifters_contacts(tmp_path):
    pytest.importorskip("cv2")
    from pocket_mocap.core.worker.job import Job

    video = SHARED_MEDIA / "videos" / "v02_basketball_dribble__mmhuman3d_single_person_demo.mp4"  # 12 fps
    job = Job({"kind": "reconstruct", "inputs": [str(video)], "cache_dir": str(tmp_path / "cache"),
               "hands_and_face": False, "contacts": "lifted"}, tmp_path / "job")
    outcome = job.run_to_end(300)
    assert outcome.state == "done", outcome.message
    with np.load(outcome.summary["results"][0]["result"]) as data:
        result = {key: data[key] for key in data.files}
    count = len(result["poses"])
    assert result["landmarks"].shape == (count, 33, 6) and result["contacts"].shape == (count, 4)
    intrinsics = result["camera_intrinsics"]
    seen = result["confidence"] > 0
    raw = TemporalLifter().contacts(result["landmarks"], seen, float(intrinsics[0, 0]),
                                    (float(intrinsics[0, 2]), float(intrinsics[1, 2])),
                                    float(result["mocap_framerate"]))
    flags = result["contacts"] >= 0.5
    sure = (raw > 0.8) | (raw < 0.2)
    assert flags.any() and np.mean(flags[sure] == (raw[sure] > 0.5)) > 0.9  # the job planted what the lifter said


def _without_and_with(path, tmp_path, **settings) -> tuple[dict, dict]:
    """The reconstruct job's result arrays for ``path`` with the temporal lifter off, then on (its default)."""
    pytest.importorskip("cv2")
    from pocket_mocap.core.worker.job import Job

    results = []
    for lifted in (False, True):
        job = Job({"kind": "reconstruct", "inputs": [str(path)], "cache_dir": str(tmp_path / "cache"),
                   "temporal_lifter": lifted, **settings}, tmp_path / f"job-{lifted}")
        outcome = job.run_to_end(300)
        assert outcome.state == "done", outcome.message
        with np.load(outcome.summary["results"][0]["result"]) as data:
            results.append({key: data[key] for key in data.files})
    return results[0], results[1]


class _Recording:
    """A fitter that records what a second fit is given and answers with the call's number."""

    landmarks = True

    def __init__(self):
        self.calls: list[tuple] = []

    def refit(self, obs, poses, trans, first):
        self.calls.append((obs, np.array(poses), np.array(trans), first))
        value = 0.01 * len(self.calls)
        return {"poses": np.full(6, value), "trans": np.full(3, value), "joints": np.zeros((24, 3)),
                "joints_2d": np.zeros((24, 2)), "confidence": value}

    def joints(self, poses, trans):
        return np.tile(trans, (24, 1))


def test_a_second_fit_reads_the_lifters_points_frame_after_frame_and_holds_the_gaps(tmp_path):
    from pocket_mocap.core.estimators.keypoints.fit import Camera
    from pocket_mocap.core.pipeline.reconstruct import Lane
    from pocket_mocap.core.worker.context import TaskContext

    rng = np.random.default_rng(3)
    presence = np.array([0, 1, 1, 0, 1, 0], float)
    frames = {"poses": rng.normal(0, 0.1, (6, 6)).astype(np.float32), "trans": rng.normal(0, 1, (6, 3)),
              "joints": rng.normal(0, 1, (6, 24, 3)), "joints_2d": rng.normal(0, 1, (6, 24, 2)),
              "confidence": presence * 0.7, "presence": presence, "landmarks": rng.normal(0, 1, (6, 33, 6))}
    first_pass = {key: value.copy() for key, value in frames.items()}
    points = rng.normal(0, 0.3, (6, 33, 3))
    fitter = _Recording()
    Lane(1, np.zeros(10), fitter, 30.0, 0.0, 2).refit(frames, points, Camera(600.0, 320.0, 240.0), (640, 480),
                                                       30.0, 0.0, TaskContext(print, threading.Event(), tmp_path))
    assert [first for *_, first in fitter.calls] == [True, False, False]
    for (obs, poses, trans, _), index in zip(fitter.calls, (1, 2, 4), strict=True):
        np.testing.assert_array_equal(obs.world, points[index])  # the lifter's points, not MediaPipe's world
        np.testing.assert_array_equal(obs.pose_2d, first_pass["landmarks"][index, :, :2])
        np.testing.assert_array_equal(poses, first_pass["poses"][index])  # the start; fingers and jaw kept
        np.testing.assert_array_equal(trans, first_pass["trans"][index])
        assert (obs.width, obs.height) == (640, 480)
    np.testing.assert_allclose(frames["trans"][[1, 2, 4]], [[0.01] * 3, [0.02] * 3, [0.03] * 3], atol=1e-6)
    np.testing.assert_allclose(frames["confidence"], [0, 0.01, 0.02, 0, 0.03, 0], atol=1e-6)
    for held, source in ((3, 2), (5, 4)):  # a gap holds the last refitted pose, confidence 0
        for key in ("poses", "trans", "joints", "joints_2d"):
            np.testing.assert_array_equal(frames[key][held], frames[key][source])
    for key in ("poses", "trans", "joints", "joints_2d", "landmarks"):  # before the first sighting: untouched
        np.testing.assert_array_equal(frames[key][0], first_pass[key][0])
    np.testing.assert_array_equal(frames["landmarks"], first_pass["landmarks"])

    from pocket_mocap.core.errors import JobCancelled

    stop = threading.Event()
    stop.set()  # the user cancels while the second fit runs: it stops at once (the job keeps the first pass)
    lane, cancelled = Lane(1, np.zeros(10), _Recording(), 30.0, 0.0, 2), TaskContext(print, stop, tmp_path)
    with pytest.raises(JobCancelled):
        lane.refit(frames, points, Camera(600.0, 320.0, 240.0), (640, 480), 30.0, 0.0, cancelled)


@needs_weights
@pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="../shared/media is absent: no real video")
def test_a_video_job_fits_again_to_the_temporal_lifters_points(tmp_path):
    video = SHARED_MEDIA / "videos" / "v02_basketball_dribble__mmhuman3d_single_person_demo.mp4"  # 40 frames
    first, second = _without_and_with(video, tmp_path)
    np.testing.assert_array_equal(second["landmarks"], first["landmarks"])  # the same first pass, kept as it was
    seen = first["confidence"] > 0
    intrinsics = first["camera_intrinsics"]
    points, _ = TemporalLifter().read(first["landmarks"], seen, float(intrinsics[0, 0]),
                                      (float(intrinsics[0, 2]), float(intrinsics[1, 2])),
                                      float(first["mocap_framerate"]))
    limbs, landmarks = [4, 5, 7, 8, 18, 19, 20, 21], [25, 26, 27, 28, 13, 14, 15, 16]  # knees, ankles, elbows, wrists

    def off_the_points(result):
        joints = result["joints"][seen]
        joints = joints[:, limbs] - joints[:, [1, 2]].mean(axis=1, keepdims=True)
        lifted = points[seen][:, landmarks] - points[seen][:, [23, 24]].mean(axis=1, keepdims=True)
        return float(np.linalg.norm(joints - lifted, axis=-1).mean())

    assert off_the_points(second) < 0.8 * off_the_points(first)

    from pocket_mocap.core.bodymodel.library import load_body
    from pocket_mocap.core.estimators.keypoints.estimator import FrameFitter
    from pocket_mocap.core.estimators.keypoints.fit import Camera, Observation
    from pocket_mocap.core.pipeline.reconstruct import Settings

    frame = int(np.flatnonzero(seen)[len(np.flatnonzero(seen)) // 2])
    camera = Camera(float(intrinsics[0, 0]), float(intrinsics[0, 2]), float(intrinsics[1, 2]))
    fitter = FrameFitter(load_body("open", "smplx", "", "neutral"), camera, first["betas"], Settings(), 0.2)
    landmarks = first["landmarks"][frame].astype(np.float64)
    obs = Observation(1080, 1920, landmarks[:, :2], landmarks[:, 2], points[frame])
    poses = first["poses"][frame].astype(np.float64).copy()
    poses[22 * 3:] = np.random.default_rng(0).normal(0, 0.2, len(poses) - 22 * 3)  # fingers, jaw and eyes
    refitted = fitter.refit(obs, poses, first["trans"][frame], first=True)
    np.testing.assert_allclose(refitted["poses"][22 * 3:], poses[22 * 3:], atol=1e-5)  # kept as they were
    assert np.abs(refitted["poses"][:22 * 3] - poses[:22 * 3]).mean() > 0.01 and "landmarks" not in refitted


@needs_weights
@pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="../shared/media is absent: no real photo")
def test_a_photo_is_fitted_to_the_lifters_points_of_it_held_still(tmp_path):
    photo = SHARED_MEDIA / "gt" / "h36m" / "S7_Greeting.55011271_000396.jpg"
    first, second = _without_and_with(photo, tmp_path, hands_and_face=False)
    landmarks = first["landmarks"][0].astype(np.float64)  # the photo's landmarks, MediaPipe's world among them
    intrinsics = first["camera_intrinsics"]
    held = TemporalLifter().still(landmarks[:, :2], landmarks[:, 2], landmarks[:, 3:], float(intrinsics[0, 0]),
                                  (float(intrinsics[0, 2]), float(intrinsics[1, 2])))
    points = blended(held, landmarks[:, 3:])
    np.testing.assert_allclose(second["landmarks"][0, :, 3:], points, atol=1e-5)  # what the fit read
    limbs, ours = [4, 5, 7, 8, 18, 19, 20, 21], [25, 26, 27, 28, 13, 14, 15, 16]  # knees, ankles, elbows, wrists

    def off(result, target):
        joints = result["joints"][0]
        return float(np.linalg.norm((joints[limbs] - joints[[1, 2]].mean(axis=0))
                                    - (target[ours] - target[[23, 24]].mean(axis=0)), axis=-1).mean())

    assert off(second, points) < off(first, points) and off(first, landmarks[:, 3:]) < off(second, landmarks[:, 3:])


def test_a_photos_fit_reads_the_lifters_points_mixed_with_mediapipes_about_their_mid_hips():
    rng = np.random.default_rng(3)
    lifted, measured = rng.normal(0, 0.3, (2, 33, 3))
    lifted += [0.0, 0.004, -0.003]  # the lifter's points sit a few millimetres off their mid-hip
    mixed = blended(lifted, measured)
    np.testing.assert_allclose(mixed[[23, 24]].mean(axis=0), 0.0, atol=1e-12)
    centred = [x - x[[23, 24]].mean(axis=0) for x in (lifted, measured)]
    np.testing.assert_allclose(mixed, LIFTER_SHARE * centred[0] + (1 - LIFTER_SHARE) * centred[1], atol=1e-12)
    np.testing.assert_allclose(blended(lifted, measured, 1.0), centred[0], atol=1e-12)
    np.testing.assert_allclose(blended(np.stack([lifted] * 3), np.stack([measured] * 3))[1], mixed, atol=1e-12)
    assert 0.5 <= LIFTER_SHARE < 1.0  # the lifter's points weigh more, MediaPipe's are not dropped


def test_a_knee_or_elbow_bent_the_wrong_way_is_told():
    from pocket_mocap.core.estimators.keypoints.fit import bent_wrong

    def pose(joint: int, axis: int, degrees: float) -> np.ndarray:
        poses = np.zeros(22 * 3)
        poses[joint * 3 + axis] = np.radians(degrees)
        return poses

    assert not bent_wrong(np.zeros(22 * 3)) and not bent_wrong(pose(4, 0, 120.0)) and not bent_wrong(pose(4, 0, -5.0))
    assert bent_wrong(pose(4, 0, -20.0)) and bent_wrong(pose(5, 0, 170.0)) and bent_wrong(pose(5, 2, 35.0))
    assert not bent_wrong(pose(18, 1, -120.0)) and bent_wrong(pose(18, 1, 40.0))  # the left elbow flexes about -y
    assert not bent_wrong(pose(19, 1, 120.0)) and bent_wrong(pose(19, 0, -35.0))


@needs_weights
@pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="../shared/media is absent: no real photo")
def test_a_photo_whose_lifted_limb_bends_the_wrong_way_is_fitted_to_mediapipes_3d(tmp_path):
    """COCO 196141's second skier: the lifter, reading the photo held still, puts a crouched leg's ankle on the
    wrong side in depth, and the fit to its points bends that knee backwards; MediaPipe's own 3D bends it right."""
    from pocket_mocap.core.estimators.keypoints.fit import bent_wrong

    photo = SHARED_MEDIA / "gt" / "coco" / "000000196141.jpg"
    first, second = _without_and_with(photo, tmp_path, hands_and_face=False)
    assert len(second["poses"]) == len(first["poses"]) >= 2
    assert not any(bent_wrong(person[0]) for person in second["poses"])
    intrinsics = first["camera_intrinsics"]
    lifter, kept = TemporalLifter(), []
    for person in range(len(first["poses"])):
        landmarks = first["landmarks"][person, 0].astype(np.float64)
        points = blended(lifter.still(landmarks[:, :2], landmarks[:, 2], landmarks[:, 3:], float(intrinsics[0, 0]),
                                      (float(intrinsics[0, 2]), float(intrinsics[1, 2]))), landmarks[:, 3:])
        read = second["landmarks"][person, 0, :, 3:]
        kept.append("mediapipe" if np.allclose(read, landmarks[:, 3:], atol=1e-5) else
                    "lifter" if np.allclose(read, points, atol=1e-5) else "neither")
    assert kept.count("mediapipe") >= 1 and kept.count("lifter") >= 1 and "neither" not in kept, kept
