"""Position-based retargeting: the open body retargeted onto itself is exact (rest-relative trunk frames, twist
sides, hinge axes, the batched solve); on the CC_Base clips it agrees with the frame-based retarget.py; the
same CMU take read from another format lands close to the CC_Base clip."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

pytest.importorskip("scipy")  # not in the Blender-5 test environment (it runs the blender tests only)

from core.bodymodel import lbs  # noqa: E402
from core.bodymodel.joints import SMPLX_NAMES, SMPLX_PARENTS  # noqa: E402
from core.bodymodel.library import load_body  # noqa: E402
from core.rotations import axis_angle_to_matrix  # noqa: E402
from training.synth import mocap_sources, retarget  # noqa: E402
from training.synth import retarget_positions as positions  # noqa: E402
from training.synth.bvh import load_bvh  # noqa: E402
from training.synth.poses import default_mocap  # noqa: E402
from training.synth.rigs import MAPS, Marker, RigMap, TrunkFrame  # noqa: E402

MOCAP = default_mocap()
needs_bvh = pytest.mark.skipif(not (MOCAP / "bvh").is_dir(), reason=f"the CMU BVH clips are not at {MOCAP}")
needs_extra = pytest.mark.skipif(not (MOCAP / "extra" / "index.csv").is_file(),
                                 reason=f"the extra CMU motion is not at {MOCAP / 'extra'}")
SIDES = ("left", "right")


@pytest.fixture(scope="module")
def model():
    return load_body("open", "smplx")


@pytest.fixture(scope="module")
def rig(model):
    return retarget.open_rig(model)


def _open_body_map(rig) -> RigMap:
    """The open body's own joints as a rig: markers on every trunk segment, the toe leaf as a marker."""
    def frame(joint: str) -> TrunkFrame:
        return TrunkFrame(up=(joint, Marker(joint, (0.0, 0.1, 0.0))),
                          lateral=(Marker(joint, (-0.1, 0.0, 0.0)), Marker(joint, (0.1, 0.0, 0.0))))

    limbs = {}
    for side in SIDES:
        for joint in ("hip", "knee", "ankle", "foot", "collar", "shoulder", "elbow", "wrist"):
            limbs[f"{side}_{joint}"] = f"{side}_{joint}"
        limbs[f"{side}_hand_end"] = f"{side}_middle1"
        foot = SMPLX_NAMES.index(f"{side}_foot")
        toe = rig.rest[25 if side == "left" else 26] - rig.rest[foot]
        limbs[f"{side}_toes"] = Marker(f"{side}_foot", tuple(toe))
    return RigMap("open", limbs, {j: frame(j) for j in positions.TRUNK},
                  {side: f"{side}_wrist" for side in SIDES}, {side: f"{side}_ankle" for side in SIDES})


def _open_body_motion(model, local: np.ndarray) -> positions.RigMotion:
    """The open body posed by local rotations ``(F, 55, 3, 3)`` as points with their segments' turns."""
    rest = model.rest_joints().astype(np.float64)
    world = lbs.world_transforms(local, np.broadcast_to(rest, (len(local), *rest.shape)).copy(), SMPLX_PARENTS)
    return positions.RigMotion("open body", tuple(SMPLX_NAMES), world[:, :, :3, 3], world[:, :, :3, :3], rest, 30.0)


def _random_local(rig, rng, count: int, knee_deg, elbow_deg) -> np.ndarray:
    """Local rotations ``(count, 55, 3, 3)``: a free root, trunk, hips, shoulders and ankles; knees and elbows
    pure hinges about the open body's flexion axes (``knee_deg``, ``elbow_deg`` per frame); collars, feet,
    wrists and the rest zero."""
    local = np.broadcast_to(np.eye(3), (count, 55, 3, 3)).copy()
    for name, spread in (("pelvis", 1.0), ("spine1", 0.3), ("spine2", 0.3), ("spine3", 0.3), ("neck", 0.3),
                         ("head", 0.3), ("left_hip", 0.6), ("right_hip", 0.6), ("left_shoulder", 0.7),
                         ("right_shoulder", 0.7), ("left_ankle", 0.3), ("right_ankle", 0.3)):
        local[:, SMPLX_NAMES.index(name)] = axis_angle_to_matrix(rng.normal(0, spread, (count, 3)))
    for side in SIDES:
        knee, shoulder, elbow = (SMPLX_NAMES.index(f"{side}_{j}") for j in ("knee", "shoulder", "elbow"))
        local[:, knee] = axis_angle_to_matrix(np.radians(knee_deg)[:, None] * rig.rest_sides[knee])
        local[:, elbow] = axis_angle_to_matrix(np.radians(elbow_deg)[:, None] * rig.rest_sides[shoulder])
    return local


