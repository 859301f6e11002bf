"""Body landmarks as MediaPipe 0.10.14's ``PoseLandmarkCpu`` (model complexity 1) computes them: the BlazePose
detector finds a person, the full landmark model reads 33 landmarks (plus 2 auxiliary ones that place the next
frame's crop), world landmarks and a person mask from a rotated square crop; in video the crop follows the
previous frame's landmarks and the detector runs only when the person is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .detection import AnchorSpec, Detection, decode, remove_letterbox, weighted_nms
from .filters import FRAME_MICROSECONDS, LandmarkSmoother
from .geometry import (
    Rect,
    crop,
    pad_to_aspect,
    project_from_rect,
    rect_from_alignment,
    rotate_world,
    sigmoid,
    transform_rect,
)
from .geometry import remove_letterbox as unletterbox
from .models import Network

DETECTOR_SIZE = 224
DETECTOR_ANCHORS = AnchorSpec(DETECTOR_SIZE, (8, 16, 32, 32, 32), 0.1484375, 0.75)
LANDMARK_SIZE = 256
HEATMAP_KERNEL = 9  # the options default: 0.10.14 runs 9 although its graph asks for 7 (measured)
ROI_SCALE = 1.25
LANDMARKS = 33  # then 2 auxiliary ones (hip centre, a point giving body size and rotation) and 4 unused


@dataclass
class PosePoints:
    """One person's body landmarks in one frame."""

    image: np.ndarray  # (33, 3) normalised x, y; z in the same scale as x
    visibility: np.ndarray  # (33,)
    presence: np.ndarray  # (33,)
    world: np.ndarray  # (33, 3) metres, hip-centred, camera-aligned
    score: float  # the model's pose-presence score
    rect: Rect  # the crop the landmarks were read from
    segmentation: np.ndarray | None = None  # (H, W) float32 0..1

    def pixels(self, width: int, height: int) -> np.ndarray:
        """``(33, 3)`` pixels, z scaled like x."""
        return self.image * np.array([width, height, width])


def person_detections(network: Callable, rgb: np.ndarray, min_score: float = 0.5) -> list[Detection]:
    """Every person the BlazePose detector finds in the whole of ``rgb (H, W, 3) uint8``, best first, boxes
    and keypoints normalised to the image (keypoint 0 the hip centre, 1 a point giving size and rotation)."""
    height, width = rgb.shape[:2]
    whole, padding = pad_to_aspect((width / 2, height / 2, float(width), float(height), 0.0),
                                   (DETECTOR_SIZE, DETECTOR_SIZE))
    tensor = crop(rgb, whole, (DETECTOR_SIZE, DETECTOR_SIZE), (-1.0, 1.0), border_zero=True)
    boxes, scores = network(tensor)
    found = decode(boxes[0], scores[0, :, 0], _anchors(), DETECTOR_SIZE, 4, min_score)
    return [remove_letterbox(d, padding) for d in weighted_nms(found, 0.3)]


_ANCHOR_CACHE: list[np.ndarray] = []


def _anchors() -> np.ndarray:
    if not _ANCHOR_CACHE:
        _ANCHOR_CACHE.append(DETECTOR_ANCHORS.anchors())
    return _ANCHOR_CACHE[0]


def rect_from_detection(detection: Detection, image_size: tuple[int, int]) -> Rect:
    """``PoseDetectionToRoi``: a square around the hip centre, 1.25 x twice its distance to keypoint 1."""
    rect = rect_from_alignment(detection.keypoints[0], detection.keypoints[1], image_size)
    return transform_rect(rect, image_size, scale=ROI_SCALE)


def rect_from_auxiliary(auxiliary: np.ndarray, image_size: tuple[int, int], scale: float = ROI_SCALE) -> Rect:
    """``PoseLandmarksToRoi``: the next frame's crop from the two auxiliary landmarks ``(2, 2+)``."""
    return transform_rect(rect_from_alignment(auxiliary[0], auxiliary[1], image_size), image_size, scale=scale)


