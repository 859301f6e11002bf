"""The synthetic generator's ground truth is self-consistent, deterministic and readable by the trainer."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cv2")  # not in the Blender-5 test environment (it runs the blender tests only)
pytest.importorskip("scipy")  # not in the Blender-5 test environment (it runs the blender tests only)

from core.estimators import silhouette_input as twin  # noqa: E402
from core.ik import hybrik  # noqa: E402
from core.rotations import axis_angle_to_matrix  # noqa: E402
from training.data import DEPTH, SIZE  # noqa: E402
from training.synth.bank import PoseBankError, load_pose_bank, random_test_poses  # noqa: E402
from training.synth.generate import generate  # noqa: E402
from training.synth.generator import SAMPLE_SHAPES, SyntheticGenerator  # noqa: E402
from training.synth.shards import ShardError, SyntheticShards  # noqa: E402

MEDIA = Path(__file__).resolve().parents[3] / "shared" / "media" / "images" / "single"
SAMPLES = range(12)


@pytest.fixture(scope="module")
def bank():
    return random_test_poses(32, seed=5)


@pytest.fixture(scope="module")
def generator(bank):
    return SyntheticGenerator(bank)


@pytest.fixture(scope="module")
def samples(generator):
    return [generator.sample(3, index) for index in SAMPLES]


def test_sample_has_the_documented_keys_shapes_and_types(samples):
    for sample in samples:
        assert set(sample) == set(SAMPLE_SHAPES)
        for key, (shape, dtype) in SAMPLE_SHAPES.items():
            assert sample[key].shape == shape and sample[key].dtype == dtype, key


def test_projecting_3d_keypoints_with_the_camera_gives_the_2d_ones(samples):
    for sample in samples:
        focal, cx, cy = sample["intrinsics"]
        points = sample["xyz"].astype(np.float64) * DEPTH + sample["root"]
        pixels = points[:, :2] / points[:, 2:] * focal + (cx, cy)
        assert np.abs(pixels - (sample["uvd"][:, :2] + 0.5) * SIZE).max() < 0.5
        assert np.abs(pixels - sample["keypoints_2d"]).max() < 0.5
        joints = sample["joints_3d"].astype(np.float64)
        assert np.abs(joints[:, :2] / joints[:, 2:] * focal + (cx, cy) - sample["joints_2d"]).max() < 0.5
        depth = (sample["keypoints_3d"][:, 2] - sample["keypoints_3d"][0, 2]) / DEPTH
        assert np.abs(depth - sample["uvd"][:, 2]).max() < 1e-5
        assert np.abs(sample["keypoints_3d"][0] - sample["root"]).max() < 1e-5  # keypoint 0 is the pelvis


def test_silhouette_and_part_mask_contain_every_visible_point(samples):
    seen = 0
    for sample in samples:
        for points, flags in ((sample["keypoints_2d"], sample["visible"]),
                              (sample["landmarks_2d"], sample["landmark_visible"])):
            column, row = np.round(points[flags > 0]).astype(int).T
            assert np.all(sample["silhouette"][row, column] == 1)
            assert np.all(sample["parts"][row, column] > 0)
            seen += len(row)
        assert np.array_equal(sample["parts"] > 0, sample["silhouette"] > 0)
        outside = np.any((sample["keypoints_2d"] < -0.5) | (sample["keypoints_2d"] >= SIZE - 0.5), axis=1)
        assert not np.any(sample["visible"][outside])
    assert seen > 0.4 * len(samples) * (96 + 33)  # visibility is not trivially all-false


def test_occluded_points_are_found(samples):
    visible = np.mean([sample["visible"].mean() for sample in samples])
    assert 0.35 < visible < 0.9  # a body hides part of itself; all or nothing would be a bug


def test_theta_poses_the_smpl_body_onto_the_keypoints_in_camera_space(generator, samples):
    smpl = generator.kit.smpl
    for sample in samples[:4]:
        rest = smpl.rest_joints(sample["betas"])
        posed = smpl.pose(sample["theta"].reshape(1, -1), sample["betas"], (sample["root"] - rest[0])[None])
        assert np.abs(posed.joints[0] - sample["keypoints_3d"][:24]).max() < 1e-3
        tips = posed.vertices[0][generator.kit.keypoint_ids[1:3]] - posed.joints[0][[22, 23]]
        truth = sample["keypoints_3d"][[25, 26]] - sample["keypoints_3d"][[22, 23]]
        cosine = np.sum(tips * truth, axis=1) / np.linalg.norm(tips, axis=1) / np.linalg.norm(truth, axis=1)
        assert np.all(cosine > 0.999)  # the hand joints aim at the middle fingertips


def test_twist_matches_hybrik(generator, samples):
    for sample in samples[:4]:
        rest = generator._rest_points(sample["betas"])
        angles = hybrik.twist_angles(generator.skeleton, rest, axis_angle_to_matrix(sample["theta"].astype(float)))
        expected = np.column_stack([np.cos(angles[1:]), np.sin(angles[1:])])
        assert np.abs(expected - sample["twist"]).max() < 1e-5


def test_camera_target_back_projects_to_the_keypoints(samples):
    """A.5's virtual camera (focal 1000, centred) only approximates the true crop camera; the fitted (s, tx, ty)
    must put the back-projected keypoints near the truth (measured over 200 samples: mean 4 cm, p95 of the
    worst keypoint 25 cm, from off-centre principal points and crop focals far from 1000 px)."""
    errors = []
    for sample in samples:
        uvd, (scale, tx, ty) = sample["uvd"].astype(np.float64), sample["camera"]
        z = uvd[:, 2] * DEPTH + 1000.0 / (SIZE * scale)
        points = np.column_stack([uvd[:, 0] * SIZE / 1000 * z - tx, uvd[:, 1] * SIZE / 1000 * z - ty, z])
        errors.append(np.linalg.norm((points - points[0]) - sample["xyz"] * DEPTH, axis=1))
    assert np.median([e.mean() for e in errors]) < 0.08 and max(e.max() for e in errors) < 0.35


def test_same_seed_same_sample_and_different_seed_differs(generator, bank, samples):
    again = SyntheticGenerator(bank, kit=generator.kit).sample(3, 5)
    for key in SAMPLE_SHAPES:
        assert np.array_equal(again[key], samples[5][key]), key
    other = generator.sample(4, 5)
    assert not np.array_equal(other["uvd"], samples[5]["uvd"])


def test_shards_do_not_change_samples(bank, tmp_path):
    generate("silhouette", bank, 9, 6, tmp_path / "a", shard_size=2)
    generate("silhouette", bank, 9, 6, tmp_path / "b", shard_size=4)
    first, second = SyntheticShards(tmp_path / "a"), SyntheticShards(tmp_path / "b")
    assert len(first) == len(second) == 6
    for index in range(6):
        for key in ("uvd", "theta", "silhouette", "image"):
            assert np.array_equal(first[index][key], second[index][key])


def test_silhouette_shards_read_as_training_samples(bank, tmp_path):
    generate("silhouette", bank, 1, 3, tmp_path, shard_size=2)
    shards = SyntheticShards(tmp_path)
    assert len(shards) == 3 and shards.manifest["pose_bank"]["sha256"] == bank.digest
    sample = shards[2]
    assert sample["image"].shape == (twin.CHANNELS, SIZE, SIZE) and sample["image"].dtype == np.float32
    for key, (shape, dtype) in SAMPLE_SHAPES.items():
        assert sample[key].shape == shape and sample[key].dtype == dtype, key
    assert 0.0 <= sample["image"].min() and sample["image"].max() <= 1.0


def test_silhouette_input_layout_and_peaks():
    rng = np.random.default_rng(0)
    silhouette = rng.random((SIZE, SIZE)) > 0.5
    points = rng.uniform(10, 245, (33, 2))
    visible = np.ones(33)
    visible[[3, 17]] = 0
    tensor = twin.silhouette_input(silhouette, points, visible)
    assert tensor.shape == (34, SIZE, SIZE) and tensor.dtype == np.float32
    assert np.array_equal(tensor[0], silhouette.astype(np.float32))
    assert 0.0 <= tensor.min() and tensor.max() <= 1.0
    for k in range(33):
        heat = tensor[1 + k]
        if visible[k]:
            row, column = np.unravel_index(np.argmax(heat), heat.shape)
            assert (column, row) == tuple(np.round(points[k]).astype(int))
            assert heat.max() > 0.95
        else:
            assert not heat.any()
    with pytest.raises(ValueError, match="needs a"):
        twin.silhouette_input(np.zeros((128, 128)), points, visible)


def test_missing_pose_bank_and_empty_folder_say_what_to_do(tmp_path):
    with pytest.raises(PoseBankError, match="does not exist"):
        load_pose_bank(tmp_path / "poses.npz")
    with pytest.raises(ShardError, match="no manifest.json"):
        SyntheticShards(tmp_path)


@pytest.fixture(scope="module")
def rendered(bank, tmp_path_factory):
    if importlib.util.find_spec("bpy") is None:
        pytest.skip("bpy (Blender as a Python module) is not installed: mode (a) cannot render.")
    folder = tmp_path_factory.mktemp("rgb")
    generate("rgb", bank, 2, 2, folder, shard_size=2)
    return SyntheticShards(folder)


def test_render_lines_up_with_the_silhouette(rendered):
    for index in range(len(rendered)):
        sample = rendered[index]
        drawn, silhouette = sample["alpha"] > 127, sample["silhouette"] > 0
        assert (drawn & silhouette).sum() / (drawn | silhouette).sum() > 0.9


def test_rgb_shards_read_as_training_samples(rendered):
    sample = rendered[1]
    assert sample["image"].shape == (3, SIZE, SIZE) and sample["image"].dtype == np.float32
    assert sample["alpha"].shape == (SIZE, SIZE) and sample["alpha"].dtype == np.uint8
    assert sample["image"].std() > 0.1  # a picture, not a blank


@pytest.mark.skipif(not MEDIA.is_dir(), reason="the shared test photos (../shared/media) are absent")
def test_real_twin_on_a_photo():
    import cv2

    from core.estimators.keypoints.detect import LandmarkDetector

    rgb = cv2.imread(str(next(MEDIA.glob("s07_*"))))[..., ::-1]
    with LandmarkDetector(video=False, hands_and_face=False, segmentation=True) as detector:
        found = twin.photo_input(detector, np.ascontiguousarray(rgb))
    assert found is not None
    tensor, _, _ = found
    assert tensor.shape == (34, SIZE, SIZE)
    assert 0.05 < tensor[0].mean() < 0.6  # a person, not the whole crop
    peaks = [np.unravel_index(np.argmax(h), h.shape) for h in tensor[1:] if h.max() > 0.5]
    assert len(peaks) >= 25
    assert np.mean([tensor[0][row, column] > 0.5 for row, column in peaks]) > 0.8  # landmarks on the person


def test_render_size_keeps_the_framing_of_the_background_and_the_camera():
    """Larger renders (the grounding benchmark's 512-pixel clips) frame the same scene: the background is the
    256-pixel one's layout scaled, and Blender's camera gets the same lens and shift for the same field of view."""
    from training.synth.appearance import background
    from training.synth.render_blender import blender_camera

    small, large = background(np.random.default_rng(4)), background(np.random.default_rng(4), 512)
    assert small.shape == (256, 256, 3) and large.shape == (512, 512, 3) and large.dtype == np.uint8
    import cv2

    shrunk = cv2.resize(large, (256, 256), interpolation=cv2.INTER_AREA).astype(np.float32)
    assert np.abs(shrunk - small).mean() < 12, "the same layout, scaled"
    assert blender_camera(np.array([300.0, 127.5, 127.5])) == pytest.approx(
        blender_camera(np.array([600.0, 255.5, 255.5]), 512))
