"""Analytic inverse kinematics in the manner of HybrIK: swing from the child joint, twist given.

Each joint's local rotation is ``R = swing · twist``: the swing is the smallest rotation taking the
rest bone to its child onto the target direction (seen from the parent's posed frame), the twist a
rotation by ``phi`` about the rest bone. The root is solved by orthogonal Procrustes on its children.
Rest and target skeletons include leaf points (head top, hand and toe tips) so that every joint has a
child. Shapes: N points (joints then leaves), J joints (J <= N).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..rotations import axis_angle_to_matrix


@dataclass(frozen=True)
class Skeleton:
    """A kinematic tree with leaves: ``parents`` for N points; ``child[j]`` the point that aims joint j."""

    parents: tuple[int, ...]  # (N,), -1 for the root
    child: tuple[int, ...]  # (J,): for each joint, the point whose direction its swing follows
    root_children: tuple[int, ...]  # points used for the root's Procrustes fit

    @property
    def joints(self) -> int:
        return len(self.child)


def smpl_skeleton(parents: tuple[int, ...], leaves: dict[int, int], chain_child: dict[int, int]) -> Skeleton:
    """A skeleton from body-model ``parents`` (J), ``leaves`` {parent joint: new point} and the child each
    joint follows where it has several (``chain_child``)."""
    joint_count = len(parents)
    all_parents = list(parents) + [0] * len(leaves)
    for parent, point in leaves.items():
        all_parents[point] = parent
    child = []
    for joint in range(joint_count):
        if joint in chain_child:
            child.append(chain_child[joint])
        elif joint in leaves:
            child.append(leaves[joint])
        else:  # -1: nothing to aim at (SMPL-X jaw, eyes): the joint keeps its given twist only
            child.append(next((c for c in range(joint_count) if parents[c] == joint), -1))
    root_children = tuple(c for c in range(joint_count) if parents[c] == 0)
    return Skeleton(tuple(all_parents), tuple(child), root_children)


def swing_rotation(rest: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Smallest rotation taking direction ``rest (3,)`` onto direction ``target (3,)``: ``(3, 3)``."""
    a = rest / (np.linalg.norm(rest) + 1e-12)
    b = target / (np.linalg.norm(target) + 1e-12)
    axis = np.cross(a, b)
    sine, cosine = np.linalg.norm(axis), float(np.dot(a, b))
    if sine < 1e-12:
        if cosine > 0:
            return np.eye(3)
        ortho = np.cross(a, [1.0, 0.0, 0.0] if abs(a[0]) < 0.9 else [0.0, 1.0, 0.0])
        return axis_angle_to_matrix(ortho / np.linalg.norm(ortho) * np.pi)
    return axis_angle_to_matrix(axis / sine * np.arctan2(sine, cosine))


def twist_angle(rotation: np.ndarray, axis: np.ndarray) -> float:
    """The twist of ``rotation (3, 3)`` about unit ``axis (3,)`` in its swing-twist decomposition."""
    swing = swing_rotation(axis, rotation @ axis)
    twist = swing.T @ rotation
    reference = np.cross(axis, [1.0, 0.0, 0.0] if abs(axis[0]) < 0.9 else [0.0, 1.0, 0.0])
    turned = twist @ reference
    return float(np.arctan2(np.dot(np.cross(reference, turned), axis), np.dot(reference, turned)))


def procrustes_rotation(rest: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotation R minimising ``|R rest_i - target_i|``: ``rest, target: (K, 3)`` -> ``(3, 3)``."""
    u, _, vt = np.linalg.svd(target.T @ rest)
    d = np.sign(np.linalg.det(u @ vt))
    return u @ np.diag([1.0, 1.0, d]) @ vt


def side_twist(swung_side: np.ndarray, wanted_side: np.ndarray, axis: np.ndarray) -> float:
    """Angle about unit ``axis`` turning ``swung_side`` onto ``wanted_side`` (both projected off the axis)."""
    a = swung_side - axis * np.dot(swung_side, axis)
    b = wanted_side - axis * np.dot(wanted_side, axis)
    return float(np.arctan2(np.dot(np.cross(a, b), axis), np.dot(a, b)))


def inverse_kinematics(skeleton: Skeleton, rest: np.ndarray, target: np.ndarray,
                       twist: np.ndarray | None = None, root: np.ndarray | None = None,
                       sides: dict[int, tuple[np.ndarray, np.ndarray]] | None = None) -> np.ndarray:
    """Local rotations ``(J, 3, 3)`` that pose ``rest (N, 3)`` onto ``target (N, 3)`` (both root-relative).

    ``twist: (J,)`` radians about each rest bone (0 where unknown); ``root`` overrides the root rotation;
    ``sides: {joint: (rest_side (3,), target_side (3,))}`` gives a joint its twist from a landmark frame
    instead: a direction across the bone (ear to ear, index to pinky knuckle) at rest and as observed.
    """
    sides = sides or {}
    joints = skeleton.joints
    twist = np.zeros(joints) if twist is None else twist
    local = np.zeros((joints, 3, 3))
    world = np.zeros((joints, 3, 3))
    posed = np.zeros_like(rest)
    children = list(skeleton.root_children)
    local[0] = root if root is not None else procrustes_rotation(rest[children] - rest[0], target[children] - target[0])
    world[0] = local[0]
    posed[0] = target[0]
    for joint in range(1, joints):
        parent = skeleton.parents[joint]
        posed[joint] = posed[parent] + world[parent] @ (rest[joint] - rest[parent])
        if skeleton.child[joint] < 0:
            local[joint] = np.eye(3)
            world[joint] = world[parent]
            continue
        bone = rest[skeleton.child[joint]] - rest[joint]
        wanted = world[parent].T @ (target[skeleton.child[joint]] - posed[joint])
        axis = bone / (np.linalg.norm(bone) + 1e-12)
        swing = swing_rotation(bone, wanted)
        angle = twist[joint]
        if joint in sides:
            rest_side, target_side = sides[joint]
            angle = side_twist(rest_side, swing.T @ (world[parent].T @ target_side), axis)
        local[joint] = swing @ axis_angle_to_matrix(axis * angle)
        world[joint] = world[parent] @ local[joint]
    return local


def twist_angles(skeleton: Skeleton, rest: np.ndarray, local: np.ndarray) -> np.ndarray:
    """The twists ``(J,)`` of given local rotations about their rest bones (the inverse of the above)."""
    angles = np.zeros(skeleton.joints)
    for joint in range(1, skeleton.joints):
        if skeleton.child[joint] < 0:
            continue
        bone = rest[skeleton.child[joint]] - rest[joint]
        angles[joint] = twist_angle(local[joint], bone / np.linalg.norm(bone))
    return angles


def forward_points(skeleton: Skeleton, rest: np.ndarray, local: np.ndarray) -> np.ndarray:
    """Pose every point (joints and leaves) with ``local (J, 3, 3)``; root at its rest position."""
    world = np.zeros((len(skeleton.parents), 3, 3))
    posed = np.zeros_like(rest)
    world[0], posed[0] = local[0], rest[0]
    for point in range(1, len(skeleton.parents)):
        parent = skeleton.parents[point]
        posed[point] = posed[parent] + world[parent] @ (rest[point] - rest[parent])
        world[point] = world[parent] @ local[point] if point < skeleton.joints else world[parent]
    return posed