def refine_from_heatmap(points: np.ndarray, heatmap: np.ndarray, min_confidence: float = 0.5) -> np.ndarray:
    """``RefineLandmarksFromHeatmapCalculator``: each ``(N, 2+)`` crop-normalised landmark moved to the
    confidence-weighted centre of the 9 x 9 heatmap cells around it ``heatmap (h, w, N)`` logits (cells past the
    edge left out), when the best of those cells is confident enough."""
    rows, cols = heatmap.shape[:2]
    half = (HEATMAP_KERNEL - 1) // 2
    col, row = (points[:, 0] * cols).astype(int), (points[:, 1] * rows).astype(int)  # truncation, as C++ casts
    inside = (col >= 0) & (col < cols) & (row >= 0) & (row < rows)
    offsets = np.arange(-half, half + 1)
    cell_rows, cell_cols = row[:, None, None] + offsets[None, :, None], col[:, None, None] + offsets[None, None, :]
    valid = (cell_rows >= 0) & (cell_rows < rows) & (cell_cols >= 0) & (cell_cols < cols)
    channel = np.arange(len(points))[:, None, None]
    logits = heatmap[np.clip(cell_rows, 0, rows - 1), np.clip(cell_cols, 0, cols - 1), channel].astype(np.float32)
    confidence = np.where(valid, sigmoid(logits), 0.0)
    total = confidence.sum(axis=(1, 2))
    refine = inside & (confidence.max(axis=(1, 2)) >= min_confidence) & (total > 0)
    safe = np.where(total > 0, total, 1.0)
    out = points.copy()
    out[refine, 0] = ((cell_cols * confidence).sum(axis=(1, 2)) / cols / safe)[refine]
    out[refine, 1] = ((cell_rows * confidence).sum(axis=(1, 2)) / rows / safe)[refine]
    return out


@dataclass
class RawPose:
    points: np.ndarray  # (35, 3) normalised to the image: 33 landmarks and 2 auxiliary
    visibility: np.ndarray  # (35,)
    presence: np.ndarray  # (35,)
    world: np.ndarray  # (33, 3)
    score: float
    rect: Rect
    segmentation: np.ndarray | None


def landmarks_in_rect(network: Callable, rgb: np.ndarray, rect: Rect, segmenter: Callable | None = None,
                      min_score: float = 0.5) -> RawPose | None:
    """``PoseLandmarkByRoiCpu``: the landmark model on the crop ``rect`` of ``rgb``, projected back to the
    image; ``None`` when its pose-presence score is below ``min_score``. ``segmenter``, the pose_segmentation
    model, adds the person mask from the landmark model's feature maps."""
    height, width = rgb.shape[:2]
    pixel_rect, padding = pad_to_aspect(rect.pixels(width, height), (LANDMARK_SIZE, LANDMARK_SIZE))
    tensor = crop(rgb, pixel_rect, (LANDMARK_SIZE, LANDMARK_SIZE), (0.0, 1.0), border_zero=False)
    landmarks, flag, heatmap, world, *features = network(tensor)
    score = float(flag.ravel()[0])
    if score < min_score:
        return None
    raw = landmarks.reshape(39, 5)
    points = raw[:, :3] / np.float32(LANDMARK_SIZE)
    points[:, :2] = refine_from_heatmap(points[:, :2], heatmap[0])
    points = project_from_rect(unletterbox(points, padding), rect)
    world_points = rotate_world(world.reshape(39, 3)[:LANDMARKS].astype(np.float64), rect)
    person = None if segmenter is None else \
        _mask_in_image(segmenter.run_features(features)[0][0, :, :, 0], pixel_rect, (width, height))
    return RawPose(points[:LANDMARKS + 2].astype(np.float64), sigmoid(raw[:LANDMARKS + 2, 3]),
                   sigmoid(raw[:LANDMARKS + 2, 4]), world_points, score, rect, person)


