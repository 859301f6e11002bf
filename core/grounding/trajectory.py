"""The person's distance from a static camera, steadied by the floor: a foot on the floor is where its image
ray meets the floor, so the body is slid along that ray until its lowest point touches the floor (the image
stays where it was), frames in the air are interpolated, and the correction is smoothed without lag."""

from __future__ import annotations

import numpy as np

from .contact import smooth
from .floor import Floor

NEAR_FLOOR_M = 0.15  # the lowest point this close to the floor is taken as standing on it
MAX_CHANGE = 0.2  # a correction never moves the body more than this fraction of its distance
SMOOTH_SECONDS = 0.12


def depth_correction(points: np.ndarray, sole: np.ndarray, floor: Floor, valid: np.ndarray, fps: float
                     ) -> np.ndarray:
    """``points (F, 4, 3)`` camera space -> the translation to add to each frame ``(F, 3)``."""
    heights = floor.height(points) - sole
    lowest = np.argmin(heights, axis=1)
    frames = np.arange(len(points))
    point = points[frames, lowest]
    along = point @ floor.normal  # = height - d: negative below the camera
    target = sole[lowest] - floor.offset
    usable = valid & (heights[frames, lowest] < NEAR_FLOOR_M) & (along < -0.2)
    correction = np.zeros((len(points), 3))
    if not np.any(usable):
        return correction
    scale = np.clip(target / np.where(usable, along, -1.0), 1 - MAX_CHANGE, 1 + MAX_CHANGE) - 1
    correction[usable] = scale[usable, None] * point[usable]
    known = np.flatnonzero(usable)
    for axis in range(3):
        correction[:, axis] = np.interp(frames, known, correction[known, axis])
    return smooth(correction, SMOOTH_SECONDS * fps)
