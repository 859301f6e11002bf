"""Linear blend skinning in numpy, the SMPL way: small pure functions, batched over frames, float32.

Shapes: F frames, V vertices, J joints, B shape coefficients, P = 9 (J - 1) pose-corrective inputs.
"""

from __future__ import annotations

import numpy as np


def blend_shapes(coefficients: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """``coefficients: (F, B)``, ``directions: (V, 3, B)`` -> offsets ``(F, V, 3)``."""
    return np.einsum("fb,vcb->fvc", coefficients, directions)


def regress_joints(regressor: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """``regressor: (J, V)``, ``vertices: (F, V, 3)`` -> joints ``(F, J, 3)``."""
    return np.einsum("jv,fvc->fjc", regressor, vertices)


def pose_feature(rotations: np.ndarray) -> np.ndarray:
    """Inputs of the pose correctives: ``rotations: (F, J, 3, 3)`` -> ``(F, 9 (J - 1))`` (R - I, root excluded)."""
    frames = rotations.shape[0]
    return (rotations[:, 1:] - np.eye(3, dtype=rotations.dtype)).reshape(frames, -1)


def world_transforms(rotations: np.ndarray, joints: np.ndarray, parents: tuple[int, ...]) -> np.ndarray:
    """Chain local rotations about rest joints. ``rotations: (F, J, 3, 3)``, ``joints: (F, J, 3)``
    -> world transforms ``(F, J, 4, 4)`` of each joint's frame (rest joint positions as origins)."""
    frames, count = joints.shape[:2]
    local = np.zeros((frames, count, 4, 4), dtype=rotations.dtype)
    local[:, :, :3, :3] = rotations
    local[:, :, 3, 3] = 1
    relative = joints.copy()
    parent_index = np.asarray(parents[1:])
    relative[:, 1:] -= joints[:, parent_index]
    local[:, :, :3, 3] = relative
    world = np.empty_like(local)
    world[:, 0] = local[:, 0]
    for joint in range(1, count):
        world[:, joint] = world[:, parents[joint]] @ local[:, joint]
    return world


def skinning_transforms(world: np.ndarray, joints: np.ndarray) -> np.ndarray:
    """Transforms that move rest-pose points: ``world: (F, J, 4, 4)`` with the rest joint removed."""
    skinning = world.copy()
    skinning[:, :, :3, 3] -= np.einsum("fjab,fjb->fja", world[:, :, :3, :3], joints)
    return skinning


def skin(vertices: np.ndarray, weights: np.ndarray, transforms: np.ndarray) -> np.ndarray:
    """``vertices: (F, V, 3)``, ``weights: (V, J)``, ``transforms: (F, J, 4, 4)`` -> ``(F, V, 3)``."""
    frames, count = transforms.shape[:2]
    blended = (weights @ transforms[:, :, :3, :].reshape(frames, count, 12)).reshape(frames, -1, 3, 4)
    return np.einsum("fvab,fvb->fva", blended[..., :3], vertices) + blended[..., 3]
