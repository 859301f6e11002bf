"""Any skeleton's joint positions -> the open body's SMPL-X body rotations (the HybrIK solve of retarget.py).

``retarget.py`` reads the CC_Base rig's bone frames, which at rest are world-aligned on an upright body. The
other formats (ASF/AMC, cgspeed and Daz BVH, DeepMimic, FBX) rest in other poses with other bone axes, so
here everything comes from **points** named by a per-format map (``rigs.py``), in a world with Y up where
the rig's rest pose faces +Z. Per frame:

1. **Trunk** (pelvis, spine1-3, neck, head): each joint's segment frame from points on it, ``up`` along it
   and ``lateral`` (right to left) across it, Gram-Schmidt, taken **relative to the same frame in the rig's
   rest pose**: ``R = F(t) F_rest^T``. A trunk bone's direction is ``R`` applied to the open body's rest bone,
   so the rigs' different rest curvature (pelvis tilt, spine bend) is not carried into the poses, exactly as
   retarget.py does with the CC frames. Spine pieces with nothing across them take a blend of the pelvis's
   and the chest's lateral directions.
2. **Limbs**: bone directions between the mapped points (collar to toes and hand ends), except the bones a
   map turns with a rig segment from rest like the trunk (``RigMap.relative``: clavicles, the Daz forearm).
3. **Twists** (``sides``, the direction across each bone that ``hybrik.side_twist`` turns to):

   * trunk: the frame's +X;
   * forearm and hand: across the hand (little-finger side to thumb side); foot: little to big toe side; from
     two landmarks, or where a rig has none, the hand's or foot's turn from rest applied to the open body's
     rest direction;
   * thigh and shin: the knee's hinge axis ``cross(thigh, shin)`` where the knee bends more than
     ``BENT_DEG[1]``; where it is straight (under ``BENT_DEG[0]``) the axis comes from the foot,
     ``cross(foot, shin)``, turned about the shin by the angle between the two, interpolated in time between
     the frames bent more than ``CALIBRATION_DEG`` (toe-out and foot roll differ per person and move slowly);
     in between, a blend;
   * upper arm: likewise from the elbow's ``cross(upper arm, forearm)``, falling back on the hand's across
     direction turned by the interpolated angle (pronation; the open body's rest angle if the clip never
     bends its elbow).

The output is ``retarget.ClipFrames``, so ``retarget.canonical`` and ``retarget.retarget`` apply unchanged;
``solve`` is retarget.py's solve run over all frames at once. ``compare_with_frames`` measures this path
against retarget.py on CC_Base clips, ``aligned_joint_errors`` one take read from two formats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.bodymodel.joints import SMPLX_NAMES
from core.ik import hybrik
from core.rotations import axis_angle_to_matrix

from . import retarget
from .rigs import Lerp, Marker, Point, RigMap

BENT_DEG = (5.0, 15.0)  # hinge axis from the bone cross product: not below the first, fully above the second
CALIBRATION_DEG = 20.0  # frames bent more than this give the fallback's angle, interpolated between them
CALIBRATION_FRAMES = 3
LEAF_KEYS = ("left_hand_end", "right_hand_end", "left_toes", "right_toes")  # points 23..26 (22: head top)
TRUNK = ("pelvis", "spine1", "spine2", "spine3", "neck", "head")


@dataclass(frozen=True)
class RigMotion:
    """F frames of P named points of a skeleton, metres, Y up, its rest pose facing +Z (left +X)."""

    source: str
    names: tuple[str, ...]  # (P,)
    positions: np.ndarray  # (F, P, 3)
    rotations: np.ndarray  # (F, P, 3, 3): the turn, from rest, of the segment each point is fixed on
    rest: np.ndarray  # (P, 3) the rest pose
    fps: float

    @property
    def frames(self) -> int:
        return len(self.positions)

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f'{self.source} has no point "{name}".') from None

    def select(self, frames: np.ndarray) -> RigMotion:
        """The same motion at the given frame indices."""
        return RigMotion(self.source, self.names, self.positions[frames], self.rotations[frames], self.rest,
                         self.fps)


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


def _angles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle in degrees between rows of ``a`` and ``b`` ``(..., 3)``."""
    cosine = np.sum(_unit(a) * _unit(b), axis=-1)
    return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))


