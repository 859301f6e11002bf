"""The lifter's input layout, one function for training and run time.

Per frame: the 33 landmarks' pixels relative to the person's box (centre and longer side of the box of the
landmarks seen with visibility > 0.3), their visibility, MediaPipe's world landmarks (metres, hip-centred,
camera-aligned), and where the box sits in the camera: its centre's ray ``(centre - principal point) / focal``
and its size ``side / focal`` (perspective and distance cues).
"""

from __future__ import annotations

import numpy as np

LANDMARKS = 33
HIPS = [23, 24]  # left_hip, right_hip: the world landmarks' origin is their midpoint
SEEN = 0.3
FEATURES = LANDMARKS * 6 + 3


def person_box(pixels: np.ndarray, visibility: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre ``(n, 2)`` and longer side ``(n,)`` of the box of the landmarks seen (all of them where fewer than
    two are seen). ``pixels (n, 33, 2)``, ``visibility (n, 33)``."""
    seen = visibility > SEEN
    seen = np.where(seen.sum(axis=1, keepdims=True) >= 2, seen, True)
    low = np.where(seen[..., None], pixels, np.inf).min(axis=1)
    high = np.where(seen[..., None], pixels, -np.inf).max(axis=1)
    return (low + high) / 2, np.maximum((high - low).max(axis=1), 1.0)


def input_features(pixels: np.ndarray, visibility: np.ndarray, world: np.ndarray, focal: np.ndarray,
                   centre: np.ndarray) -> np.ndarray:
    """``(n, 201)`` inputs from ``pixels (n, 33, 2)``, ``visibility (n, 33)``, ``world (n, 33, 3)``, the camera's
    ``focal (n,)`` and principal point ``centre (n, 2)`` (pixels)."""
    middle, side = person_box(pixels, visibility)
    relative = (pixels - middle[:, None]) / side[:, None, None]
    camera = np.column_stack([(middle - centre) / focal[:, None], side / focal])
    n = len(pixels)
    return np.concatenate([relative.reshape(n, -1), visibility.reshape(n, -1), world.reshape(n, -1), camera], axis=1)
