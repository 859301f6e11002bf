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


def test_drive_controls_keys_controls_that_put_each_anchor_where_the_motion_does():
    """Controls with their own rests (turned and moved off the anchors) and a parent chain: keying them as
    computed, then posing them as Blender does, puts the anchors back where the motion put them."""
    from pocket_mocap.scene.transfer import Skeleton, TargetMotion, drive_controls

    rng = np.random.default_rng(3)

    def transform(rotation: np.ndarray, head) -> np.ndarray:
        matrix = np.eye(4)
        matrix[:3, :3], matrix[:3, 3] = rotation, head
        return matrix

    anchor_rest = np.array([transform(np.eye(3), [0, 0, 1]), transform(axis_angle_to_matrix(np.array([0.3, 0, 0])),
                                                                        [0.1, 0, 1.4])])
    anchors = Skeleton(("hips", "chest"), np.array([-1, 0]), anchor_rest, np.eye(4))
    offsets = [transform(axis_angle_to_matrix(rng.normal(size=3)), rng.normal(0, 0.1, 3)) for _ in range(2)]
    controls = Skeleton(("torso_ctrl", "chest_ctrl"), np.array([-1, 0]),
                        np.array([anchor_rest[k] @ offsets[k] for k in range(2)]), np.eye(4))
    frames = 20
    orientations = axis_angle_to_matrix(rng.normal(0, 0.5, (frames, 2, 3)))
    positions = rng.normal(0, 0.3, (frames, 2, 3))
    motion = TargetMotion({}, {}, positions, orientations, {}, {})
    keys = drive_controls(motion, anchors, controls, {"torso_ctrl": "hips", "chest_ctrl": "chest"})

    def basis(name: str) -> np.ndarray:
        from pocket_mocap.core.rotations import quaternion_to_axis_angle

        matrices = np.tile(np.eye(4), (frames, 1, 1))
        matrices[:, :3, :3] = axis_angle_to_matrix(quaternion_to_axis_angle(keys.rotations[name]))
        matrices[:, :3, 3] = keys.locations.get(name, np.zeros((frames, 3)))
        return matrices

    torso = controls.rest[0] @ basis("torso_ctrl")
    chest = torso @ np.linalg.inv(controls.rest[0]) @ controls.rest[1] @ basis("chest_ctrl")
    for k, world in enumerate((torso, chest)):
        anchor = world @ np.linalg.inv(offsets[k])
        assert np.allclose(anchor[:, :3, :3], orientations[:, k], atol=1e-9)
        assert np.allclose(anchor[:, :3, 3], positions[:, k], atol=1e-9)
    assert np.all(np.sum(keys.rotations["chest_ctrl"][1:] * keys.rotations["chest_ctrl"][:-1], axis=-1) >= 0)


def test_fit_chest_takes_the_bone_the_collars_hang_from():
    from pocket_mocap.scene.retarget_presets import fit_chest

    spine = ["spine", "spine.001", "spine.002", "spine.003", "spine.004", "spine.005", "spine.006"]
    chain = {bone: (spine[i - 1] if i else None) for i, bone in enumerate(spine)}
    mapping = {"pelvis": "spine", "spine1": "spine.001", "spine2": "spine.002", "spine3": "spine.003",
               "neck": "spine.004", "head": "spine.006", "left_collar": "shoulder.L", "right_collar": "shoulder.R"}
    meta_rig = {**chain, "shoulder.L": "spine.003", "shoulder.R": "spine.003"}  # Blender's Rigify meta-rig
    assert fit_chest(mapping, meta_rig) == mapping
    makehuman = {**chain, "shoulder.L": "spine.004", "shoulder.R": "spine.004"}  # MPFB2's Rigify layout
    assert fit_chest(mapping, makehuman) == {**mapping, "spine3": "spine.004", "neck": "spine.005"}
    unreal5 = {"pelvis": None, "spine_01": "pelvis", "spine_02": "spine_01", "spine_03": "spine_02",
               "spine_04": "spine_03", "spine_05": "spine_04", "neck_01": "spine_05", "head": "neck_01",
               "clavicle_l": "spine_05", "clavicle_r": "spine_05"}
    ue = {"pelvis": "pelvis", "spine3": "spine_03", "neck": "neck_01", "head": "head", "left_collar": "clavicle_l",
          "right_collar": "clavicle_r"}
    assert fit_chest(ue, unreal5) == {**ue, "spine3": "spine_05"}
    lopsided = {**makehuman, "shoulder.R": "spine.003"}  # collars on different bones: left as the preset says
    assert fit_chest(mapping, lopsided) == mapping


def test_control_choice_takes_the_deepest_rigid_carrier_and_leaves_out_disturbed_joints():
    """As on Rigify's generated rig: the thigh's ORG bone is carried rigidly by the torso and by its FK control
    (the deeper one is keyed); spine1's bone is carried by the pelvis's control as well as its own, which the pelvis
    control does not carry, so spine1 is left out; a required bone with no rigid carrier is named."""
    pytest.importorskip("bpy")
    from pocket_mocap.scene.controls import _choose_drivers

    joint_parents = {"pelvis": None, "left_hip": "pelvis", "spine1": "pelvis", "left_knee": "left_hip"}
    mapping = {"pelvis": "ORG-spine", "left_hip": "ORG-thigh", "spine1": "ORG-spine.001", "left_knee": "ORG-shin"}
    upstream = {"ORG-spine": ["spine_fk", "torso"], "ORG-thigh": ["thigh_fk", "spine_fk", "torso"],
                "ORG-spine.001": ["spine_fk.001", "torso"], "ORG-shin": ["ik_target"]}
    rigid = "rigid"
    carries = {"torso": {b: rigid for b in ("ORG-spine", "ORG-thigh", "ORG-spine.001", "spine_fk", "thigh_fk",
                                             "spine_fk.001")},
               "spine_fk": {"ORG-spine": rigid, "ORG-thigh": rigid, "thigh_fk": rigid, "ORG-spine.001": rigid},
               "thigh_fk": {"ORG-thigh": rigid},
               "spine_fk.001": {"ORG-spine.001": rigid},
               "ik_target": {"ORG-shin": "moved"}}
    drives, dropped, unreachable = _choose_drivers(mapping, upstream, carries, joint_parents)
    assert drives == {"ORG-spine": "spine_fk", "ORG-thigh": "thigh_fk"}
    assert dropped == ["spine1"] and unreachable == ["ORG-shin"]