def _perpendicular(vectors: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """Unit part of ``vectors (F, 3)`` across unit ``axes (F, 3)``."""
    return _unit(vectors - np.sum(vectors * axes, axis=-1, keepdims=True) * axes)


def _signed_angles(a: np.ndarray, b: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """Angle (radians) about unit ``axes (F, 3)`` turning ``a`` onto ``b`` (both seen across the axes)."""
    a, b = _perpendicular(a, axes), _perpendicular(b, axes)
    return np.arctan2(np.sum(np.cross(a, b) * axes, axis=-1), np.sum(a * b, axis=-1))


def _turn(vectors: np.ndarray, axes: np.ndarray, angles: np.ndarray | float) -> np.ndarray:
    """Rodrigues: ``vectors (F, 3)`` turned about unit ``axes (F, 3)`` by ``angles`` radians."""
    angles = np.broadcast_to(np.asarray(angles, np.float64), (len(vectors),))[:, None]
    return (vectors * np.cos(angles) + np.cross(axes, vectors) * np.sin(angles)
            + axes * np.sum(axes * vectors, axis=-1, keepdims=True) * (1 - np.cos(angles)))


class _Points:
    """Evaluates map points on a motion (``rest=True``: on its rest pose, one frame)."""

    def __init__(self, motion: RigMotion, rest: bool = False):
        self.motion = motion
        if rest:
            self.positions = motion.rest[None]
            self.rotations = np.broadcast_to(np.eye(3), (1, len(motion.names), 3, 3))
        else:
            self.positions, self.rotations = motion.positions, motion.rotations

    def __call__(self, point: Point) -> np.ndarray:
        """``(F, 3)``."""
        if isinstance(point, str):
            return self.positions[:, self.motion.index(point)]
        if isinstance(point, Lerp):
            a, b = self(point.a), self(point.b)
            return a + point.t * (b - a)
        if isinstance(point, Marker):
            anchor = self.motion.index(point.anchor)
            return self.positions[:, anchor] + self.rotations[:, anchor] @ np.asarray(point.offset, np.float64)
        raise TypeError(f"Not a map point: {point!r}.")


def point_track(motion: RigMotion, point: Point, rest: bool = False) -> np.ndarray:
    """A map point over the motion's frames ``(F, 3)`` (``rest``: on its rest pose, ``(1, 3)``)."""
    return _Points(motion, rest)(point)


def _frames(points: _Points, rig_map: RigMap) -> dict[str, np.ndarray]:
    """Trunk segment frames ``(F, 3, 3)`` (columns: lateral, up, forward), explicit laterals before blends."""
    frames = {}
    order = sorted(TRUNK, key=lambda joint: rig_map.trunk[joint].blend is not None)
    for joint in order:
        spec = rig_map.trunk[joint]
        up = _unit(points(spec.up[1]) - points(spec.up[0]))
        if spec.blend is None:
            lateral = points(spec.lateral[1]) - points(spec.lateral[0])
        else:
            a, b, t = spec.blend
            if a not in frames or b not in frames:
                raise ValueError(f"{rig_map.name}: the {joint} frame blends {a} and {b}, which must have laterals.")
            lateral = (1 - t) * frames[a][:, :, 0] + t * frames[b][:, :, 0]
        x = _perpendicular(lateral, up)
        frames[joint] = np.stack([x, up, np.cross(x, up)], axis=-1)
    return frames


def trunk_rotations(motion: RigMotion, rig_map: RigMap) -> dict[str, np.ndarray]:
    """Per trunk joint, the turn ``(F, 3, 3)`` of its segment frame from the rig's rest pose."""
    now, rest = _frames(_Points(motion), rig_map), _frames(_Points(motion, rest=True), rig_map)
    return {joint: now[joint] @ rest[joint][0].T for joint in TRUNK}


def _hinge_side(upper: np.ndarray, lower: np.ndarray, fallback: np.ndarray, default_angle: float) -> np.ndarray:
    """The hinge axis between ``upper`` and ``lower`` bones ``(F, 3)`` (F frames in time order), across
    ``lower``: their cross product where bent; where straight, ``fallback`` turned about ``lower`` by the angle
    from it to the cross product, interpolated in time between the clearly bent frames (held before the
    first and after the last; ``default_angle`` radians if fewer than ``CALIBRATION_FRAMES`` are bent)."""
    axis = _unit(lower)
    cross = np.cross(upper, lower)
    bend = _angles(upper, lower)
    bent = np.flatnonzero(bend > CALIBRATION_DEG)
    angle = np.full(len(bend), default_angle)
    if len(bent) >= CALIBRATION_FRAMES:
        turns = np.unwrap(_signed_angles(fallback[bent], cross[bent], axis[bent]))
        angle = np.interp(np.arange(len(bend)), bent, turns)
    estimate = _perpendicular(_turn(fallback, axis, angle), axis)
    weight = np.clip((bend - BENT_DEG[0]) / (BENT_DEG[1] - BENT_DEG[0]), 0.0, 1.0)[:, None]
    return _unit(weight * _perpendicular(cross, axis) + (1 - weight) * estimate)


def _rest_angle(rig: retarget.OpenRig, fallback_joint: int, hinge_joint: int, bone_joint: int) -> float:
    """On the open body at rest: the angle about ``bone_joint``'s bone from ``fallback_joint``'s side to
    ``hinge_joint``'s (the default fallback turn when a clip never bends the hinge)."""
    bone = rig.rest[rig.skeleton.child[bone_joint]] - rig.rest[bone_joint]
    return hybrik.side_twist(rig.rest_sides[fallback_joint], rig.rest_sides[hinge_joint], bone / np.linalg.norm(bone))


def clip_frames(motion: RigMotion, rig_map: RigMap, rig: retarget.OpenRig) -> retarget.ClipFrames:
    """Bone directions, root orientations and twist directions of every frame of ``motion``."""
    points = _Points(motion)
    turns = trunk_rotations(motion, rig_map)
    turning = {SMPLX_NAMES.index(joint): turns[joint] for joint in TRUNK}
    turning.update({SMPLX_NAMES.index(joint): motion.rotations[:, motion.index(segment)]
                    for joint, segment in rig_map.relative.items()})
    keys = list(SMPLX_NAMES[:retarget.BODY_JOINTS]) + ["head_top", *LEAF_KEYS]
    parents = rig.skeleton.parents
    tracks = {key: points(rig_map.limbs[key]) for key in keys if key in rig_map.limbs}
    directions = np.zeros((motion.frames, len(parents), 3))
    for point, parent in enumerate(parents[1:], start=1):
        if parent in turning:
            rest_bone = rig.rest[point] - rig.rest[parent]
            directions[:, point] = turning[parent] @ (rest_bone / np.linalg.norm(rest_bone))
        else:
            directions[:, point] = _unit(tracks[keys[point]] - tracks[keys[parent]])
    sides = {SMPLX_NAMES.index(joint): turn[:, :, 0] for joint, turn in turns.items()}
    for side in ("left", "right"):
        index = {j: SMPLX_NAMES.index(f"{side}_{j}") for j in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle",
                                                               "foot")}
        hand = _across(motion, points, rig_map.hand_across[side], rig.rest_sides[index["elbow"]])
        foot = _across(motion, points, rig_map.foot_across[side], rig.rest_sides[index["ankle"]])
        bone = {j: directions[:, i] for j, i in index.items()}  # the bone ending at each joint
        sides[index["elbow"]] = sides[index["wrist"]] = hand
        sides[index["ankle"]] = foot
        sides[index["shoulder"]] = _hinge_side(bone["elbow"], bone["wrist"], hand,
                                               _rest_angle(rig, index["elbow"], index["shoulder"], index["elbow"]))
        sides[index["hip"]] = sides[index["knee"]] = _hinge_side(
            bone["knee"], bone["ankle"], np.cross(bone["foot"], bone["ankle"]), _foot_rest_angle(rig, side))
    return retarget.ClipFrames(directions, turns["pelvis"].copy(), sides)


def _across(motion: RigMotion, points: _Points, across, rest_side: np.ndarray) -> np.ndarray:
    """A direction across the hand or foot ``(F, 3)``: between two points, or a segment's turn applied to the
    open body's rest direction (``rest_side``)."""
    if isinstance(across, str):
        return motion.rotations[:, motion.index(across)] @ rest_side
    return points(across[1]) - points(across[0])


def _foot_rest_angle(rig: retarget.OpenRig, side: str) -> float:
    """On the open body at rest: the angle about the shin from ``cross(foot, shin)`` to the knee's side."""
    knee, ankle, foot = (SMPLX_NAMES.index(f"{side}_{j}") for j in ("knee", "ankle", "foot"))
    shin = rig.rest[ankle] - rig.rest[knee]
    estimate = np.cross(rig.rest[foot] - rig.rest[ankle], shin)
    return hybrik.side_twist(estimate, rig.rest_sides[knee], shin / np.linalg.norm(shin))


def _swing_rotations(rest: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """``hybrik.swing_rotation`` for one rest direction ``(3,)`` and many targets ``(F, 3)``: ``(F, 3, 3)``."""
    a = rest / (np.linalg.norm(rest) + 1e-12)
    b = targets / (np.linalg.norm(targets, axis=1, keepdims=True) + 1e-12)
    axis = np.cross(a, b)
    sine, cosine = np.linalg.norm(axis, axis=1), b @ a
    parallel = sine < 1e-12
    safe = np.where(parallel, 1.0, sine)[:, None]
    out = axis_angle_to_matrix(axis / safe * np.arctan2(sine, cosine)[:, None])
    if np.any(parallel & (cosine > 0)):
        out[parallel & (cosine > 0)] = np.eye(3)
    if np.any(parallel & (cosine <= 0)):
        out[parallel & (cosine <= 0)] = hybrik.swing_rotation(a, -a)
    return out


def solve(rig: retarget.OpenRig, frames: retarget.ClipFrames) -> np.ndarray:
    """``retarget.solve`` for all frames at once (joint by joint, each step over every frame): local rotations
    ``(F, 22, 3, 3)``; the same numbers to 1e-9 (tested), tens of times faster on long clips."""
    skeleton, rest = rig.skeleton, rig.rest
    count = len(frames.root)
    local = np.empty((count, retarget.BODY_JOINTS, 3, 3))
    world = np.empty_like(local)
    local[:, 0] = world[:, 0] = frames.root
    for joint in range(1, retarget.BODY_JOINTS):
        parent, child = skeleton.parents[joint], skeleton.child[joint]
        bone = rest[child] - rest[joint]
        rotation = _swing_rotations(bone, np.einsum("fba,fb->fa", world[:, parent], frames.directions[:, child]))
        if joint in frames.sides:
            axis = bone / np.linalg.norm(bone)
            seen = np.einsum("fba,fb->fa", rotation, np.einsum("fba,fb->fa", world[:, parent], frames.sides[joint]))
            rest_side = rig.rest_sides[joint]
            swung = np.broadcast_to(rest_side - axis * (rest_side @ axis), seen.shape)
            wanted = seen - np.outer(seen @ axis, axis)
            angle = np.arctan2(np.cross(swung, wanted) @ axis, np.sum(swung * wanted, axis=1))
            rotation = rotation @ axis_angle_to_matrix(angle[:, None] * axis)
        local[:, joint] = rotation
        world[:, joint] = world[:, parent] @ rotation
    return local


@dataclass(frozen=True)
class Agreement:
    """This path against retarget.py's frame path on the same frames (F frames)."""

    bone_deg: np.ndarray  # (F, 26) angle between the two paths' bone directions (points 1..26)
    joint_mm: np.ndarray  # (F, 22) posed open-body joint distance, pelvis at the origin
    vertex_mm: np.ndarray  # (F,) mean posed vertex distance (shows twist)
    rotation_deg: np.ndarray  # (F, 22) angle of each joint's local rotation difference


def compare_with_frames(model, rig: retarget.OpenRig, frame_path: retarget.ClipFrames,
                        position_path: retarget.ClipFrames) -> Agreement:
    """Solve both paths' (canonical) frames and measure how far the posed open bodies are apart."""
    bone = _angles(frame_path.directions[:, 1:], position_path.directions[:, 1:])
    local = [solve(rig, frames) for frames in (frame_path, position_path)]
    poses = []
    for rotations in local:
        full = np.zeros((len(rotations), len(SMPLX_NAMES), 3), np.float32)
        full[:, :retarget.BODY_JOINTS] = retarget.body_poses(rotations)
        poses.append(full)
    posed = [model.pose(p.reshape(len(p), -1), pose_correctives=False) for p in poses]
    joints = [p.joints[:, :retarget.BODY_JOINTS] - p.joints[:, :1] for p in posed]
    vertices = [p.vertices - p.joints[:, :1] for p in posed]
    difference = np.einsum("fjba,fjbc->fjac", local[0], local[1])
    cosine = (np.trace(difference, axis1=2, axis2=3) - 1) / 2
    return Agreement(bone, 1000 * np.linalg.norm(joints[0] - joints[1], axis=2),
                     1000 * np.linalg.norm(vertices[0] - vertices[1], axis=2).mean(axis=1),
                     np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))))


