"""Face landmarks as MediaPipe 0.10.14's Holistic reads them (``FaceLandmarksFromPoseCpu``, without the
attention refinement): the body's eleven face landmarks place a crop, the short-range face detector finds the
face in it, and the face mesh network reads 468 points from a crop around the detected eyes, nose and mouth.

In video the crop follows the previous frame's face landmarks while they stay close to this frame's detection
(``FaceTracking``); the detector still runs every frame. Points are normalised to the image as MediaPipe gives
them: x, y fractions of its width and height, z in the scale of x.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .detection import AnchorSpec, Detection, decode, remove_letterbox, weighted_nms
from .geometry import (
    Rect,
    TrackingLimits,
    crop,
    keeps_tracking,
    pad_to_aspect,
    project_from_rect,
    sigmoid,
    transform_rect,
    vector_rotation,
)
from .models import Network

POSE_FACE = slice(0, 11)  # nose, eyes, ears, mouth corners
POSE_RIGHT_EYE, POSE_LEFT_EYE = 5, 2
DETECTOR_SIZE = 128
DETECTOR_ANCHORS = AnchorSpec(DETECTOR_SIZE, (8, 16, 16, 16), 0.1484375, 0.75)
DETECTOR_KEYPOINTS = 6  # right eye, left eye, nose tip, mouth, right ear tragion, left ear tragion
MIN_DETECTION_SCORE = 0.5
NMS_THRESHOLD = 0.3
LANDMARK_SIZE = 192
LANDMARKS = 468
MESH_RIGHT_EYE, MESH_LEFT_EYE = 33, 263
MIN_FACE_PRESENCE = 0.5
FACE_TRACKING = TrackingLimits(rotation_degrees=15.0, translation=0.1, scale=0.3, recrop_margin=-0.2)
FLOAT_MIN = float(np.finfo(np.float32).tiny)  # MediaPipe starts its running maxima here, not at -inf


def rect_from_points(points: np.ndarray, image_size: tuple[int, int], start: int, end: int) -> Rect:
    """``LandmarksToDetectionCalculator`` then ``DetectionsToRectsCalculator``: the axis-aligned box of
    ``points (N, 2+)`` (its maxima floored at FLOAT_MIN as in MediaPipe), turned so that ``points[start]`` ->
    ``points[end]`` is horizontal."""
    low = points[:, :2].min(axis=0)
    size = np.maximum(points[:, :2].max(axis=0), FLOAT_MIN) - low
    centre = low + size / 2.0
    return Rect(centre[0], centre[1], size[0], size[1], vector_rotation(points[start], points[end], image_size, 0.0))


def rect_from_pose(pose: np.ndarray, image_size: tuple[int, int]) -> Rect:
    """``FaceLandmarksFromPoseToRecropRoi``: the box of the body's face landmarks ``pose (33, 2+)`` turned
    level with the eyes, squared on its long side and tripled: where the face detector looks."""
    rect = rect_from_points(pose[POSE_FACE], image_size, POSE_RIGHT_EYE, POSE_LEFT_EYE)
    return transform_rect(rect, image_size, scale=3.0)


def rect_from_detection(detection: Detection, image_size: tuple[int, int]) -> Rect:
    """``FaceDetectionFrontDetectionsToRoi``: the box of the detection's six keypoints, turned level with its
    eyes, moved up a tenth of its height (along its own axis), squared on its long side and doubled."""
    keypoints = detection.keypoints
    low, high = keypoints.min(axis=0), keypoints.max(axis=0)
    rect = Rect((low[0] + high[0]) / 2, (low[1] + high[1]) / 2, high[0] - low[0], high[1] - low[1],
                vector_rotation(keypoints[0], keypoints[1], image_size, 0.0))
    return transform_rect(rect, image_size, scale=2.0, shift_y=-0.1)


def rect_from_landmarks(landmarks: np.ndarray, image_size: tuple[int, int]) -> Rect:
    """``FaceLandmarksToRoi``: the box of the 468 landmarks ``(468, 2+)`` turned level with the eye corners,
    squared on its long side and grown 1.5 times: the next frame's crop in video."""
    rect = rect_from_points(landmarks, image_size, MESH_RIGHT_EYE, MESH_LEFT_EYE)
    return transform_rect(rect, image_size, scale=1.5)


