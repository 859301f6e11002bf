"""The floor under a static camera, from the feet over a clip, and the world frame it defines.

Camera space is the result's: x right, y down, z forward, metres. The floor is the plane ``n·x + d = 0`` with
``n`` a unit vector pointing up (away from the floor), so ``n·x + d`` is a point's height above it and ``d`` the
camera's height. The world frame is Z up (the floor at Z = 0), Y the camera's viewing direction along the floor,
X to the right, its origin on the floor under the person's first frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PRIOR_DEGREES = 6.0  # how far the floor's normal is expected from the body's up direction (standard deviation)
POINT_SD_M = 0.04  # how far a planted sole is expected from the floor (the fit's noise)
ABOVE_M = 0.05  # a frame's lowest point this far above the floor's median is in the air: left out of the fit
FLOOR_PERCENTILE = 20  # the first guess: the lowest point's height per frame, planted most of the time
ROUNDS = 6


@dataclass(frozen=True)
class Floor:
    normal: np.ndarray  # (3,) unit, up
    offset: float  # d: the camera's height above the floor

    @property
    def plane(self) -> np.ndarray:
        return np.append(self.normal, self.offset).astype(np.float32)

    def height(self, points: np.ndarray) -> np.ndarray:
        return points @ self.normal + self.offset

    def camera_pitch_degrees(self) -> float:
        """How far the camera looks down (positive) or up from the horizontal."""
        return float(np.degrees(np.arcsin(np.clip(-self.normal[2], -1.0, 1.0))))


def body_up(positions: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The median direction from the ankles' midpoint to the neck over the clip (the body stands most of the
    time), or the camera's up when the body lies more than it stands."""
    up = positions[valid, 12] - (positions[valid, 7] + positions[valid, 8]) / 2
    up /= np.linalg.norm(up, axis=1, keepdims=True)
    median = np.median(up, axis=0)
    camera_up = np.array([0.0, -1.0, 0.0])
    if not np.all(np.isfinite(median)) or np.linalg.norm(median) < 1e-6 or median @ camera_up < np.cos(np.radians(60)):
        return camera_up
    return median / np.linalg.norm(median)


def estimate_floor(points: np.ndarray, sole: np.ndarray, up: np.ndarray, valid: np.ndarray) -> Floor:
    """``points (F, 4, 3)`` heel and toe of both feet, ``sole (4,)`` their heights when planted, ``up`` the body's
    up direction: the plane under the lowest sole of each frame. Least squares over the frames on the floor (those
    in the air are dropped, round by round), with the normal held near ``up`` by a prior: a path across the floor
    tells the floor's tilt along it, the prior the tilt nobody walked."""
    heights = points[valid] @ up - sole
    lowest = np.argmin(heights, axis=1)
    soles = points[valid][np.arange(len(heights)), lowest] - np.outer(sole[lowest], up)
    across = np.linalg.svd(np.eye(3) - np.outer(up, up))[0][:, :2]  # two directions across ``up``
    normal, offset = up, -float(np.percentile(soles @ up, FLOOR_PERCENTILE))
    prior = np.diag([1.0, 1.0, 0.0]) / np.radians(PRIOR_DEGREES)
    for round_ in range(ROUNDS):
        height = soles @ normal + offset
        # first the frames below the median (the first guess may be tilted), then those near it
        on_floor = np.abs(height - np.median(height)) < ABOVE_M if round_ else height < np.median(height) + ABOVE_M
        rows = np.column_stack([soles[on_floor] @ across, np.ones(on_floor.sum())]) / POINT_SD_M
        target = -(soles[on_floor] @ up) / POINT_SD_M
        solution = np.linalg.lstsq(np.vstack([rows, prior[:2]]), np.concatenate([target, [0.0, 0.0]]), rcond=None)[0]
        tilted = up + across @ solution[:2]
        normal = tilted / np.linalg.norm(tilted)
        offset = float(solution[2] / np.linalg.norm(tilted))
    return Floor(normal, offset)


def world_from_camera(floor: Floor, origin: np.ndarray) -> np.ndarray:
    """``(4, 4)``: camera-space points -> the world frame, with ``origin`` (camera space) dropped onto the floor
    as the world's origin."""
    z = floor.normal
    forward = np.array([0.0, 0.0, 1.0]) - z[2] * z
    if np.linalg.norm(forward) < 1e-6:  # looking straight down: the image's up is forward
        forward = np.array([0.0, -1.0, 0.0]) - z[1] * z
    y = forward / np.linalg.norm(forward)
    x = np.cross(y, z)
    rotation = np.stack([x, y, z])
    ground = origin - floor.height(origin) * z
    matrix = np.eye(4)
    matrix[:3, :3] = rotation
    matrix[:3, 3] = -rotation @ ground
    return matrix
