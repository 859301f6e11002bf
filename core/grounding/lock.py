"""Foot lock: while a heel or toe is in contact it stays where it was planted, solved on the body's own
parameters (no constraints). A foot planted on heel and toe also keeps its planted direction. The body first
moves as a whole by its planted feet's mean miss (the fit's distance from the camera wanders, and that moves every
foot alike), then each planted leg reaches its anchor with a two-bone IK; what a leg cannot reach moves the root.
The lock fades in and out over a few frames before and after each contact."""

from __future__ import annotations

import numpy as np

from ..rotations import axis_angle_to_matrix, matrix_to_axis_angle
from .contact import runs
from .floor import Floor
from .skeleton import LEGS, SIDE_POINTS, FootSkeleton, between, reach

FADE_SECONDS = 0.07
ROUNDS = 3  # IK, then the root takes what the legs could not reach, and again


def anchors(points: np.ndarray, flags: np.ndarray, planted: np.ndarray, floor: Floor, strength: float, fps: float
            ) -> tuple[np.ndarray, np.ndarray]:
    """Where each point is held ``(F, 4, 3)`` (NaN: free) and how firmly ``(F, 4)``: during each of its contacts at
    its median position then, at its ``planted (4,)`` height above the floor, fully (times the strength); the
    hold fades out over a few frames before and after the contact."""
    fade = max(1, round(FADE_SECONDS * fps))
    held = np.full(points.shape, np.nan)
    weights = np.zeros(flags.shape)
    for column in range(flags.shape[1]):
        for start, end in runs(flags[:, column]):
            middle = np.median(points[start:end, column], axis=0)
            anchor = middle - (floor.height(middle) - planted[column]) * floor.normal
            frames = np.arange(max(0, start - fade), min(len(flags), end + fade))
            distance = np.maximum(start - frames, frames - (end - 1)).clip(0)
            weight = 1 - distance / (fade + 1)
            firmer = weight > weights[frames, column]
            weights[frames[firmer], column] = weight[firmer]
            held[frames[firmer], column] = anchor
    return held, weights * strength


def lock_feet(skeleton: FootSkeleton, local: np.ndarray, trans: np.ndarray, flags: np.ndarray, floor: Floor,
              planted: np.ndarray, strength: float, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """``local (F, J, 3, 3)`` and ``trans (F, 3)`` with the points flagged in ``flags (F, 4)`` held at their
    ``planted (4,)`` heights above the floor (new arrays)."""
    local, trans = local.copy(), np.asarray(trans, np.float64).copy()
    if strength <= 0 or not flags.any():
        return local, trans
    posed = skeleton.pose_local(local, trans)
    points = skeleton.contact_points(posed)
    held, weights = anchors(points, flags, planted, floor, strength, fps)
    plan = {side: _foot_plan(posed, points, held, weights, side) for side in LEGS}
    trans += _mean_miss(plan, posed, trans)  # first the body moves as a whole: the fit's distance wanders
    for _ in range(ROUNDS):
        posed = skeleton.pose_local(local, trans)
        for side, (targets, rotations, _) in plan.items():
            reach(posed, side, targets, local, rotations)
        trans += _mean_miss(plan, skeleton.pose_local(local, trans), trans)
    return local, trans


def _mean_miss(plan: dict, posed, trans: np.ndarray) -> np.ndarray:
    """``(F, 3)``: how far the planted ankles are from their targets, weighted by their holds (a frame held by
    less than a full weight in all moves that much less)."""
    missed = np.zeros_like(trans)
    total = np.zeros(len(trans))
    for side, (targets, _, weight) in plan.items():
        missed += weight[:, None] * np.nan_to_num(targets - posed.positions[:, LEGS[side][2]])
        total += weight
    return missed / np.maximum(total, 1.0)[:, None]


def _foot_plan(posed, points: np.ndarray, held: np.ndarray, weights: np.ndarray, side: str):
    """The ankle's target ``(F, 3)`` (NaN: free), its global rotation ``(F, 3, 3)`` and the foot's weight ``(F,)``:
    a foot planted on both points turns to its planted direction, then moves so that its planted points reach
    their anchors (weighted when both are planted), blended with where it was by the weight."""
    heel, toe = SIDE_POINTS[side]
    ankle = LEGS[side][2]
    position, rotation = posed.positions[:, ankle], posed.rotations[:, ankle]
    both = np.minimum(weights[:, heel], weights[:, toe])
    turn = between(points[:, toe] - points[:, heel], np.where(both[:, None] > 0, held[:, toe] - held[:, heel],
                                                               points[:, toe] - points[:, heel]))
    turn = axis_angle_to_matrix(matrix_to_axis_angle(turn) * both[:, None])  # partial turn while fading
    moved = position[:, None] + np.einsum("fij,fkj->fki", turn, points[:, [heel, toe]] - position[:, None])
    w = weights[:, [heel, toe]]
    offset = np.einsum("fk,fkc->fc", w, np.nan_to_num(held[:, [heel, toe]] - moved)) / np.maximum(
        w.sum(axis=1), 1e-9)[:, None]
    weight = w.max(axis=1)
    targets = np.where(weight[:, None] > 0, position + weight[:, None] * offset, np.nan)
    return targets, turn @ rotation, weight
