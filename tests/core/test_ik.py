"""Analytic IK: forward kinematics of random poses -> joints -> IK gives the rotations back."""

from __future__ import annotations

import numpy as np
import pytest

from pocket_mocap.core.bodymodel.joints import SMPL_PARENTS, SMPLX_PARENTS
from pocket_mocap.core.ik import hybrik
from pocket_mocap.core.rotations import axis_angle_to_matrix, matrix_to_axis_angle

SMPL_LEAVES = {15: 24, 22: 25, 23: 26, 10: 27, 11: 28}  # head top, middle fingertips, big toes
SMPL_CHAIN = {9: 12}  # spine3 follows the neck (HybrIK)


def random_rest(points: int, parents, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rest = np.zeros((points, 3))
    for point in range(1, points):
        rest[point] = rest[parents[point]] + rng.normal(0, 0.15, 3)
    return rest


@pytest.mark.parametrize("seed", range(5))
def test_ik_returns_the_rotations_when_twist_is_given(seed):
    skeleton = hybrik.smpl_skeleton(SMPL_PARENTS, SMPL_LEAVES, SMPL_CHAIN)
    rest = random_rest(29, skeleton.parents, seed)
    rng = np.random.default_rng(100 + seed)
    local = axis_angle_to_matrix(rng.normal(0, 0.6, (24, 3)))
    target = hybrik.forward_points(skeleton, rest, local)
    twist = hybrik.twist_angles(skeleton, rest, local)
    solved = hybrik.inverse_kinematics(skeleton, rest, target, twist)
    error = np.linalg.norm(matrix_to_axis_angle(np.swapaxes(solved, 1, 2) @ local), axis=1)
    assert error.max() <= 1e-4
    assert np.abs(hybrik.forward_points(skeleton, rest, solved) - target).max() <= 1e-6


def test_ik_without_twist_still_hits_every_point():
    skeleton = hybrik.smpl_skeleton(SMPL_PARENTS, SMPL_LEAVES, SMPL_CHAIN)
    rest = random_rest(29, skeleton.parents, 9)
    local = axis_angle_to_matrix(np.random.default_rng(1).normal(0, 0.5, (24, 3)))
    target = hybrik.forward_points(skeleton, rest, local)
    solved = hybrik.inverse_kinematics(skeleton, rest, target)
    posed = hybrik.forward_points(skeleton, rest, solved)

    def under_collar(point: int) -> bool:
        while point > 0:
            if point in (13, 14):
                return True
            point = skeleton.parents[point]
        return False

    # Swing alone places each followed child; spine3's twist (about the neck bone) is what places the
    # collars, so without it only their subtrees are off.
    chain = [p for p in range(29) if not under_collar(p)]
    assert np.abs(posed[chain] - target[chain]).max() <= 1e-6
    assert np.abs(posed[13] - target[13]).max() > 1e-3


def test_smplx_skeleton_with_fingers():
    leaves = {15: 55, 10: 56, 11: 57}
    leaves |= {tip: 58 + n for n, tip in enumerate(j for j in range(25, 55) if j % 3 == 0)}
    skeleton = hybrik.smpl_skeleton(SMPLX_PARENTS, leaves, {9: 12, 20: 31, 21: 46})
    rest = random_rest(len(skeleton.parents), skeleton.parents, 3)
    local = axis_angle_to_matrix(np.random.default_rng(2).normal(0, 0.4, (55, 3)))
    local[[22, 23, 24]] = np.eye(3)  # jaw and eyes have no child to aim: IK leaves them at rest
    target = hybrik.forward_points(skeleton, rest, local)
    solved = hybrik.inverse_kinematics(skeleton, rest, target, hybrik.twist_angles(skeleton, rest, local))
    assert np.abs(hybrik.forward_points(skeleton, rest, solved) - target).max() <= 1e-6


def test_twist_from_a_landmark_frame():
    """A side vector across the bone (ear to ear, say), observed after posing, gives the twist back."""
    skeleton = hybrik.smpl_skeleton(SMPL_PARENTS, SMPL_LEAVES, SMPL_CHAIN)
    rest = random_rest(29, skeleton.parents, 4)
    local = axis_angle_to_matrix(np.random.default_rng(5).normal(0, 0.6, (24, 3)))
    target = hybrik.forward_points(skeleton, rest, local)
    twist = hybrik.twist_angles(skeleton, rest, local)
    world = np.zeros((24, 3, 3))
    world[0] = local[0]
    for joint in range(1, 24):
        world[joint] = world[skeleton.parents[joint]] @ local[joint]
    rest_side = np.cross(rest[24] - rest[15], [0.0, 0.0, 1.0])  # across the head bone
    sides = {15: (rest_side, world[15] @ rest_side)}
    twist[15] = 0.0  # must come from the side vector
    solved = hybrik.inverse_kinematics(skeleton, rest, target, twist, sides=sides)
    error = np.linalg.norm(matrix_to_axis_angle(solved[15].T @ local[15]))
    assert error <= 1e-6
