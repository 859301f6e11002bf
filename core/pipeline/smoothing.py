"""Temporal smoothing for video: a One-Euro filter on landmark positions and on joint rotations, the pass back in
time that takes out its lag once a clip is done, and the jitter measure (the lag measure is tools/metrics.py's).

The One-Euro filter (Casiez et al., 2012) is a low-pass filter whose cut-off rises with speed: still
poses are steadied, fast motion keeps up. ``strength`` in [0, 1] is the user's setting (0 = off).
"""

from __future__ import annotations

import numpy as np

from ..rotations import axis_angle_to_quaternion, quaternion_to_axis_angle


class OneEuroFilter:
    """Filters arrays of any fixed shape sampled at ``fps``; state can be saved and restored (resume)."""

    def __init__(self, fps: float, strength: float = 0.5, beta: float = 3.0, derivative_cutoff: float = 1.0):
        self.fps = fps
        self.strength = float(np.clip(strength, 0.0, 1.0))
        # strength 0 -> 30 Hz (barely filtered), 1 -> 0.3 Hz minimum cut-off
        self.min_cutoff = 30.0 * (0.01 ** self.strength)
        self.beta, self.derivative_cutoff = beta, derivative_cutoff
        self.value: np.ndarray | None = None
        self.derivative: np.ndarray | None = None

    @staticmethod
    def _alpha(cutoff: np.ndarray | float, fps: float) -> np.ndarray | float:
        tau = 1.0 / (2 * np.pi * cutoff)
        return 1.0 / (1.0 + tau * fps)

    def __call__(self, sample: np.ndarray) -> np.ndarray:
        sample = np.asarray(sample, np.float64)
        if self.strength == 0.0:
            return sample
        if self.value is None:
            self.value, self.derivative = sample.copy(), np.zeros_like(sample)
            return sample
        derivative = (sample - self.value) * self.fps
        a_d = self._alpha(self.derivative_cutoff, self.fps)
        self.derivative = a_d * derivative + (1 - a_d) * self.derivative
        cutoff = self.min_cutoff + self.beta * np.abs(self.derivative)
        a = self._alpha(cutoff, self.fps)
        self.value = a * sample + (1 - a) * self.value
        return self.value.copy()

    def state(self) -> dict:
        return {"value": self.value, "derivative": self.derivative}

    def restore(self, state: dict) -> None:
        self.value, self.derivative = state.get("value"), state.get("derivative")


def filtered_rotations(rotations: OneEuroFilter, poses: np.ndarray) -> np.ndarray:
    """One frame's axis-angle ``poses (J*3,)`` through ``rotations`` as quaternions, each sign kept continuous
    with the filter's last value, normalised and back as axis-angle ``(J*3,)``."""
    quaternions = axis_angle_to_quaternion(np.asarray(poses, np.float64).reshape(-1, 3))
    if rotations.value is not None:
        quaternions = np.where(np.sum(quaternions * rotations.value, axis=1, keepdims=True) < 0, -quaternions,
                               quaternions)
    smoothed = rotations(quaternions)
    smoothed /= np.linalg.norm(smoothed, axis=1, keepdims=True)
    return quaternion_to_axis_angle(smoothed).ravel()


def backward_pass(poses: np.ndarray, trans: np.ndarray, fps: float, strength: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The One-Euro filter run from the last frame to the first over ``poses (F, J*3)`` and ``trans (F, 3)``.
    After the forward pass that streamed through the fit, it makes the pair zero-phase: the forward pass's lag
    is taken back out (the frames are all there once a clip is done) and the jitter falls further."""
    rotations, translation = OneEuroFilter(fps, strength), OneEuroFilter(fps, strength)
    smoothed_poses, smoothed_trans = np.empty(poses.shape, np.float64), np.empty(trans.shape, np.float64)
    for frame in range(len(poses) - 1, -1, -1):
        smoothed_poses[frame] = filtered_rotations(rotations, poses[frame])
        smoothed_trans[frame] = translation(trans[frame])
    return smoothed_poses, smoothed_trans


def jitter(joints: np.ndarray, fps: float) -> float:
    """Mean joint acceleration magnitude, m/s², over ``joints: (F, J, 3)`` (needs F >= 3)."""
    if len(joints) < 3:
        return 0.0
    acceleration = (joints[2:] - 2 * joints[1:-1] + joints[:-2]) * fps * fps
    return float(np.linalg.norm(acceleration, axis=-1).mean())
