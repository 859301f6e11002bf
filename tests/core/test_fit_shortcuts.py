"""The fit's shortcuts (core/estimators/keypoints/fit.py, core/prior/gmm.py) give what the plain computation gives:
the surface points carried by the 22 body joints are where skinning every joint puts them, the finite-difference
steps placed by one rigid transform a row are where chaining each row puts them, the prior's batch worked out from
its first row is every row's own product, and a fit with the shortcuts lands where one without them does."""

from __future__ import annotations

import numpy as np
import pytest

from pocket_mocap.core.bodymodel import lbs
from pocket_mocap.core.bodymodel.library import load_body
from pocket_mocap.core.estimators.keypoints.fit import BODY_JOINTS, PRIOR_WEIGHT, BodyFitter, Camera, FitWeights
from pocket_mocap.core.estimators.keypoints.solver import levenberg_marquardt
from pocket_mocap.core.prior.gmm import PosePrior
from pocket_mocap.core.rotations import axis_angle_to_matrix


@pytest.fixture(scope="module", params=["smplx", "smpl"])
def fitter(request):
    model = load_body("open", request.param)
    rng = np.random.default_rng(4)
    fitter = BodyFitter(model, Camera(1000.0, 500.0, 400.0), rng.normal(size=model.num_betas).astype(np.float32) * 0.5)
    fitter.fixed[BODY_JOINTS:] = axis_angle_to_matrix(rng.normal(size=(len(model.parents) - BODY_JOINTS, 3)) * 0.4)
    return fitter


def params(rng: np.random.Generator, count: int = 1) -> np.ndarray:
    values = rng.normal(size=(count, BODY_JOINTS * 3 + 3)) * 0.4
    values[:, BODY_JOINTS * 3:] = (0.1, -0.2, 3.0)
    return values


def skinned_everywhere(fitter: BodyFitter, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The landmark points and body joints by chaining and skinning every joint of the model (hands, jaw, eyes
    turned by ``fitter.fixed``)."""
    rest = np.broadcast_to(fitter.rest, (len(values), *fitter.rest.shape))
    world = lbs.world_transforms(fitter.local_rotations(values), rest, fitter.model.parents)
    skinning = lbs.skinning_transforms(world, rest)
    translation = values[:, None, BODY_JOINTS * 3:]
    joints = world[:, :, :3, 3] + translation
    blended = np.einsum("kj,njrc->nkrc", fitter.surface_weights, skinning[:, :, :3, :])
    surface = np.einsum("nkrc,kc->nkr", blended[..., :3], fitter.surface_rest) + blended[..., 3] + translation
    landmark_joints = joints[:, [j for _, j in fitter.joint_points]]
    return np.concatenate([landmark_joints, surface], axis=1), joints[:, :BODY_JOINTS]


def test_surface_points_carried_by_the_body_joints_are_where_skinning_every_joint_puts_them(fitter):
    values = params(np.random.default_rng(5), 6)
    points, joints = fitter.posed(values)
    want_points, want_joints = skinned_everywhere(fitter, values)
    assert np.abs(points - want_points).max() < 1e-12
    assert np.abs(joints - want_joints).max() < 1e-12
    fitter.fixed[-1] = axis_angle_to_matrix(np.array([0.0, 0.7, 0.2]))  # the hands move: the carried points follow
    assert np.abs(fitter.posed(values)[0] - skinned_everywhere(fitter, values)[0]).max() < 1e-12


@pytest.mark.parametrize("step", [1e-4, 0.3])
def test_stepped_rows_are_where_chaining_each_row_puts_them(fitter, step):
    rng = np.random.default_rng(6)
    for values in params(rng, 3):
        values[3:9] = 0.0  # joints at rest too
        batch = values + np.eye(len(values)) * step
        points, joints = fitter.stepped(values, step)
        want_points, want_joints = fitter.posed(batch)
        assert np.abs(points - want_points).max() < 1e-12
        assert np.abs(joints - want_joints).max() < 1e-12


def test_the_prior_of_a_finite_difference_batch_is_every_rows_own():
    prior = PosePrior()
    rng = np.random.default_rng(7)
    base = rng.normal(size=63) * 0.3
    for batch in (base + np.eye(63) * 1e-4, np.vstack([base, base + np.eye(63)[:5]]), rng.normal(size=(9, 63))):
        own = np.stack([(row @ prior.cholesky) - prior.shifts for row in batch])  # (B, K, 63), a product per row
        assert np.abs(prior._whitened(batch) - own).max() < 1e-12
        assert np.allclose(prior.residuals(batch), np.stack([prior.residuals(row[None])[0] for row in batch]),
                           atol=1e-12)


def test_a_fit_with_the_shortcuts_lands_where_one_without_them_does(fitter):
    """The solver's stepped Jacobian against its plain one (every step a row of its own), from the same start on
    an observation of a known pose."""
    from pocket_mocap.core.estimators.keypoints.fit import Observation

    rng = np.random.default_rng(8)
    truth = params(rng)[0] * 0.6
    truth[BODY_JOINTS * 3:] = (0.0, 0.1, 3.5)
    points = fitter.points(truth[None])[0]
    pose_2d = np.zeros((33, 2))
    world = np.zeros((33, 3))
    pose_2d[fitter.landmarks] = fitter.camera.project(points) + rng.normal(0, 2.0, (len(points), 2))
    world[fitter.landmarks] = points - (points[6] + points[7]) / 2
    obs = Observation(1000, 800, pose_2d, np.where(np.isin(np.arange(33), fitter.landmarks), 0.9, 0.0), world)
    fitter.prior = PosePrior()
    weights = FitWeights(prior=PRIOR_WEIGHT)
    start = fitter.initial_params(obs)
    plain = levenberg_marquardt(lambda p: fitter.residuals(p, obs, None, weights), start, 8)
    stepped = levenberg_marquardt(lambda p: fitter.residuals(p, obs, None, weights), start, 8,
                                  stepped=lambda p, step: fitter.stepped_residuals(p, step, obs, None, weights))
    assert np.abs(plain - stepped).max() < 1e-6
    assert np.abs(fitter.points(stepped[None])[0] - points).max() < 0.05  # and it did fit
