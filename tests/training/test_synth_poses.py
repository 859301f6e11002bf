"""Poses from the CMU clips: the open body posed by the IK reproduces the clip's bones, bends knees and elbows
the anatomical way, agrees with core IK; mirroring, subsampling, random hands and faces; the CLI's file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("scipy")  # not in the Blender-5 test environment (it runs the blender tests only)

from core.bodymodel import lbs  # noqa: E402
from core.bodymodel.joints import SMPLX_NAMES, SMPLX_PARENTS  # noqa: E402
from core.bodymodel.library import load_body  # noqa: E402
from core.ik import hybrik  # noqa: E402
from core.rotations import axis_angle_to_matrix  # noqa: E402
from training.synth import poses as bank_module  # noqa: E402
from training.synth import retarget  # noqa: E402
from training.synth.bvh import forward_kinematics, load_bvh, parse_bvh  # noqa: E402
from training.synth.poses import (  # noqa: E402
    apply_heading,
    expression_flip,
    find_clips,
    finger_axes,
    load_pose_bank,
    main,
    mirror_poses,
    sample_expressions,
    sample_finger_poses,
    subsample,
)

MOCAP = bank_module.default_mocap()
needs_mocap = pytest.mark.skipif(not (MOCAP / "bvh").is_dir(), reason=f"the CMU BVH clips are not at {MOCAP}")
WALK = "bvh/007/007_02.bvh"
LIMB_PAIRS = (("hip", "Thigh"), ("knee", "Calf"), ("ankle", "Foot"), ("foot", "ToeBase"), ("collar", "Clavicle"),
              ("shoulder", "Upperarm"), ("elbow", "Forearm"), ("wrist", "Hand"), ("middle1", "Mid1"))
LIMB_CHAINS = ((0, 1), (1, 2), (2, 3), (4, 5), (5, 6), (6, 7), (7, 8))  # bones as index pairs into LIMB_PAIRS
# SMPL-X bone "parent->joint" -> the CC joints whose FK positions give the clip's bone.
LIMBS = {f"{side}_{LIMB_PAIRS[a][0]}->{side}_{LIMB_PAIRS[b][0]}": (f"{s}_{LIMB_PAIRS[a][1]}", f"{s}_{LIMB_PAIRS[b][1]}")
         for side, s in retarget.SIDES for a, b in LIMB_CHAINS}


@pytest.fixture(scope="module")
def model():
    return load_body("open", "smplx")


@pytest.fixture(scope="module")
def rig(model):
    return retarget.open_rig(model)


def posed_joints(model, poses: np.ndarray) -> np.ndarray:
    """The open body's own forward kinematics (not the IK's): ``poses (F, 55, 3)`` -> joints ``(F, 55, 3)``."""
    joints = np.broadcast_to(model.rest_joints(), poses.shape).astype(np.float64)
    world = lbs.world_transforms(axis_angle_to_matrix(poses.astype(np.float64)), joints, SMPLX_PARENTS)
    return world[:, :, :3, 3]


@pytest.fixture(scope="module")
def walk(model, rig):
    """Every 4th frame of a walk: the clip's canonical frames, its raw FK, and the open body posed."""
    motion = load_bvh(MOCAP / WALK)
    frames = np.arange(0, motion.frames, 4)
    canonical = retarget.canonical(retarget.clip_frames(motion, rig, frames))
    poses = np.zeros((len(frames), 55, 3), np.float32)
    poses[:, :22] = retarget.body_poses(retarget.solve(rig, canonical))
    positions, rotations = forward_kinematics(motion, frames)
    unturn = retarget.yaw_matrices(-retarget.heading(rotations[:, motion.index("CC_Base_Hip")]))
    clip = {name[len(retarget.CC):]: np.einsum("fab,fb->fa", unturn, positions[:, i])
            for i, name in enumerate(motion.names)}
    return canonical, clip, poses, posed_joints(model, poses)