def _mask_in_image(logits: np.ndarray, pixel_rect: tuple, image_size: tuple[int, int]) -> np.ndarray:
    """The crop's person mask warped back into the whole image (black outside the crop)."""
    import cv2

    cx, cy, width, height, rotation = pixel_rect
    corners = cv2.boxPoints(((cx, cy), (width, height), np.degrees(rotation))).astype(np.float32)
    size = logits.shape[0]
    target = np.array([[0, size], [0, 0], [size, 0], [size, size]], np.float32)
    matrix = cv2.getPerspectiveTransform(corners, target)
    return cv2.warpPerspective(sigmoid(logits.astype(np.float32)), matrix, image_size,
                               flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT)


class PoseTracker:
    """``PoseLandmarkCpu`` for one stream. ``video=True`` follows the person from frame to frame and smooths
    the landmarks as MediaPipe does; otherwise every frame is detected afresh."""

    def __init__(self, video: bool, segmentation: bool = False, networks: dict | None = None,
                 min_detection: float = 0.5, min_tracking: float = 0.5):
        networks = networks or {}
        self.detector = networks.get("pose_detection") or Network("pose_detection")
        self.landmarker = networks.get("pose_landmark_full") or Network("pose_landmark_full")
        self.segmenter = (networks.get("pose_segmentation") or Network("pose_segmentation")) if segmentation else None
        self.video, self.segmentation = video, segmentation
        self.min_detection, self.min_tracking = min_detection, min_tracking
        self.frame = 0
        self.previous: Rect | None = None
        self.smooth_points = LandmarkSmoother(0.05, 80.0)
        self.smooth_auxiliary = LandmarkSmoother(0.01, 10.0)
        self.smooth_world = LandmarkSmoother(0.1, 40.0, scale_by_object=False)

    @property
    def time_us(self) -> int:
        return (self.frame + 1) * FRAME_MICROSECONDS  # MediaPipe stamps the first frame at 33,333 us

    def __call__(self, rgb: np.ndarray) -> PosePoints | None:
        """The most prominent person's landmarks in ``rgb (H, W, 3) uint8``, or ``None``."""
        try:
            return self._track(rgb)
        finally:
            self.frame += 1

    def _track(self, rgb: np.ndarray) -> PosePoints | None:
        size = (rgb.shape[1], rgb.shape[0])
        rect = self.previous if self.video else None
        if rect is None:
            found = person_detections(self.detector, rgb, self.min_detection)
            if not found:
                return None
            rect = rect_from_detection(found[0], size)
        return self.accept(landmarks_in_rect(self.landmarker, rgb, rect, self.segmenter, self.min_tracking), size)

    def accept(self, raw: RawPose | None, size: tuple[int, int]) -> PosePoints | None:
        """This frame's landmarks ``raw`` (read from the crop this tracker or a detection placed), smoothed in
        video, with the next frame's crop kept; ``None`` (the person lost) resets the smoothing."""
        if raw is None:
            self.previous = None
            self.smooth_points.reset()
            self.smooth_auxiliary.reset()
            return None
        points, visibility, auxiliary, world = self._smoothed(raw, size) if self.video else \
            (raw.points[:LANDMARKS], raw.visibility[:LANDMARKS], raw.points[LANDMARKS:], raw.world)
        self.previous = rect_from_auxiliary(auxiliary, size) if self.video else None
        return PosePoints(points, visibility, raw.presence[:LANDMARKS], world, raw.score, raw.rect, raw.segmentation)

    def _smoothed(self, raw: RawPose, size: tuple[int, int]) -> tuple:
        """``PoseLandmarkFiltering``: landmarks smoothed relative to the body's size (from the unfiltered
        auxiliary landmarks), auxiliary landmarks more strongly, world landmarks in metres."""
        body = rect_from_auxiliary(raw.points[LANDMARKS:], size, scale=1.0)
        object_size = (body.width * size[0] + body.height * size[1]) / 2
        points, visibility = self.smooth_points(self.time_us, raw.points[:LANDMARKS], size, object_size,
                                                raw.visibility[:LANDMARKS])
        auxiliary, _ = self.smooth_auxiliary(self.time_us, raw.points[LANDMARKS:], size, object_size,
                                             raw.visibility[LANDMARKS:])
        world, _ = self.smooth_world(self.time_us, raw.world)
        return points, visibility, auxiliary, world
