"""Foot contact per frame for the heel and toe of each foot, from the feet's height above the floor and their
speed along it (world frame). A learned contact model (the temporal lifter's, when it is bundled) would give
``contact_frames`` its probabilities in place of ``contact_scores``'s.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

HEIGHT_M = (0.03, 0.08)  # above a point's planted height: in contact below the first, not above the second
SPEED_M_S = (0.15, 0.45)  # along the floor: in contact below the first, not above the second
ON, OFF = 0.6, 0.4  # hysteresis on the score
MIN_SECONDS = 0.1  # shorter contacts are noise
DRIFT_M = 0.06  # a planted point stays put: a contact whose point travels further in the image is split
# The four thresholds, ON / OFF and ground.STEADY_SECONDS were chosen by ``tools/bench_grounding.py --tune`` on
# training clips of the pose bank (never on the held-out ones the benchmark reports).


PLANTED_PERCENTILE = 10  # of a point's height over the clip: its height when planted, as this motion has it
PLANTED_RANGE_M = (-0.03, 0.08)  # around its height above the sole at rest


def planted_heights(heights: np.ndarray, sole: np.ndarray) -> np.ndarray:
    """``(4,)`` each point's height above the floor when planted: low in the clip, near the rest sole's (a fit that
    holds the toes a little up plants them a little up; a foot never put down keeps the rest height)."""
    low = np.percentile(heights, PLANTED_PERCENTILE, axis=0) if len(heights) else sole
    return np.clip(low, sole + PLANTED_RANGE_M[0], sole + PLANTED_RANGE_M[1])


def smooth(values: np.ndarray, frames: float) -> np.ndarray:
    """Zero-phase Gaussian smoothing along the first axis (no lag: the whole clip is known)."""
    return values if frames <= 0 else gaussian_filter1d(values, frames, axis=0, mode="nearest")


def floor_speed(points: np.ndarray, fps: float) -> np.ndarray:
    """``points (F, K, 3)`` world frame (Z up) -> speed along the floor ``(F, K)`` in m/s."""
    if len(points) < 2:
        return np.zeros(points.shape[:2])
    return np.linalg.norm(np.gradient(points[..., :2], axis=0), axis=-1) * fps


def contact_scores(heights: np.ndarray, speeds: np.ndarray) -> np.ndarray:
    """``heights`` above each point's planted height and ``speeds``, ``(F, 4)`` -> confidence in [0, 1]."""
    low = np.clip((HEIGHT_M[1] - heights) / (HEIGHT_M[1] - HEIGHT_M[0]), 0.0, 1.0)
    still = np.clip((SPEED_M_S[1] - speeds) / (SPEED_M_S[1] - SPEED_M_S[0]), 0.0, 1.0)
    return low * still


def contact_frames(scores: np.ndarray, valid: np.ndarray, fps: float, track: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Confidence ``(F, 4)`` and in-contact flags ``(F, 4)`` (hysteresis, short runs dropped, frames without a
    person never in contact). ``track (F, 4, 2)``: where each point is seen, in metres across the image at the
    body's distance; a contact whose point travels more than ``DRIFT_M`` from where it began ends there (a foot
    creeping along, as in tai chi, is held in steps, not dragged back to one spot). The confidence is at least 0.5
    where in contact and below it elsewhere, so that ``confidence >= 0.5`` reads the flags back."""
    confidence = np.where(valid[:, None], scores, 0.0)
    flags = np.zeros(confidence.shape, bool)
    for column in range(confidence.shape[1]):
        state, anchor = False, None
        for frame, value in enumerate(confidence[:, column]):
            was = state
            state = value >= ON or (state and value > OFF)
            if state and track is not None:
                if not was:
                    anchor = track[frame, column]
                elif np.linalg.norm(track[frame, column] - anchor) > DRIFT_M:
                    state = False  # ends here; the next frame may start a new contact from here
            flags[frame, column] = state
        for start, end in runs(flags[:, column]):
            if end - start < max(2, round(MIN_SECONDS * fps)):
                flags[start:end, column] = False
    confidence = np.where(flags, np.maximum(confidence, 0.5), np.minimum(confidence, 0.49))
    return confidence.astype(np.float32), flags


def runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` of each run of True."""
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))
