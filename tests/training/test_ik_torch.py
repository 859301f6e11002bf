"""The torch IK equals the numpy IK (twist given), and gradients flow."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from core.bodymodel.joints import SMPL_PARENTS  # noqa: E402
from core.ik import hybrik  # noqa: E402
from core.rotations import axis_angle_to_matrix  # noqa: E402
from training.ik_torch import inverse_kinematics  # noqa: E402

SKELETON = hybrik.smpl_skeleton(SMPL_PARENTS, {15: 24, 22: 25, 23: 26, 10: 27, 11: 28}, {9: 12, 0: 3})


def test_matches_numpy_ik_and_recovers_rotations():
    rng = np.random.default_rng(0)
    rest = np.zeros((29, 3))
    for point in range(1, 29):
        rest[point] = rest[SKELETON.parents[point]] + rng.normal(0, 0.15, 3)
    local = axis_angle_to_matrix(rng.normal(0, 0.5, (24, 3)))
    target = hybrik.forward_points(SKELETON, rest, local)
    angles = hybrik.twist_angles(SKELETON, rest, local)
    twist = np.stack([np.cos(angles), np.sin(angles)], -1)
    solved = inverse_kinematics(SKELETON, torch.tensor(rest[None]), torch.tensor(target[None] - target[0]),
                                torch.tensor(twist[None]))[0].numpy()
    assert np.abs(solved[1:] - local[1:]).max() <= 1e-4
    assert np.abs(solved[0] - local[0]).max() <= 1e-4, "the analytic root agrees on a rigid root"


def test_gradients_flow():
    rest = torch.randn(2, 29, 3, dtype=torch.float64) * 0.2
    rest[:, 0] = 0
    target = rest.clone().requires_grad_(True)
    twist = torch.randn(2, 24, 2, dtype=torch.float64, requires_grad=True)
    inverse_kinematics(SKELETON, rest, target, twist).sum().backward()
    assert torch.isfinite(target.grad).all() and target.grad.abs().sum() > 0 and twist.grad.abs().sum() > 0
