"""The "domain-robust" network input: a person silhouette and 2D landmark heatmaps in the estimator's crop.

One builder, two sources. Synthetic training data (``training/synth``) passes the rendered body's silhouette and
its MediaPipe-equivalent landmarks; at run time :func:`observation_input` passes MediaPipe's own segmentation mask
and pose landmarks, cropped exactly like EfficientHuman's RGB input (``efficienthuman.crop_box``). numpy + cv2
only: the add-on calls this.

Layout ``(34, 256, 256) float32``: channel 0 the silhouette in [0, 1] (1 = person); channels 1..33 one Gaussian
heatmap per MediaPipe pose landmark in ``landmarks.POSE_NAMES`` order, peak 1 at the landmark, sigma 4 px,
all zero where the landmark is not visible. Crop pixels follow OpenCV: pixel (row i, column j) has its centre at
(x, y) = (j, i), the crop centre is (128, 128).
"""

from __future__ import annotations

import numpy as np

from .keypoints.fit import Observation
from .keypoints.landmarks import POSE_NAMES

SIZE = 256
SIGMA_PX = 4.0
CHANNELS = 1 + len(POSE_NAMES)
VISIBLE = 0.5  # MediaPipe visibility above which a landmark gets a heatmap (synthetic ones are 0 or 1)


def silhouette_input(silhouette: np.ndarray, landmarks_2d: np.ndarray, visibility: np.ndarray,
                     sigma: float = SIGMA_PX) -> np.ndarray:
    """``silhouette (256, 256)`` bool or float 0..1, ``landmarks_2d (33, 2)`` crop pixels (x, y),
    ``visibility (33,)`` 0..1 (a heatmap's peak height; pass 0/1) -> ``(34, 256, 256) float32``."""
    silhouette = np.asarray(silhouette, np.float32)
    if silhouette.shape != (SIZE, SIZE) or np.shape(landmarks_2d) != (CHANNELS - 1, 2):
        raise ValueError(f"silhouette_input needs a ({SIZE}, {SIZE}) mask and ({CHANNELS - 1}, 2) landmarks, "
                         f"got {silhouette.shape} and {np.shape(landmarks_2d)}.")
    out = np.empty((CHANNELS, SIZE, SIZE), np.float32)
    out[0] = np.clip(silhouette, 0.0, 1.0)
    out[1:] = heatmaps(np.asarray(landmarks_2d, np.float32), np.clip(visibility, 0.0, 1.0), sigma)
    return out


def heatmaps(points: np.ndarray, heights: np.ndarray, sigma: float = SIGMA_PX) -> np.ndarray:
    """Separable Gaussians: ``points (K, 2)`` crop pixels, ``heights (K,)`` -> ``(K, 256, 256) float32``."""
    grid = np.arange(SIZE, dtype=np.float32)
    across = np.exp(-((grid[None] - points[:, :1]) ** 2) / (2 * sigma**2))  # (K, 256) over x
    down = np.exp(-((grid[None] - points[:, 1:]) ** 2) / (2 * sigma**2)) * heights[:, None]  # over y
    return (down[:, :, None] * across[:, None, :]).astype(np.float32)


def crop_matrix(square: tuple[float, float, float]) -> np.ndarray:
    """``(2, 3)`` affine taking image pixels into the crop of ``square`` (centre x, centre y, side), exactly as
    ``efficienthuman.crop`` warps the photo."""
    cx, cy, side = square
    scale = SIZE / side
    return np.array([[scale, 0.0, SIZE / 2 - cx * scale], [0.0, scale, SIZE / 2 - cy * scale]])


def observation_input(observation: Observation, square: tuple[float, float, float]) -> np.ndarray:
    """The real-image twin: MediaPipe's mask and landmarks of one person (``LandmarkDetector(...,
    segmentation=True)``), cropped to ``square`` -> ``(34, 256, 256) float32``.

    A landmark counts as visible when MediaPipe's visibility exceeds VISIBLE and it lies inside the crop.
    """
    import cv2

    if observation.segmentation is None:
        raise ValueError("This observation has no person mask: create the detector with segmentation=True.")
    matrix = crop_matrix(square)
    mask = cv2.warpAffine(observation.segmentation, matrix, (SIZE, SIZE), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    points = observation.pose_2d @ matrix[:, :2].T + matrix[:, 2]
    inside = np.all((points >= -0.5) & (points < SIZE - 0.5), axis=1)
    visible = ((observation.visibility > VISIBLE) & inside).astype(np.float32)
    return silhouette_input(mask, points, visible)


def photo_input(detector, rgb: np.ndarray) -> tuple[np.ndarray, tuple[float, float, float], Observation] | None:
    """Detect the most prominent person in ``rgb (H, W, 3) uint8`` with a segmenting ``LandmarkDetector``,
    crop like EfficientHuman and build the input: ``(input (34, 256, 256), square, observation)`` or ``None``."""
    from .efficienthuman import crop_box
    from .keypoints.detect import detect_anywhere

    observation = detect_anywhere(detector, rgb)
    if observation is None:
        return None
    square = crop_box(observation.box())
    return observation_input(observation, square), square, observation
