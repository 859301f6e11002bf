"""Rotation conversions shared by the body model, IK, smoothing and the rig (numpy, batched).

Quaternions are (w, x, y, z), Blender's order. Axis-angle vectors are radians.
"""

from __future__ import annotations

import numpy as np


def axis_angle_to_matrix(rotvecs: np.ndarray) -> np.ndarray:
    """Rodrigues. ``rotvecs: (..., 3)`` -> ``(..., 3, 3)``.

    R = I + a K + b K² with K the skew matrix of the (unnormalised) vector, a = sin θ / θ and
    b = (1 - cos θ) / θ²; series for tiny angles keep it exact near zero.
    """
    theta = np.linalg.norm(rotvecs, axis=-1)[..., None, None]
    tiny = theta < 1e-4
    safe = np.where(tiny, 1.0, theta)
    a = np.where(tiny, 1 - theta**2 / 6, np.sin(safe) / safe)
    b = np.where(tiny, 0.5 - theta**2 / 24, (1 - np.cos(safe)) / safe**2)
    x, y, z = rotvecs[..., 0], rotvecs[..., 1], rotvecs[..., 2]
    zero = np.zeros_like(x)
    skew = np.stack([zero, -z, y, z, zero, -x, -y, x, zero], axis=-1).reshape(*rotvecs.shape[:-1], 3, 3)
    return (np.eye(3, dtype=rotvecs.dtype) + a * skew + b * (skew @ skew)).astype(rotvecs.dtype)


def matrix_to_axis_angle(matrices: np.ndarray) -> np.ndarray:
    """``(..., 3, 3)`` -> ``(..., 3)``, angles in [0, pi]."""
    return quaternion_to_axis_angle(matrix_to_quaternion(matrices))


def axis_angle_to_quaternion(rotvecs: np.ndarray) -> np.ndarray:
    """``(..., 3)`` -> unit quaternions ``(..., 4)`` (w, x, y, z) with w >= 0 for angles <= pi."""
    theta = np.linalg.norm(rotvecs, axis=-1, keepdims=True)
    tiny = theta < 1e-6
    half_sinc = np.where(tiny, 0.5 - theta**2 / 48, np.sin(theta / 2) / np.where(tiny, 1.0, theta))
    return np.concatenate([np.cos(theta / 2), rotvecs * half_sinc], axis=-1).astype(rotvecs.dtype)


def quaternion_to_axis_angle(quats: np.ndarray) -> np.ndarray:
    """``(..., 4)`` (w, x, y, z), any norm and sign -> ``(..., 3)`` with angles in [0, pi]."""
    quats = quats / np.linalg.norm(quats, axis=-1, keepdims=True)
    quats = np.where(quats[..., :1] < 0, -quats, quats)
    vector = quats[..., 1:]
    sine = np.linalg.norm(vector, axis=-1, keepdims=True)
    theta = 2 * np.arctan2(sine, quats[..., :1])
    tiny = sine < 1e-7
    scale = np.where(tiny, 2 / np.maximum(quats[..., :1], 1e-12), theta / np.where(tiny, 1.0, sine))
    return (vector * scale).astype(quats.dtype)


def matrix_to_quaternion(matrices: np.ndarray) -> np.ndarray:
    """``(..., 3, 3)`` -> ``(..., 4)`` (w, x, y, z), w >= 0 (Shepperd's method, stable for every angle)."""
    m = matrices.astype(np.float64)
    trace = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    candidates = np.stack([
        np.stack([1 + trace, m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0],
                  m[..., 1, 0] - m[..., 0, 1]], -1),
        np.stack([m[..., 2, 1] - m[..., 1, 2], 1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2],
                  m[..., 0, 1] + m[..., 1, 0], m[..., 0, 2] + m[..., 2, 0]], -1),
        np.stack([m[..., 0, 2] - m[..., 2, 0], m[..., 0, 1] + m[..., 1, 0],
                  1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2], m[..., 1, 2] + m[..., 2, 1]], -1),
        np.stack([m[..., 1, 0] - m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0], m[..., 1, 2] + m[..., 2, 1],
                  1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2]], -1),
    ], axis=-2)
    diagonal = np.stack([trace, m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]], -1)
    best = np.take_along_axis(candidates, diagonal.argmax(-1)[..., None, None], axis=-2)[..., 0, :]
    best /= np.linalg.norm(best, axis=-1, keepdims=True)
    return np.where(best[..., :1] < 0, -best, best).astype(matrices.dtype)


def continuous_quaternions(quats: np.ndarray) -> np.ndarray:
    """Flip signs along axis 0 (frames) so consecutive quaternions are in the same hemisphere:
    ``(F, ..., 4)`` -> same shape; interpolation between keys then takes the short way."""
    quats = quats.copy()
    for frame in range(1, len(quats)):
        flip = np.sum(quats[frame] * quats[frame - 1], axis=-1, keepdims=True) < 0
        quats[frame] = np.where(flip, -quats[frame], quats[frame])
    return quats
