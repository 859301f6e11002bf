"""Is the camera still? The background's motion between frames: corners outside the person tracked with
pyramidal Lucas-Kanade on a small grey copy of each frame; a frame's value is their median displacement as a
fraction of the copy's width."""

from __future__ import annotations

import cv2
import numpy as np

SIDE = 320  # about the longer side of the grey copy, pixels
MOVING = 0.0008  # median per-frame background motion (fraction of the width) above which the camera moves


class BackgroundMotion:
    """Called with every frame in order; measures the motion since the frame before on every ``every``-th frame
    (the clip's median is what counts, and a measure costs 2-3 ms), NaN on the others."""

    def __init__(self, every: int = 1):
        self.every, self.frame = max(1, every), 0
        self.previous: np.ndarray | None = None

    def __call__(self, rgb: np.ndarray, box: np.ndarray | None = None) -> float:
        """``rgb (H, W, 3)``; ``box`` (x0, y0, x1, y1) pixels of the person, left out. NaN for the first frame,
        a frame not measured or a background without corners."""
        self.frame += 1
        measured, kept = self.frame % self.every == 0, (self.frame + 1) % self.every == 0
        if not measured and not kept:
            self.previous = None
            return float("nan")
        step = max(1, max(rgb.shape[:2]) // SIDE)  # every step-th pixel: no filtering cost, enough for corners
        scale = 1.0 / step
        grey = cv2.cvtColor(np.ascontiguousarray(rgb[::step, ::step]), cv2.COLOR_RGB2GRAY)
        previous, self.previous = self.previous, grey if kept else None
        if not measured or previous is None or previous.shape != grey.shape:
            return float("nan")
        mask = np.full(grey.shape, 255, np.uint8)
        if box is not None and np.ptp(box) > 0:
            x0, y0, x1, y1 = np.round(np.asarray(box, np.float64) * scale).astype(int)
            pad_x, pad_y = (x1 - x0) // 5, (y1 - y0) // 10
            mask[max(0, y0 - pad_y): max(0, y1 + pad_y), max(0, x0 - pad_x): max(0, x1 + pad_x)] = 0
        corners = cv2.goodFeaturesToTrack(previous, 150, 0.01, 7, mask=mask)
        if corners is None or len(corners) < 8:
            return float("nan")
        moved, status, _ = cv2.calcOpticalFlowPyrLK(previous, grey, corners, None, winSize=(15, 15), maxLevel=2)
        found = status.ravel() == 1
        if found.sum() < 8:
            return float("nan")
        shift = np.linalg.norm((moved - corners).reshape(-1, 2)[found], axis=1)
        return float(np.median(shift) / grey.shape[1])


def camera_moves(motion: np.ndarray) -> bool:
    known = motion[np.isfinite(motion)]
    return len(known) >= 3 and float(np.median(known)) > MOVING