def _angles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    cosine = np.sum(a * b, axis=-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return np.degrees(np.arccos(np.clip(cosine, -1, 1)))


@needs_mocap
def test_posed_limbs_follow_the_clips_bones(walk):
    """Every limb bone of the posed open body points where the clip's raw FK positions say (heading removed)."""
    _, clip, _, joints = walk
    for bone, (a, b) in LIMBS.items():
        start, end = (SMPLX_NAMES.index(name) for name in bone.split("->"))
        error = _angles(joints[:, end] - joints[:, start], clip[b] - clip[a])
        assert error.max() < 0.5, f"{bone}: {error.max():.2f} deg"


@needs_mocap
def test_hands_and_head_turn_like_the_clips(walk):
    """Twist: across the hand (pinky to index knuckle) and the head (eye to eye), seen perpendicular to the
    hand and the neck-head bone, the posed open body matches the clip's FK joints. The eyes are not used by
    the solve, so they check that the CC head frame's +X is the left at rest."""
    _, clip, _, joints = walk

    def across(vector, bone):
        bone = bone / np.linalg.norm(bone, axis=1, keepdims=True)
        return vector - np.sum(vector * bone, axis=1, keepdims=True) * bone

    for side, s in retarget.SIDES:
        hand = joints[:, SMPLX_NAMES.index(f"{side}_middle1")] - joints[:, SMPLX_NAMES.index(f"{side}_wrist")]
        ours = joints[:, SMPLX_NAMES.index(f"{side}_index1")] - joints[:, SMPLX_NAMES.index(f"{side}_pinky1")]
        theirs = clip[f"{s}_Index1"] - clip[f"{s}_Pinky1"]
        assert _angles(across(ours, hand), across(theirs, hand)).max() < 2, side
    neck = joints[:, SMPLX_NAMES.index("head")] - joints[:, SMPLX_NAMES.index("neck")]
    eyes = joints[:, SMPLX_NAMES.index("left_eye_smplhf")] - joints[:, SMPLX_NAMES.index("right_eye_smplhf")]
    assert _angles(across(eyes, neck), across(clip["L_Eye"] - clip["R_Eye"], neck)).max() < 2


@needs_mocap
def test_trunk_follows_the_clips_frames(walk, model, rig):
    """Trunk bones turn with the CC frames: the posed open body's spine-to-head bones equal the clip frame
    applied to the open body's rest bone."""
    canonical, _, _, joints = walk
    for joint, child in (("spine1", "spine2"), ("spine2", "spine3"), ("spine3", "neck"), ("neck", "head")):
        a, b = SMPLX_NAMES.index(joint), SMPLX_NAMES.index(child)
        error = _angles(joints[:, b] - joints[:, a], canonical.directions[:, b])
        assert error.max() < 0.5, f"{joint}->{child}: {error.max():.2f} deg"


@needs_mocap
def test_walking_knees_bend_forward_and_elbows_flex_forward(walk, model, rig):
    """Where a knee bends over 20 deg, it lies in front of the hip-ankle line (the body faces +Z); where an
    elbow bends over 30 deg, its hinge axis in the upper arm's frame is the open body's (-Y left, +Y right)."""
    _, _, poses, joints = walk
    for side in ("left", "right"):
        hip, knee, ankle = (joints[:, SMPLX_NAMES.index(f"{side}_{j}")] for j in ("hip", "knee", "ankle"))
        bent = _angles(knee - hip, ankle - knee) > 20
        assert bent.sum() >= 5, "the walk bends its knees"
        line = ankle - hip
        along = np.sum((knee - hip) * line, axis=1, keepdims=True) / np.sum(line * line, axis=1, keepdims=True)
        assert np.all((knee - hip - along * line)[bent, 2] > 0.01), f"{side} knee bends backward"
        # and as a hinge: the knee's local rotation turns about +X (the thigh is not twisted round)
        axis = poses[bent, SMPLX_NAMES.index(f"{side}_knee")]
        assert np.all(_angles(axis, np.array([1.0, 0.0, 0.0])) < 25), f"{side} knee is not a +X hinge"
    motion = load_bvh(MOCAP / "bvh/002/002_05.bvh")  # punches: elbows bend a lot
    canonical = retarget.canonical(retarget.clip_frames(motion, rig, np.arange(0, motion.frames, 5)))
    boxing = np.zeros((len(canonical.root), 55, 3), np.float32)
    boxing[:, :22] = retarget.body_poses(retarget.solve(rig, canonical))
    joints = posed_joints(model, boxing)
    world = lbs.world_transforms(axis_angle_to_matrix(boxing.astype(np.float64)),
                                 np.broadcast_to(model.rest_joints(), boxing.shape).astype(np.float64), SMPLX_PARENTS)
    for side, expected in (("left", (0, -1, 0)), ("right", (0, 1, 0))):
        shoulder, elbow, wrist = (SMPLX_NAMES.index(f"{side}_{j}") for j in ("shoulder", "elbow", "wrist"))
        upper, fore = joints[:, elbow] - joints[:, shoulder], joints[:, wrist] - joints[:, elbow]
        bent = _angles(upper, fore) > 30
        assert bent.sum() >= 10
        hinge = np.einsum("fba,fb->fa", world[bent, shoulder, :3, :3], np.cross(upper[bent], fore[bent]))
        assert np.median(_angles(hinge, np.array(expected, float))) < 15, f"{side} elbow flexes the wrong way"


@needs_mocap
def test_solve_agrees_with_core_inverse_kinematics(walk, rig):
    """Feeding the posed skeleton to hybrik.inverse_kinematics (root and sides given) returns the rotations."""
    canonical, _, poses, _ = walk
    local = axis_angle_to_matrix(poses[:, :22].astype(np.float64))
    for frame in range(0, len(local), 7):
        posed = hybrik.forward_points(rig.skeleton, rig.rest, local[frame])
        sides = {j: (rig.rest_sides[j], side[frame]) for j, side in canonical.sides.items()}
        again = hybrik.inverse_kinematics(rig.skeleton, rig.rest, posed, root=local[frame, 0], sides=sides)
        assert np.abs(again - local[frame]).max() < 1e-5


@needs_mocap
def test_stored_hinges_match_a_recalibration():
    motions = [load_bvh(MOCAP / "bvh/002/002_05.bvh"), load_bvh(MOCAP / WALK)]
    for frame, axis in retarget.calibrate_hinges(motions).items():
        assert _angles(np.array(axis), np.array(retarget.CC_HINGES[frame])) < 3, frame


def test_mirroring_twice_is_identity_and_mirrors_the_body(model):
    rng = np.random.default_rng(0)
    poses = rng.normal(0, 0.4, (4, 55, 3)).astype(np.float32)
    assert np.array_equal(mirror_poses(mirror_poses(poses)), poses)
    flip = [SMPLX_NAMES.index(n.replace("left_", "#").replace("right_", "left_").replace("#", "right_"))
            for n in SMPLX_NAMES]
    mirrored = posed_joints(model, mirror_poses(poses))
    expected = posed_joints(model, poses)[:, flip] * np.array([-1.0, 1.0, 1.0])
    assert np.abs(mirrored - expected).max() < 1e-3, "the open body is symmetric to 0.05 mm"
    names = model.expression_names
    twin = expression_flip(names)
    assert np.array_equal(twin[twin], np.arange(len(names)))
    assert names[twin[names.index("eyeBlinkLeft")]] == "eyeBlinkRight" and twin[names.index("jawOpen")] == \
        names.index("jawOpen")


def test_subsampling_removes_duplicates_and_keeps_distinct_rows():
    rng = np.random.default_rng(1)
    distinct = rng.uniform(-1, 1, (200, 12))
    features = np.concatenate([distinct, distinct[:50], distinct[:50] + 0.001])
    kept = subsample(features, 0.01)
    assert kept.tolist() == list(range(200)), "exact and near copies go, distinct rows stay"
    spaced = np.arange(10, dtype=float)[:, None] * np.array([[0.02, 0, 0]])
    assert subsample(spaced, 0.03).tolist() == [0, 2, 4, 6, 8], "greedy in order, Chebyshev radius"


def test_random_hands_stay_within_limits_and_curl_towards_the_palm(model):
    axes = finger_axes(model.rest_joints().astype(np.float64))
    hands = sample_finger_poses(np.random.default_rng(2), 500, axes)
    assert hands.shape == (500, 30, 3) and hands.dtype == np.float32
    flexion = np.einsum("njc,jc->nj", hands, axes.flexion)  # the spread axis is orthogonal to flexion
    assert np.all(flexion <= axes.limits[:, 1] + 1e-4) and np.all(flexion >= axes.limits[:, 0] - np.radians(13))
    poses = np.zeros((500, 55, 3), np.float32)
    poses[:, 25:] = hands
    joints = posed_joints(model, poses)
    rest = model.rest_joints()
    tip = SMPLX_NAMES.index("left_middle3")
    assert np.mean(joints[:, tip, 1] < rest[tip, 1]) > 0.7, "fingers curl down, towards the palm"


def test_random_faces_are_sparse_and_in_range(model):
    values = sample_expressions(np.random.default_rng(3), 1000, model.expression_names)
    assert values.shape == (1000, 52) and values.min() >= 0 and values.max() <= 1
    neutral = np.mean(values.max(axis=1) == 0)
    assert 0.2 < neutral < 0.4 and np.median((values > 0).sum(axis=1)) <= 6


def test_missing_mocap_folder_is_named(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        find_clips(tmp_path / "nowhere")
    assert main(["--out", str(tmp_path / "bank.npz"), "--mocap", str(tmp_path / "nowhere")]) == 2
    assert "nowhere does not exist" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="no pose bank"):
        load_pose_bank(tmp_path / "bank.npz")


@needs_mocap
def test_cli_writes_the_documented_bank(tmp_path):
    out = tmp_path / "poses.npz"
    assert main(["--out", str(out), "--mocap", str(MOCAP), "--clips", "007_02,002_01"]) == 0
    bank = load_pose_bank(out)
    count = len(bank["poses"])
    assert count % 2 == 0 and 40 < count < 335 * 2
    shapes = {"poses": (count, 55, 3), "heading": (count,), "expressions": (count, 52), "clip": (count,),
              "frame": (count,), "mirrored": (count,), "ik_error_deg": (count,)}
    assert {key: bank[key].shape for key in shapes} == shapes
    assert bank["poses"].dtype == np.float32 and bank["expressions"].dtype == np.float32
    assert bank["mirrored"].dtype == bool and bank["mirrored"].sum() == count // 2
    assert set(bank["clip"]) == {"007_02", "002_01"} and bank["ik_error_deg"].max() < 0.5
    assert np.all(np.abs(bank["heading"]) <= np.pi) and np.all(bank["poses"][:, 22:25] == 0), "jaw, eyes zero"
    half = count // 2
    unturned = apply_heading(bank["poses"], -bank["heading"])
    root = axis_angle_to_matrix(unturned[:, 0].astype(np.float64))
    assert np.abs(retarget.heading(root)).max() < 1e-4, "without the heading every pose faces +Z"
    assert np.abs(mirror_poses(unturned[half:])[:, :22] - unturned[:half, :22]).max() < 1e-4
    assert "frames read" in str(bank["report"]) and "mocap.cs.cmu.edu" in str(bank["acknowledgement"])
    assert Path(out).stat().st_size < 5_000_000


def test_a_clip_on_another_rig_is_refused(rig):
    other = parse_bvh("HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\nCHANNELS 3 Xposition Yposition Zposition\n"
                      "End Site\n{\nOFFSET 0 1 0\n}\n}\nMOTION\nFrames: 1\nFrame Time: 0.1\n0 0 0\n", "other.bvh")
    with pytest.raises(ValueError, match=r"^other\.bvh is not on the CC_Base rig: it lacks CC_Base_\w+ and \d+ other"):
        retarget.clip_frames(other, rig)
