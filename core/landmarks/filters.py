"""MediaPipe's landmark smoothing for video (``LandmarksSmoothingCalculator`` with its one-euro filter,
``VisibilitySmoothingCalculator`` with its low-pass filter), so tracked landmarks match MediaPipe's.

Frames are 1/30 s apart, as in MediaPipe's Python solutions, which stamp frame i at (i + 1) x 33,333
microseconds.
Our own, stronger smoothing for the fit is applied later (``core/pipeline/smoothing.py``).
"""

from __future__ import annotations

import numpy as np

FRAME_MICROSECONDS = 33333


class LowPass:
    """Exponential smoothing with a fixed or per-call ``alpha``; ``raw`` is the last unfiltered value."""

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha
        self.raw: np.ndarray | None = None
        self.stored: np.ndarray | None = None

    def __call__(self, value: np.ndarray, alpha: float | np.ndarray | None = None) -> np.ndarray:
        alpha = self.alpha if alpha is None else alpha
        self.stored = value if self.stored is None else alpha * value + (1.0 - alpha) * self.stored
        self.raw = value
        return self.stored


class OneEuro:
    """MediaPipe's one-euro filter on an array of values: the cut-off rises with the smoothed speed, which
    is measured in units of ``value_scale`` (the object's size) per second."""

    def __init__(self, min_cutoff: float, beta: float, derivative_cutoff: float = 1.0):
        self.min_cutoff, self.beta, self.derivative_cutoff = min_cutoff, beta, derivative_cutoff
        self.frequency = 30.0
        self.last_time = 0
        self.value = LowPass()
        self.speed = LowPass()

    def _alpha(self, cutoff: float | np.ndarray) -> float | np.ndarray:
        te = 1.0 / self.frequency
        tau = 1.0 / (2 * np.pi * cutoff)
        return 1.0 / (1.0 + tau / te)

    def __call__(self, time_us: int, value: np.ndarray, value_scale: float = 1.0) -> np.ndarray:
        time_ns = time_us * 1000
        if self.last_time >= time_ns:
            return value
        if self.last_time != 0 and time_ns != 0:
            self.frequency = 1e9 / (time_ns - self.last_time)
        self.last_time = time_ns
        speed = np.zeros_like(value) if self.value.raw is None else \
            (value - self.value.raw) * value_scale * self.frequency
        smoothed_speed = self.speed(speed, self._alpha(self.derivative_cutoff))
        cutoff = self.min_cutoff + self.beta * np.abs(smoothed_speed)
        return self.value(value, self._alpha(cutoff))


class LandmarkSmoother:
    """One landmark stream: normalised ``(N, 3)`` points smoothed in pixels, scaled by the object's size
    (``disable_value_scaling`` for metric world points), visibility low-passed with alpha 0.1."""

    def __init__(self, min_cutoff: float, beta: float, scale_by_object: bool = True, visibility: bool = True):
        self.filter = OneEuro(min_cutoff, beta)
        self.scale_by_object = scale_by_object
        self.visibility = LowPass(0.1) if visibility else None
        self.count = -1

    def reset(self) -> None:
        """Start the coordinates afresh (MediaPipe does when a frame has no landmarks); visibility keeps its state."""
        self.count = -1

    def __call__(self, time_us: int, points: np.ndarray, image_size: tuple[int, int] | None = None,
                 object_size: float | None = None, visibility: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray | None]:
        if self.visibility is not None and visibility is not None:
            visibility = self.visibility(visibility)
        if len(points) != self.count:  # MediaPipe starts afresh when the landmark count changes
            self.filter = OneEuro(self.filter.min_cutoff, self.filter.beta, self.filter.derivative_cutoff)
            self.count = len(points)
        if not self.scale_by_object:
            return self.filter(time_us, points), visibility
        if object_size is None or object_size < 1e-6:
            return points, visibility
        width, height = image_size
        to_pixels = np.array([width, height, width], np.float64)
        smoothed = self.filter(time_us, points * to_pixels, 1.0 / object_size)
        return smoothed / to_pixels, visibility