def _angles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle (degrees) of ``a^T b`` for rotation stacks ``(..., 3, 3)``."""
    cosine = (np.trace(np.einsum("...ba,...bc->...ac", a, b), axis1=-2, axis2=-1) - 1) / 2
    return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))


LEGS = [SMPLX_NAMES.index(f"{side}_{j}") for side in SIDES for j in ("hip", "knee", "ankle")]
REST = [j for j in range(22) if j not in LEGS]


def _check_exact(solved: np.ndarray, truth: np.ndarray, legs_deg: float = 2.0) -> None:
    """Every joint exact but the legs, within ``legs_deg``: the knee's hinge is read as ``cross(thigh, shin)``,
    which is the open body's flexion axis only where the rest thigh is square to it (1.6 deg off here)."""
    error = _angles(solved, truth[:, :22])
    assert error[:, REST].max() < 0.01, SMPLX_NAMES[REST[int(np.argmax(error[:, REST].max(axis=0)))]]
    assert error[:, LEGS].max() < legs_deg


def test_the_open_body_onto_itself_comes_back(model, rig):
    """The 22 local rotations come back, twists included, when knees and elbows bend; a wrist's turn about
    the hand goes to the forearm (as in retarget.py) but the hand's orientation is exact."""
    rng = np.random.default_rng(0)
    count = 40
    truth = _random_local(rig, rng, count, rng.uniform(20, 100, count), rng.uniform(20, 100, count))
    frames = positions.clip_frames(_open_body_motion(model, truth), _open_body_map(rig), rig)
    solved = positions.solve(rig, frames)
    _check_exact(solved, truth)
    assert np.abs(retarget.solve(rig, frames) - solved).max() < 1e-9, "the batched solve is retarget.solve"
    for side in SIDES:
        truth[:, SMPLX_NAMES.index(f"{side}_wrist")] = axis_angle_to_matrix(rng.normal(0, 0.5, (count, 3)))
    motion = _open_body_motion(model, truth)
    solved = positions.solve(rig, positions.clip_frames(motion, _open_body_map(rig), rig))
    world = lbs.world_transforms(solved, np.broadcast_to(rig.rest[:22], (count, 22, 3)).copy(), SMPLX_PARENTS[:22])
    for side in SIDES:
        wrist = SMPLX_NAMES.index(f"{side}_wrist")
        assert _angles(world[:, wrist, :3, :3], motion.rotations[:, wrist]).max() < 0.01


def test_straight_knees_and_elbows_keep_the_twist_of_the_bent_frames(model, rig):
    """Where a knee or elbow is straight, the thigh's and upper arm's twist come from the foot and the hand,
    turned by the angle seen in the bent frames around them: right when that angle does not change."""
    rng = np.random.default_rng(1)
    count = 12
    bend = np.array([60, 50, 40, 0, 0, 0, 3, 0, 45, 60, 70, 80], float)
    truth = _random_local(rig, rng, 1, bend[:1], bend[:1]).repeat(count, axis=0)
    for side in SIDES:
        knee, shoulder, elbow = (SMPLX_NAMES.index(f"{side}_{j}") for j in ("knee", "shoulder", "elbow"))
        truth[:, knee] = axis_angle_to_matrix(np.radians(bend)[:, None] * rig.rest_sides[knee])
        truth[:, elbow] = axis_angle_to_matrix(np.radians(bend)[:, None] * rig.rest_sides[shoulder])
    frames = positions.clip_frames(_open_body_motion(model, truth), _open_body_map(rig), rig)
    _check_exact(positions.solve(rig, frames), truth, legs_deg=4.0)  # the bent frames' offset carries over


