"""Estimators: one module per estimator behind one interface (image frames -> body parameters)."""

from __future__ import annotations

import numpy as np

from ..bodymodel import lbs
from ..rotations import axis_angle_to_matrix


def smpl_order(joints: np.ndarray, family: str) -> np.ndarray:
    """The first 24 joints in SMPL order ``(24, 3)``; SMPL-X has no hand joints: its middle-finger bases
    stand in."""
    if family == "smplx":
        joints = np.vstack([joints[:22], joints[[28, 43]]])
    return joints[:24].astype(np.float32)


def posed_joints(rest: np.ndarray, parents: tuple[int, ...], family: str, poses: np.ndarray, trans: np.ndarray
                 ) -> np.ndarray:
    """Camera-space SMPL-order joints ``(24, 3)`` of ``rest (J, 3)`` posed by ``poses (J*3,)`` and moved by
    ``trans (3,)``."""
    rotations = axis_angle_to_matrix(poses.reshape(1, -1, 3).astype(np.float64))
    world = lbs.world_transforms(rotations, np.asarray(rest, np.float64)[None], parents)[0]
    return smpl_order(world[:, :3, 3] + trans, family)
