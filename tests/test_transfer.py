"""The retarget's array part (scene/transfer.py, no Blender): rotations, frames, IK, presets."""

from __future__ import annotations

import numpy as np
import pytest

from pocket_mocap.core.rotations import axis_angle_to_matrix, matrix_to_quaternion
from pocket_mocap.scene.retarget_presets import PRESETS, REQUIRED, detect_preset, match_preset, missing_required
from pocket_mocap.scene.transfer import body_frame, continuous, smallest_rotation, two_bone_ik


def test_smallest_rotation_turns_a_onto_b_about_their_normal():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(200, 3)), rng.normal(size=(200, 3))
    b[0] = a[0] * 3  # the same direction
    b[1] = -a[1]  # opposite: any half turn will do
    turn = smallest_rotation(a, b)
    assert turn.shape == (200, 3, 3)
    assert np.allclose(turn @ np.swapaxes(turn, -1, -2), np.eye(3), atol=1e-9)
    assert np.allclose(np.linalg.det(turn), 1.0)
    turned = np.einsum("nij,nj->ni", turn, a / np.linalg.norm(a, axis=-1, keepdims=True))
    assert np.allclose(turned, b / np.linalg.norm(b, axis=-1, keepdims=True), atol=1e-9)
    axis = np.cross(a[2:], b[2:])
    assert np.allclose(np.einsum("nij,nj->ni", turn[2:], axis), axis, atol=1e-9), "the normal stays put"


def test_body_frame_is_a_rotation_with_left_back_up():
    frame = body_frame(np.array([0.1, 0.0, 0.9]), np.array([-0.1, 0.0, 0.9]), np.array([0.0, 0.0, 0.9]),
                       np.array([0.0, -0.05, 1.4]))
    assert np.allclose(frame.T @ frame, np.eye(3)) and np.linalg.det(frame) == pytest.approx(1.0)
    assert np.allclose(frame[:, 0], [1, 0, 0]), "left from the right hip to the left one"
    assert np.allclose(frame[:, 2], [0, -0.0995, 0.995], atol=1e-4), "up from the pelvis to the shoulders"
    assert frame[1, 1] > 0.99, "back: a body whose left is +X and up +Z faces -Y"


def test_continuous_keeps_consecutive_quaternions_in_one_hemisphere():
    rng = np.random.default_rng(1)
    angles = np.cumsum(rng.normal(0, 0.2, (500, 3, 3)), axis=0)
    quaternions = matrix_to_quaternion(axis_angle_to_matrix(angles))  # w >= 0: jumps at half turns
    quaternions *= rng.choice([-1.0, 1.0], (500, 3, 1))
    smooth = continuous(quaternions)
    assert smooth.shape == (500, 3, 4)
    assert (np.sum(smooth[1:] * smooth[:-1], axis=-1) >= 0).all()
    assert np.allclose(np.abs(np.sum(smooth * quaternions, axis=-1)), 1.0), "same rotations"


def test_two_bone_ik_reaches_the_goal_and_keeps_the_bones_and_the_bend():
    rng = np.random.default_rng(2)
    hip = np.zeros((100, 3))
    knee = np.array([0.0, -0.05, -0.45]) + rng.normal(0, 0.02, (100, 3))
    ankle = knee + np.array([0.0, 0.04, -0.42])
    goal = ankle + rng.normal(0, 0.05, (100, 3))
    first, second = two_bone_ik(hip, knee, ankle, goal, np.broadcast_to(np.eye(3), (100, 3, 3)))
    new_knee = hip + np.einsum("nij,nj->ni", first, knee - hip)
    new_ankle = new_knee + np.einsum("nij,nj->ni", second @ first, ankle - knee)
    reach = np.linalg.norm(knee - hip, axis=-1) + np.linalg.norm(ankle - knee, axis=-1)
    reachable = np.linalg.norm(goal - hip, axis=-1) < reach - 1e-3
    assert np.abs(new_ankle - goal)[reachable].max() <= 1e-6
    assert np.allclose(np.linalg.norm(new_ankle - new_knee, axis=-1), np.linalg.norm(ankle - knee, axis=-1))
    bend = np.cross(knee - hip, ankle - hip)
    new_bend = np.cross(new_knee - hip, new_ankle - hip)
    assert (np.sum(bend * new_bend, axis=-1)[reachable] > 0).all(), "the knee bends the same way"


def test_every_preset_names_the_required_joints_and_detection_picks_it():
    for name, (_label, candidates) in PRESETS.items():
        assert not missing_required({joint: names[0] for joint, names in candidates.items()}), name
        bones = [names[0] for names in candidates.values()]
        assert detect_preset(bones)[0] == name
    assert match_preset(PRESETS["mixamo"][1], ["mixamorig1:Hips", "LeftUpLeg"]) == \
        {"pelvis": "mixamorig1:Hips", "left_hip": "LeftUpLeg"}, "namespaces and prefixes do not matter"
    assert missing_required({}) == list(REQUIRED)