def posed_joints(model, rig: retarget.OpenRig, frames: retarget.ClipFrames) -> np.ndarray:
    """The open body posed by the IK of ``frames``: body joints ``(F, 22, 3)`` metres, pelvis at the origin."""
    poses = np.zeros((len(frames.root), len(SMPLX_NAMES), 3), np.float32)
    poses[:, :retarget.BODY_JOINTS] = retarget.body_poses(solve(rig, frames))
    joints = model.pose(poses.reshape(len(poses), -1), pose_correctives=False).joints
    return (joints[:, :retarget.BODY_JOINTS] - joints[:, :1]).astype(np.float64)


def aligned_joint_errors(model, rig: retarget.OpenRig, reference: retarget.ClipFrames, other: retarget.ClipFrames,
                         max_shift: int = 90) -> tuple[np.ndarray, int]:
    """The same take read from two formats (both canonical, same frame rate): the shift of ``other`` (frames,
    within ``max_shift``) that best matches the retargeted skeletons, and the posed open bodies' joint
    distances ``(F', 22)`` in mm over the overlap."""
    a = retarget.retarget(reference, rig).reshape(len(reference.root), -1)
    b = retarget.retarget(other, rig).reshape(len(other.root), -1)
    best, best_shift = np.inf, 0
    for shift in range(-max_shift, max_shift + 1):
        start, stop = max(0, shift), min(len(a), len(b) + shift)
        if stop - start < min(len(a), len(b)) // 2:
            continue
        cost = np.mean(np.abs(a[start:stop] - b[start - shift:stop - shift]))
        if cost < best:
            best, best_shift = cost, shift
    start, stop = max(0, best_shift), min(len(a), len(b) + best_shift)

    def part(frames: retarget.ClipFrames, rows: np.ndarray) -> retarget.ClipFrames:
        return retarget.ClipFrames(frames.directions[rows], frames.root[rows],
                                   {j: s[rows] for j, s in frames.sides.items()})

    rows = np.arange(start, stop)
    ours = posed_joints(model, rig, part(reference, rows))
    theirs = posed_joints(model, rig, part(other, rows - best_shift))
    return 1000 * np.linalg.norm(ours - theirs, axis=2), best_shift