def _in_image(detection: Detection, padding: np.ndarray, roi: Rect) -> Detection:
    """``DetectionProjectionCalculator``: a detection normalised to the letterboxed crop of ``roi`` ->
    normalised to the image (the box becomes the axis-aligned box of its turned corners)."""
    inside = remove_letterbox(detection, padding)
    xmin, ymin, xmax, ymax = inside.box
    corners = project_from_rect(np.array([[xmin, ymin], [xmax, ymin], [xmax, ymax], [xmin, ymax]]), roi)
    box = np.concatenate([corners.min(axis=0), corners.max(axis=0)])
    return Detection(inside.score, box, project_from_rect(inside.keypoints.astype(np.float64), roi))


def detect_faces(network: Callable, rgb: np.ndarray, roi: Rect, anchors: np.ndarray) -> list[Detection]:
    """``FaceDetectionShortRangeByRoiCpu``: faces the short-range detector finds in the 128 x 128 crop of
    ``roi``, best first, boxes and keypoints ``(6, 2)`` normalised to the image."""
    image_size = (rgb.shape[1], rgb.shape[0])
    padded, padding = pad_to_aspect(roi.pixels(*image_size), (DETECTOR_SIZE, DETECTOR_SIZE))
    tensor = crop(rgb, padded, (DETECTOR_SIZE, DETECTOR_SIZE), (-1.0, 1.0), border_zero=True)
    boxes, scores = sorted(network(tensor), key=lambda output: -output.shape[-1])
    found = decode(boxes[0], scores[0, :, 0], anchors, DETECTOR_SIZE, DETECTOR_KEYPOINTS, MIN_DETECTION_SCORE)
    return [_in_image(detection, padding, roi) for detection in weighted_nms(found, NMS_THRESHOLD)]


def landmarks_in_rect(network: Callable, rgb: np.ndarray, rect: Rect) -> np.ndarray | None:
    """``FaceLandmarkCpu``: the face mesh network on the 192 x 192 crop of ``rect`` (stretched, not
    letterboxed) -> ``(468, 3)`` normalised landmarks, or ``None`` when its face flag is not above 0.5."""
    image_size = (rgb.shape[1], rgb.shape[0])
    tensor = crop(rgb, rect.pixels(*image_size), (LANDMARK_SIZE, LANDMARK_SIZE), (0.0, 1.0), border_zero=False)
    raw, flag = sorted(network(tensor), key=lambda output: -output.size)
    if not sigmoid(float(np.reshape(flag, -1)[0])) > MIN_FACE_PRESENCE:
        return None
    points = raw.reshape(LANDMARKS, 3).astype(np.float64) / LANDMARK_SIZE
    return project_from_rect(points, rect)


class FaceTracker:
    """The face of the person whose body landmarks are given, frame by frame (``video=True`` lets the crop
    follow the previous landmarks). ``networks`` maps model names to stand-ins (tests); the bundled ONNX
    models are used otherwise."""

    def __init__(self, video: bool, networks: dict | None = None):
        networks = networks or {}
        self.detector = networks.get("face_detection_short_range") or Network("face_detection_short_range")
        self.landmarker = networks.get("face_landmark") or Network("face_landmark")
        self.anchors = DETECTOR_ANCHORS.anchors()
        self.video = video
        self.previous: np.ndarray | None = None
        self.previous_size: tuple[int, int] | None = None

    def __call__(self, rgb: np.ndarray, pose: np.ndarray, frame_time_us: int = 0) -> np.ndarray | None:
        """The face's ``(468, 3)`` normalised landmarks in ``rgb (H, W, 3) uint8`` from the body's normalised
        landmarks ``pose (33, 2+)``, or ``None`` when no face is found. ``frame_time_us`` is accepted for a
        call shape shared with the hands; Holistic smooths no face."""
        image_size = (rgb.shape[1], rgb.shape[0])
        faces = detect_faces(self.detector, rgb, rect_from_pose(pose, image_size), self.anchors)
        face = None
        if faces:
            rect = self._tracking_rect(rect_from_detection(faces[0], image_size), image_size)
            face = landmarks_in_rect(self.landmarker, rgb, rect)
        self.previous, self.previous_size = (face, image_size) if self.video else (None, None)
        return face

    def _tracking_rect(self, recrop_rect: Rect, image_size: tuple[int, int]) -> Rect:
        """``FaceTracking``: the previous landmarks' rect while it agrees with ``recrop_rect``."""
        if self.previous is None or self.previous_size != image_size:
            return recrop_rect
        previous_rect = rect_from_landmarks(self.previous, image_size)
        if keeps_tracking(previous_rect, self.previous, recrop_rect, image_size, FACE_TRACKING):
            return previous_rect
        return recrop_rect
