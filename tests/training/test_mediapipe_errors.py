"""MediaPipe's measured error model (training/lifter/mediapipe_errors.py): the fit recovers errors planted in known
observations, view angles read front/back and upright/lying right, the committed model is sane, and the lifter's
sampler draws its corruption from it."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("cv2")  # the generator it shares code with; Blender's own environments have no OpenCV

from training.lifter import mediapipe_errors  # noqa: E402
from training.lifter.data import MEASURED, Corruption  # noqa: E402

N = 400


def _standing(n: int, rng: np.random.Generator, facing_camera: bool = True) -> np.ndarray:
    """Camera-space 33 landmark points ``(n, 33, 3)`` of a rough upright body 3 m in front of the camera (x right,
    y down, z forward); facing the camera means its left side is on the image's right."""
    points = rng.normal(0.0, 0.05, (n, 33, 3))
    side = 1.0 if facing_camera else -1.0
    for index, (x, y) in {11: (0.2, -0.5), 12: (-0.2, -0.5), 23: (0.1, 0.0), 24: (-0.1, 0.0), 25: (0.1, 0.45),
                          26: (-0.1, 0.45), 27: (0.1, 0.9), 28: (-0.1, 0.9), 0: (0.0, -0.75)}.items():
        points[:, index] = [side * x, y, 0.0]
    points[:, 13:17] = points[:, [11, 12, 11, 12]] + [0.0, 0.3, 0.0]
    points[..., 2] += 3.0
    return points


def _observed(rng: np.random.Generator) -> dict:
    truth = _standing(N, rng)
    focal, centre = 500.0, 128.0
    pixels = truth[..., :2] / truth[..., 2:] * focal + centre
    size = mediapipe_errors.person_size(pixels)[:, None, None]
    hips = truth[:, [23, 24]].mean(axis=1, keepdims=True)
    world = (truth - hips) * 1.1
    world[..., 2] *= 0.5
    found = np.ones(N, bool)
    found[:40] = False
    return {"found": found, "landmarks_2d": pixels, "landmarks_3d": truth,
            "pixels": pixels + rng.normal(0.0, 0.02, pixels.shape) * size,
            "world": world, "visibility": np.full((N, 33), 0.9),
            "landmark_visible": np.ones((N, 33)), "landmark_present": np.ones((N, 33)),
            "intrinsics": np.tile([focal, centre, centre], (N, 1))}


def test_fit_recovers_planted_errors():
    model = mediapipe_errors.fit(_observed(np.random.default_rng(0)))
    assert model["samples"] == N and model["found"] == N - 40
    assert model["figures"]["miss_rate"] == pytest.approx(0.1)
    np.testing.assert_allclose(model["pixel_sd"], 0.02, rtol=0.15)
    assert model["outlier_rate"] < 0.01
    assert model["world_scale_mean"] == pytest.approx(np.log(1.1), abs=0.05)  # MediaPipe's body is 10 % larger
    assert model["depth_scale_mean"] == pytest.approx(np.log(0.5), abs=0.05)  # and its depth halved
    assert np.max(model["world_sd"]) < 0.01  # nothing else was wrong with the world landmarks
    assert model["visibility_quantiles"]["seen"][10] == pytest.approx(0.9)


def test_view_angles():
    rng = np.random.default_rng(1)
    facing, tilt = mediapipe_errors.view_angles(_standing(4, rng))
    assert np.all(facing < 15) and np.all(tilt < 15)
    facing, _ = mediapipe_errors.view_angles(_standing(4, rng, facing_camera=False))
    assert np.all(facing > 165)
    lying = _standing(4, rng)
    lying[..., 1], lying[..., 2] = lying[..., 2] - 3.0 + 1.0, lying[..., 1] + 3.0  # head away from the camera
    _, tilt = mediapipe_errors.view_angles(lying)
    assert np.all(tilt > 75)


@pytest.mark.skipif(not MEASURED.is_file(), reason="the measured error model is not in this tree")
def test_committed_model_is_measured_and_sane():
    model = json.loads(MEASURED.read_text())
    assert model["found"] >= 1000  # thousands of renders, not a handful
    assert len(model["pixel_sd"]) == 33 and 0.003 < np.median(model["pixel_sd"]) < 0.1
    assert 0 <= model["outlier_rate"] < 0.3
    assert np.shape(model["world_sd"]) == (33, 3)
    assert {"seen", "outside"} <= set(model["visibility_quantiles"])
    assert set(model["figures"]["by_view"]) >= {"facing front", "facing back", "tilt upright", "tilt lying"}


@pytest.mark.skipif(not MEASURED.is_file(), reason="the measured error model is not in this tree")
def test_sampler_draws_measured_corruption():
    from training.lifter.data import LifterSampler
    from training.synth.bank import random_test_poses

    corruption = Corruption.measured()
    model = json.loads(MEASURED.read_text())
    sampler = LifterSampler(random_test_poses(16), corruption=corruption)
    rng = np.random.default_rng(2)
    truth = _standing(4000, rng)
    truth[..., 2] += rng.uniform(-0.5, 0.5, truth.shape[:2])  # depth worth measuring against the noise
    observed = sampler.observe(rng, truth)
    hips = truth[:, [23, 24]].mean(axis=1, keepdims=True)
    true_z, seen_z = (truth - hips)[..., 2].ravel(), observed["world"][..., 2].ravel()
    slope = (true_z * seen_z).sum() / (true_z ** 2).sum()  # MediaPipe's depth over the true depth, on average
    mean = model["depth_scale_mean"] + model["world_scale_mean"]
    spread = (model["depth_scale_sd"] ** 2 + model["world_scale_sd"] ** 2) / 2
    assert slope == pytest.approx(np.exp(mean + spread), rel=0.1)  # the mean of a log-normal scale
    assert observed["visibility"].min() >= 0 and observed["visibility"].max() <= 1
