"""Motion transfer between skeletons, as arrays (no bpy): the retarget's whole computation.

A target bone takes its source joint's world rotation times a constant offset. The offset carries the
target's rest onto the source's: both rests are read in their own body frame (left, back, up from
hips and shoulders), where each bone's direction is turned onto the source's (an A-pose arm onto a T-pose
one) by the smallest rotation, and bone rolls and axes cancel out. The hip joints' middle follows the source's,
scaled by the ratio of leg lengths above each one's floor; a foot in contact is then held in place by
two-bone IK.

Matrices are ``(..., 3, 3)`` rotations or ``(4, 4)`` transforms; positions metres; ``F`` frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.rotations import matrix_to_quaternion
from .retarget_presets import CHAIN_CHILD, FEET

ROOT_MOTION = ("ROOT", "HIPS", "IN_PLACE")
CONTACT_HEIGHT_M = 0.03  # derived contacts: at most this above the joint's lowest height in the clip...
CONTACT_SPEED_M_S = 0.25  # ...and slower than this
BLEND_FRAMES = 3  # the IK correction fades in and out over this many frames around a contact


@dataclass(frozen=True)
class Skeleton:
    """A rig at rest: ``rest (B, 4, 4)`` bone matrices in armature space (Blender's ``matrix_local``),
    ``parents (B,)`` indices (-1 root, parents first), ``world (4, 4)`` the armature object's matrix."""

    names: tuple[str, ...]
    parents: np.ndarray
    rest: np.ndarray
    world: np.ndarray

    def index(self, name: str) -> int:
        return self.names.index(name)


@dataclass(frozen=True)
class SourceMotion:
    """The source's joints in world space: ``rotations (F, J, 3, 3)`` global, ``positions (F, J, 3)``;
    ``rest_rotations (J, 3, 3)``, ``rest_positions (J, 3)``; ``contacts`` name -> ``(F,)`` in 0..1."""

    names: tuple[str, ...]
    parents: tuple[int, ...]
    rotations: np.ndarray
    positions: np.ndarray
    rest_rotations: np.ndarray
    rest_positions: np.ndarray
    fps: float
    contacts: dict[str, np.ndarray] = field(default_factory=dict)

    def joint_parents(self) -> dict[str, str | None]:
        """Joint -> its parent joint (None at the root), parents first."""
        return {name: self.names[p] if p >= 0 else None for name, p in zip(self.names, self.parents, strict=True)}


@dataclass(frozen=True)
class TargetMotion:
    """What to key: ``rotations`` bone -> ``(F, 4)`` quaternions (w, x, y, z) of the pose bones,
    ``locations`` bone -> ``(F, 3)``; ``positions (F, B, 3)`` heads and ``orientations (F, B, 3, 3)`` in
    armature space; ``contacts`` foot -> ``(F,)`` bool as used."""

    rotations: dict[str, np.ndarray]
    locations: dict[str, np.ndarray]
    positions: np.ndarray
    orientations: np.ndarray
    contacts: dict[str, np.ndarray]
    planted: dict[str, np.ndarray]


def body_frame(left: np.ndarray, right: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Columns: the body's left, backward and up axes (a right-handed frame), from its hips (``left``,
    ``right``) and its ``low`` -> ``high`` axis (pelvis to the shoulders' middle)."""
    side = _unit(left - right)
    up = _unit((high - low) - side * np.dot(high - low, side))
    return np.column_stack([side, np.cross(up, side), up])


def smallest_rotation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The rotation taking direction ``a (..., 3)`` onto ``b`` about their common normal."""
    a, b = _unit(a), _unit(b)
    axis = np.cross(a, b)
    sin, cos = np.linalg.norm(axis, axis=-1), np.sum(a * b, axis=-1)
    fallback = np.cross(a, np.where(np.abs(a[..., :1]) < 0.9, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]))
    axis = np.where(sin[..., None] > 1e-9, axis, fallback)
    return _axis_angle(_unit(axis), np.arctan2(sin, cos))


def _axis_angle(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    zero = np.zeros_like(x)
    cross = np.stack([np.stack([zero, -z, y], -1), np.stack([z, zero, -x], -1), np.stack([-y, x, zero], -1)], -2)
    sin, cos = np.sin(angle)[..., None, None], np.cos(angle)[..., None, None]
    return np.eye(3) + sin * cross + (1 - cos) * cross @ cross


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _rotation_part(matrix: np.ndarray) -> np.ndarray:
    """The rotation of a transform that may carry a uniform scale."""
    linear = matrix[:3, :3]
    return linear / np.cbrt(np.linalg.det(linear))


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:3, :3].T + matrix[:3, 3]


def rest_world(skeleton: Skeleton) -> tuple[np.ndarray, np.ndarray]:
    """World rest rotations ``(B, 3, 3)`` and heads ``(B, 3)``."""
    return _rotation_part(skeleton.world) @ skeleton.rest[:, :3, :3], _apply(skeleton.world, skeleton.rest[:, :3, 3])


def _frame_of(points: dict[str, np.ndarray]) -> np.ndarray:
    shoulders = (points["left_shoulder"] + points["right_shoulder"]) / 2
    return body_frame(points["left_hip"], points["right_hip"], points["pelvis"], shoulders)


def rest_offsets(source: SourceMotion, target: Skeleton, mapping: dict[str, str]) -> dict[str, np.ndarray]:
    """Per mapped joint, the constant ``O`` with target world rotation = source world rotation @ ``O``."""
    target_rotations, target_heads = rest_world(target)
    source_at = {name: source.rest_positions[j] for j, name in enumerate(source.names)}
    target_at = {joint: target_heads[target.index(bone)] for joint, bone in mapping.items()}
    source_frame, target_frame = _frame_of(source_at), _frame_of(target_at)
    turns: dict[str, np.ndarray] = {}
    offsets = {}
    for joint in _joints_parents_first(source, mapping):
        child = CHAIN_CHILD.get(joint)
        if child in mapping and child in source_at:
            turns[joint] = smallest_rotation(target_frame.T @ (target_at[child] - target_at[joint]),
                                             source_frame.T @ (source_at[child] - source_at[joint]))
        else:  # no bone to aim along (pelvis, hands without fingers, toes): keep the nearest aimed one's turn
            turns[joint] = _ancestor_turn(source, joint, turns)
        j = source.names.index(joint)
        offsets[joint] = source.rest_rotations[j].T @ source_frame @ turns[joint] @ target_frame.T @ \
            target_rotations[target.index(mapping[joint])]
    return offsets


def _ancestor_turn(source: SourceMotion, joint: str, turns: dict[str, np.ndarray]) -> np.ndarray:
    parent = source.parents[source.names.index(joint)]
    while parent >= 0:
        if source.names[parent] in turns:
            return turns[source.names[parent]]
        parent = source.parents[parent]
    return np.eye(3)


def _joints_parents_first(source: SourceMotion, mapping: dict[str, str]) -> list[str]:
    return [name for name in source.names if name in mapping]


def leg_length(points: dict[str, np.ndarray]) -> float:
    return float(np.mean([np.linalg.norm(points[f"{s}_knee"] - points[f"{s}_hip"])
                          + np.linalg.norm(points[f"{s}_ankle"] - points[f"{s}_knee"]) for s in ("left", "right")]))


def transfer(source: SourceMotion, target: Skeleton, mapping: dict[str, str], root_motion: str = "ROOT",
             keep_contacts: bool = True) -> TargetMotion:
    """The target's pose bones for every source frame (see the module's docstring); joints the source
    lacks (fingers of an SMPL body) are left out of ``mapping``."""
    mapping = {joint: bone for joint, bone in mapping.items() if joint in source.names}
    offsets = rest_offsets(source, target, mapping)
    turn = _rotation_part(target.world).T
    desired = {target.index(bone): turn @ source.rotations[:, source.names.index(joint)] @ offsets[joint]
               for joint, bone in mapping.items()}
    goals = root_goals(source, target, mapping, root_motion, desired)
    rotations, positions, _unposed = forward(target, desired, goals)
    contacts, planted = {}, {}
    if keep_contacts and len(source.positions) > 2:  # a photo's one pose has no contacts to hold
        for side in FEET:
            contacts[side], planted[side] = plant_foot(source, target, mapping, side, desired, rotations, positions)
    rotations, positions, unposed = forward(target, desired, goals)
    local = {target.names[k]: np.swapaxes(unposed[:, k], -1, -2) @ rotations[:, k] for k in desired}
    locations = {target.names[k]: np.einsum("fji,fj->fi", unposed[:, k],
                                            goal - _nominal(target, positions, rotations, k))
                 for k, goal in goals.items()}
    quaternions = continuous(matrix_to_quaternion(np.stack(list(local.values()), axis=1)))
    quaternions = dict(zip(local, np.moveaxis(quaternions, 1, 0), strict=True))
    return TargetMotion(quaternions, locations, positions, rotations, contacts, planted)


def drive_controls(motion: TargetMotion, anchors: Skeleton, controls: Skeleton, drives: dict[str, str]
                   ) -> TargetMotion:
    """The keys of a rig whose bones follow controls (Rigify's generated rig): ``motion`` is the transfer onto
    ``anchors`` (the bones that play the joints, e.g. ORG bones); each control in ``controls`` (parents =
    the control each one rigidly follows, -1 for the armature) is turned and placed so that the anchor it
    ``drives`` (control -> anchor name) lands where ``motion`` puts it. Locations are keyed only where a
    control has to move off its parent's place (more than 0.1 mm in some frame)."""
    frames = len(motion.positions)
    anchor_world = np.zeros((frames, len(anchors.names), 4, 4))
    anchor_world[..., :3, :3], anchor_world[..., :3, 3], anchor_world[..., 3, 3] = \
        motion.orientations, motion.positions, 1.0
    world = np.empty((frames, len(controls.names), 4, 4))
    local = {}
    for k, name in enumerate(controls.names):
        a = anchors.index(drives[name])
        world[:, k] = anchor_world[:, a] @ np.linalg.inv(anchors.rest[a]) @ controls.rest[k]
        parent = controls.parents[k]
        unposed = controls.rest[k] if parent < 0 else \
            world[:, parent] @ np.linalg.inv(controls.rest[parent]) @ controls.rest[k]
        local[name] = np.linalg.inv(unposed) @ world[:, k]
    quaternions = continuous(matrix_to_quaternion(np.stack([m[..., :3, :3] for m in local.values()], axis=1)))
    rotations = dict(zip(local, np.moveaxis(quaternions, 1, 0), strict=True))
    locations = {name: m[:, :3, 3] for name, m in local.items() if np.abs(m[:, :3, 3]).max() > 1e-4}
    return TargetMotion(rotations, locations, world[..., :3, 3], world[..., :3, :3], motion.contacts, motion.planted)


def continuous(quaternions: np.ndarray) -> np.ndarray:
    """``(F, ..., 4)`` with signs flipped so consecutive frames are in one hemisphere (the short way between
    keys); a running product of the sign changes, so no loop over frames."""
    flips = np.sum(quaternions[1:] * quaternions[:-1], axis=-1) < 0
    signs = np.cumprod(np.where(flips, -1.0, 1.0), axis=0)
    return np.concatenate([quaternions[:1], quaternions[1:] * signs[..., None]])


def forward(target: Skeleton, desired: dict[int, np.ndarray], goals: dict[int, np.ndarray]
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Armature-space rotations ``(F, B, 3, 3)``, heads ``(F, B, 3)`` and each bone's frame before its own
    pose (its parent's pose carried to its rest) ``(F, B, 3, 3)``: bones in ``desired`` take that rotation,
    bones in ``goals`` that head position, the others follow their parents."""
    frames = len(next(iter(desired.values())))
    count = len(target.names)
    rest_rotations, heads = target.rest[:, :3, :3], target.rest[:, :3, 3]
    rotations = np.empty((frames, count, 3, 3))
    positions = np.empty((frames, count, 3))
    unposed = np.empty((frames, count, 3, 3))
    for k, parent in enumerate(target.parents):
        if parent < 0:
            unposed[:, k] = rest_rotations[k]
            nominal = np.broadcast_to(heads[k], (frames, 3))
        else:
            carry = rotations[:, parent] @ rest_rotations[parent].T
            unposed[:, k] = carry @ rest_rotations[k]
            nominal = positions[:, parent] + carry @ (heads[k] - heads[parent])
        rotations[:, k] = desired[k] if k in desired else unposed[:, k]
        positions[:, k] = goals[k] if k in goals else nominal
    return rotations, positions, unposed


def _nominal(target: Skeleton, positions: np.ndarray, rotations: np.ndarray, k: int) -> np.ndarray:
    """Bone ``k``'s head where its parent puts it, before its own location."""
    parent = target.parents[k]
    heads = target.rest[:, :3, 3]
    if parent < 0:
        return np.broadcast_to(heads[k], positions[:, k].shape)
    carry = rotations[:, parent] @ target.rest[parent, :3, :3].T
    return positions[:, parent] + carry @ (heads[k] - heads[parent])


def root_goals(source: SourceMotion, target: Skeleton, mapping: dict[str, str], root_motion: str,
               desired: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    """Armature-space heads ``(F, 3)`` for the hips bone (and the root bone with ``ROOT``). The point that
    follows is the middle of the hip joints (rigs put their hips bone anywhere from below the thighs to the
    navel): the source's travel scaled by the legs' ratio, its height above each one's floor scaled the same
    way; the hips bone's head is then placed from it with the hips' rotation (``desired``). World Z is up."""
    if root_motion not in ROOT_MOTION:
        raise ValueError(f"root motion is one of {ROOT_MOTION}, not {root_motion!r}")
    _rotations, heads = rest_world(target)
    target_at = {joint: heads[target.index(bone)] for joint, bone in mapping.items()}
    source_at = {name: source.rest_positions[j] for j, name in enumerate(source.names)}
    scale = leg_length(target_at) / leg_length(source_at)
    feet = [joint for pair in FEET.values() for joint in pair if joint in mapping and joint in source.names]
    source_floor = np.percentile(source.positions[:, [source.names.index(j) for j in feet], 2].min(axis=1), 2)
    target_floor = min(target_at[joint][2] for joint in feet)
    hips = source.positions[:, [source.names.index("left_hip"), source.names.index("right_hip")]].mean(axis=1)
    travel = scale * (hips[:, :2] - hips[0, :2]) if root_motion != "IN_PLACE" else np.zeros((len(hips), 2))
    middle = np.empty_like(hips)
    middle[:, :2] = (target_at["left_hip"][:2] + target_at["right_hip"][:2]) / 2 + travel
    middle[:, 2] = target_floor + scale * (hips[:, 2] - source_floor)
    to_armature = np.linalg.inv(target.world)
    hips_bone = target.index(mapping["pelvis"])
    rest = target.rest[hips_bone]
    below = _apply(to_armature, (target_at["left_hip"] + target_at["right_hip"]) / 2) - rest[:3, 3]
    goals = {hips_bone: _apply(to_armature, middle) - desired[hips_bone] @ (rest[:3, :3].T @ below)}
    root = hips_bone
    while target.parents[root] >= 0:
        root = int(target.parents[root])
    if root_motion == "ROOT" and root != hips_bone:
        root_goal = np.broadcast_to(heads[root], middle.shape).copy()
        root_goal[:, :2] += travel
        goals = {root: _apply(to_armature, root_goal), **goals}
    return goals


def foot_contacts(source: SourceMotion, side: str) -> tuple[np.ndarray, np.ndarray]:
    """Heel and toe contact ``(F,)`` bool: the source's ``contact_<side>_heel/toe`` curves where it has them,
    else low and slow joints (ankle for the heel, the toe joint for the toe)."""
    found = []
    for part, joint in zip(("heel", "toe"), FEET[side], strict=True):
        values = source.contacts.get(f"contact_{side}_{part}")
        if values is not None:
            found.append(np.asarray(values) > 0.5)
            continue
        path = source.positions[:, source.names.index(joint)]
        height = path[:, 2] - np.percentile(path[:, 2], 2)
        speed = np.linalg.norm(np.gradient(path, axis=0), axis=-1) * source.fps
        found.append((height < CONTACT_HEIGHT_M) & (speed < CONTACT_SPEED_M_S))
    return found[0], found[1]


def plant_foot(source: SourceMotion, target: Skeleton, mapping: dict[str, str], side: str,
               desired: dict[int, np.ndarray], rotations: np.ndarray, positions: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Hold the target's foot where the source's is in contact: the contacted point (ankle for the heel, toe
    bone for the toe) stays at its mean position over each contact, by turning thigh and shin (two-bone IK);
    the foot keeps its world rotation. Updates ``desired``; returns contact ``(F,)`` and planted point ``(F, 3)``
    (NaN where free), both in armature space."""
    heel, toe = foot_contacts(source, side)
    thigh, shin, foot = (target.index(mapping[f"{side}_{j}"]) for j in ("hip", "knee", "ankle"))
    toe_bone = target.index(mapping[f"{side}_foot"]) if f"{side}_foot" in mapping else None
    if toe_bone is None:
        heel, toe = heel | toe, np.zeros_like(toe)
    toe_only = toe & ~heel
    point = np.where(toe_only[:, None], positions[:, toe_bone if toe_bone is not None else foot], positions[:, foot])
    planted = np.full_like(point, np.nan)
    for first, last in contact_runs(heel) + contact_runs(toe_only):
        planted[first:last] = point[first:last].mean(axis=0)
    contact = heel | toe_only
    correction = np.where(contact[:, None], planted - point, 0.0)
    correction = _fade(correction, contact)
    moving = np.flatnonzero(np.linalg.norm(correction, axis=-1) > 1e-7)
    if len(moving):
        hip, knee, ankle = positions[moving, thigh], positions[moving, shin], positions[moving, foot]
        first, second = two_bone_ik(hip, knee, ankle, ankle + correction[moving], rotations[moving, thigh])
        desired[thigh] = desired[thigh].copy()
        desired[shin] = desired[shin].copy()
        desired[thigh][moving] = first @ rotations[moving, thigh]
        desired[shin][moving] = second @ first @ rotations[moving, shin]
    return contact, planted


def contact_runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """``[first, last)`` of each run of True."""
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def _fade(correction: np.ndarray, contact: np.ndarray) -> np.ndarray:
    """Carry each contact's correction a few frames beyond it, fading, so the foot eases in and out."""
    faded = correction.copy()
    for distance in range(1, BLEND_FRAMES + 1):
        weight = 1 - distance / (BLEND_FRAMES + 1)
        for shift in (distance, -distance):
            source = np.roll(correction, shift, axis=0) * weight
            valid = np.roll(contact, shift)
            if shift > 0:
                valid[:shift] = False
            else:
                valid[shift:] = False
            free = ~contact & valid & (np.linalg.norm(faded, axis=-1) < np.linalg.norm(source, axis=-1))
            faded[free] = source[free]
    return faded


def two_bone_ik(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, goal: np.ndarray, thigh: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Rotations ``(N, 3, 3)`` for the thigh and then the shin (applied after the thigh's) that bring the
    ankle to ``goal`` (as close as the leg reaches), the knee staying in its bending plane."""
    upper, lower = np.linalg.norm(knee - hip, axis=-1), np.linalg.norm(ankle - knee, axis=-1)
    reach = goal - hip
    distance = np.clip(np.linalg.norm(reach, axis=-1), np.abs(upper - lower) + 1e-6, upper + lower - 1e-6)
    along = _unit(reach)
    across = (knee - hip) - along * np.sum((knee - hip) * along, axis=-1, keepdims=True)
    straight = np.linalg.norm(across, axis=-1, keepdims=True) < 1e-6
    fallback = thigh[..., :, 2] - along * np.sum(thigh[..., :, 2] * along, axis=-1, keepdims=True)
    across = _unit(np.where(straight, fallback, across))
    x = (upper**2 - lower**2 + distance**2) / (2 * distance)
    y = np.sqrt(np.maximum(upper**2 - x**2, 0.0))
    new_knee = hip + along * x[:, None] + across * y[:, None]
    first = smallest_rotation(knee - hip, new_knee - hip)
    second = smallest_rotation(np.einsum("nij,nj->ni", first, ankle - knee), goal - new_knee)
    return first, second
