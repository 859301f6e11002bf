"""The body's legs and feet for grounding: forward kinematics of a clip, the four contact points (heel and
toe of each foot) and a two-bone leg IK that moves an ankle to a target while the foot keeps its orientation.

Everything is batched over frames, in the space the poses are in (camera space for a result file).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bodymodel import lbs
from ..bodymodel.model import BodyModel
from ..estimators import smpl_order
from ..estimators.keypoints.landmarks import surface_vertices
from ..rotations import axis_angle_to_matrix, matrix_to_axis_angle

CONTACT_NAMES = ("left_heel", "left_toe", "right_heel", "right_toe")  # the result's ``contacts`` columns
# Joints of SMPL and SMPL-X (same indices for the body): hip, knee, ankle, foot per side; pelvis 0.
LEGS = {"left": (1, 4, 7, 10), "right": (2, 5, 8, 11)}
SIDE_POINTS = {"left": (0, 1), "right": (2, 3)}  # columns of CONTACT_NAMES per side


@dataclass(frozen=True)
class Posed:
    """A clip posed by forward kinematics: ``rotations (F, J, 3, 3)`` global, ``positions (F, J, 3)``."""

    rotations: np.ndarray
    positions: np.ndarray


@dataclass(frozen=True)
class FootSkeleton:
    """``rest (J, 3)`` shaped rest joints; each contact point is a rest-mesh vertex carried rigidly by its joint
    (heel by the ankle, toe by the foot joint): ``carriers (4,)``, ``offsets (4, 3)`` from the joint at rest;
    ``sole (4,)`` is each point's height above the sole at rest, its height above the floor when planted."""

    rest: np.ndarray
    parents: tuple[int, ...]
    family: str
    carriers: np.ndarray
    offsets: np.ndarray
    sole: np.ndarray

    @classmethod
    def of(cls, model: BodyModel, betas: np.ndarray) -> FootSkeleton:
        vertices = model.shaped_vertices(betas).astype(np.float64)
        rest = model.rest_joints(betas).astype(np.float64)
        found = surface_vertices(model.v_template, model.weights, model.joint_names, model.rest_joints())
        names = ("heel", "foot_index")
        ids = [found[f"{side}_{name}"] for side in ("left", "right") for name in names]
        carriers = np.array([LEGS[side][2 + k] for side in ("left", "right") for k in range(2)])
        part = np.argmax(model.weights, axis=1)
        sole = []
        for side in ("left", "right"):
            foot = np.isin(part, LEGS[side][2:])
            lowest = vertices[foot, 1].min()
            sole += [vertices[found[f"{side}_{name}"], 1] - lowest for name in names]
        return cls(rest, model.parents, model.family, carriers, vertices[ids] - rest[carriers], np.array(sole))

    def pose(self, poses: np.ndarray, trans: np.ndarray) -> Posed:
        """``poses (F, J*3)`` axis-angle, ``trans (F, 3)`` -> global rotations and joint positions."""
        local = axis_angle_to_matrix(np.asarray(poses, np.float64).reshape(len(poses), -1, 3))
        return self.pose_local(local, trans)

    def pose_local(self, local: np.ndarray, trans: np.ndarray) -> Posed:
        rest = np.broadcast_to(self.rest, (len(local), *self.rest.shape))
        world = lbs.world_transforms(local, rest, self.parents)
        return Posed(world[:, :, :3, :3], world[:, :, :3, 3] + np.asarray(trans, np.float64)[:, None])

    def contact_points(self, posed: Posed) -> np.ndarray:
        """``(F, 4, 3)``: left heel, left toe, right heel, right toe."""
        rotations = posed.rotations[:, self.carriers]
        return posed.positions[:, self.carriers] + np.einsum("fkij,kj->fki", rotations, self.offsets)

    def joints(self, posed: Posed) -> np.ndarray:
        """The result's ``joints (F, 24, 3)`` in SMPL order."""
        return np.stack([smpl_order(frame, self.family) for frame in posed.positions])


def reach(posed: Posed, side: str, targets: np.ndarray, local: np.ndarray, ankle_rotations: np.ndarray | None = None
          ) -> None:
    """Two-bone IK: bend the knee and swing the hip of ``side`` so that its ankle reaches ``targets (F, 3)``
    (NaN rows: left alone); the ankle then has the global rotation ``ankle_rotations (F, 3, 3)`` (default: the one
    it has), so the foot moves rigidly. ``local (F, J, 3, 3)`` (the clip's local rotations) is updated in place;
    ``posed`` is the clip posed by ``local``."""
    hip, knee, ankle, _ = LEGS[side]
    todo = ~np.isnan(targets[:, 0])
    if not np.any(todo):
        return
    p = posed.positions[todo]
    g = posed.rotations[todo]
    h, k, a, t = p[:, hip], p[:, knee], p[:, ankle], targets[todo]
    thigh = np.linalg.norm(k - h, axis=1)
    shin = np.linalg.norm(a - k, axis=1)
    wanted = np.clip(np.linalg.norm(t - h, axis=1), np.abs(thigh - shin) + 1e-4, thigh + shin - 1e-4)
    interior = _angle(h - k, a - k)
    target_interior = np.arccos(np.clip((thigh**2 + shin**2 - wanted**2) / (2 * thigh * shin), -1.0, 1.0))
    axis = np.cross(h - k, a - k)
    straight = np.linalg.norm(axis, axis=1) < 1e-6
    axis[straight] = -g[straight, knee, :, 0]  # a straight leg bends the way a knee flexes (about -x)
    bend = _rotation(axis, target_interior - interior)
    new_ankle = k + np.einsum("fij,fj->fi", bend, a - k)
    swing = between(new_ankle - h, t - h)
    hip_global = swing @ g[:, hip]
    knee_global = swing @ bend @ g[:, knee]
    pelvis_global = g[:, 0]
    local[todo, hip] = np.swapaxes(pelvis_global, 1, 2) @ hip_global
    local[todo, knee] = np.swapaxes(hip_global, 1, 2) @ knee_global
    ankle_global = g[:, ankle] if ankle_rotations is None else ankle_rotations[todo]
    local[todo, ankle] = np.swapaxes(knee_global, 1, 2) @ ankle_global


def to_axis_angle(local: np.ndarray) -> np.ndarray:
    return matrix_to_axis_angle(local).reshape(len(local), -1)


def _angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    cos = np.sum(u * v, axis=1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))
    return np.arccos(np.clip(cos, -1.0, 1.0))


def _rotation(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    unit = axis / np.linalg.norm(axis, axis=1, keepdims=True)
    return axis_angle_to_matrix(unit * angle[:, None])


def between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The smallest rotation taking direction ``u`` to direction ``v`` (rows)."""
    u = u / np.linalg.norm(u, axis=1, keepdims=True)
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    axis = np.cross(u, v)
    sin = np.linalg.norm(axis, axis=1)
    angle = np.arctan2(sin, np.sum(u * v, axis=1))
    unit = np.where(sin[:, None] > 1e-9, axis / np.maximum(sin, 1e-12)[:, None], 0.0)
    return axis_angle_to_matrix(unit * angle[:, None])