def test_hinge_axes_interpolate_between_bent_frames():
    """Straight frames get the fallback turned by the angle from fallback to hinge, interpolated in time
    between the bent frames."""
    count = 7
    lower = np.tile([0.0, -1.0, 0.0], (count, 1))
    axis = lower
    bend = np.radians([40, 40, 0, 0, 0, 40, 40])
    upper = np.stack([np.zeros(count), -np.cos(bend), np.sin(bend)], axis=1)  # cross(upper, lower) is +X
    offset = np.radians([10, 10, 0, 70, 0, 50, 50])  # the fallback lies this far from the hinge (straight: any)
    fallback = positions._turn(np.tile([1.0, 0.0, 0.0], (count, 1)), axis, -offset)
    side = positions._hinge_side(upper, lower, fallback, 0.0)
    bent = bend > 0
    assert np.allclose(side[bent], [1, 0, 0], atol=1e-9)
    interpolated = np.radians([10, 10, 20, 30, 40, 50, 50])
    expected = positions._turn(np.tile([1.0, 0.0, 0.0], (count, 1)), axis, interpolated - offset)
    assert np.allclose(side[~bent], expected[~bent], atol=1e-9)


@needs_bvh
@pytest.mark.parametrize("clip", ["007/007_02", "002/002_05"])
def test_position_path_agrees_with_the_frame_path_on_cc_base(model, rig, clip):
    """The CC_Base name map through positions against retarget.py's frames (measured over all 61 clips in
    docs/synth_poses.md: posed joints 0.17 mm median, 3.4 mm 95th)."""
    motion = load_bvh(MOCAP / "bvh" / f"{clip}.bvh")
    frames = mocap_sources.sample_indices(motion.frames, motion.fps, 30.0)
    frame_path = retarget.canonical(retarget.clip_frames(motion, rig, frames))
    points = mocap_sources.facing_z(mocap_sources.bvh_points(motion, 0.01, frames, 30.0), MAPS["cc-base"])
    position_path = retarget.canonical(positions.clip_frames(points, MAPS["cc-base"], rig))
    found = positions.compare_with_frames(model, rig, frame_path, position_path)
    assert np.median(found.bone_deg) < 0.05 and np.percentile(found.bone_deg, 95) < 1.5
    assert np.percentile(found.joint_mm, 95) < 5.0 and found.joint_mm.max() < 25.0
    assert np.median(found.vertex_mm) < 2.5
    limbs = [SMPLX_NAMES.index(f"{side}_{j}") for side in SIDES for j in ("knee", "ankle", "wrist")]
    assert np.median(found.rotation_deg[:, limbs]) < 1.0, "shin, foot and hand twists match"


def _same_take(model, rig, source: str, trial: str) -> tuple[np.ndarray, int]:
    clips = [c for c in mocap_sources.find_sources(MOCAP, ["cc-base", source]) if c.trial == trial]
    cc, other = (next(c for c in clips if (c.source == "cc-base") == want) for want in (True, False))
    motion = load_bvh(cc.path)
    reference = retarget.canonical(retarget.clip_frames(
        motion, rig, mocap_sources.sample_indices(motion.frames, motion.fps, 30.0)))
    sampled = mocap_sources.read_fbx_points([other])[0][0] if other.reader == "fbx" else \
        mocap_sources.read_points(other)
    theirs = retarget.canonical(positions.clip_frames(sampled.points, MAPS[sampled.clip.rig], rig))
    return positions.aligned_joint_errors(model, rig, reference, theirs)


@needs_bvh
@needs_extra
@pytest.mark.parametrize("source, trial, median_mm", [
    ("cmu-asfamc-maxxgx", "02_01", 30), ("cmu-cgspeed-06", "06_01", 30), ("cmu-daz-przestr", "07_03", 45),
    ("cmu-deepmimic-jump", "07_03", 35),
    pytest.param("cmu-small-extras", "07_01", 35, marks=pytest.mark.skipif(
        importlib.util.find_spec("bpy") is None, reason="FBX needs the bpy module")),
])
def test_the_same_take_in_another_format_lands_near_the_cc_clip(model, rig, source, trial, median_mm):
    """Measured (docs/synth_poses.md): ASF 21.5 mm median over 32 takes, cgspeed 18.9, Daz 32.3, DeepMimic
    25.9, FBX 18.4; the CC_Base clips are themselves a retarget (HumanIK), so this bounds both."""
    errors, shift = _same_take(model, rig, source, trial)
    assert abs(shift) <= 3 and len(errors) > 40
    assert np.median(errors) < median_mm and np.percentile(errors, 95) < 3 * median_mm
