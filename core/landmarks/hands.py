"""Hand landmarks as MediaPipe 0.10.14's Holistic reads them (``HandLandmarksLeftAndRightCpu``): each hand is
placed by the body's wrist, pinky and index landmarks, a small network re-crops it, and the hand landmark
network reads 21 points from that crop (``HandLandmarksFromPoseCpu``).

In video the crop follows the previous frame's hand landmarks while they stay close to this frame's re-crop
(``HandTracking``). Holistic smooths neither hands nor face, so neither do we. Points are normalised to the image
as MediaPipe gives them: x, y fractions of its width and height, z in the scale of x.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .geometry import (
    Rect,
    TrackingLimits,
    crop,
    keeps_tracking,
    normalize_radians,
    pad_to_aspect,
    project_from_rect,
    rect_from_alignment,
    remove_letterbox,
    rotate_world,
    transform_rect,
    vector_rotation,
)
from .models import Network

POSE_WRIST_PINKY_INDEX = {"left": (15, 17, 19), "right": (16, 18, 20)}
MIN_WRIST_VISIBILITY = 0.1  # HandVisibilityFromHandLandmarksFromPose
MIN_HAND_PRESENCE = 0.5
RECROP_SIZE = 256
LANDMARK_SIZE = 224
Z_SCALE = 0.4  # TensorsToLandmarksCalculator's normalize_z for the hand model
HAND_TRACKING = TrackingLimits(rotation_degrees=40.0, translation=0.2, scale=0.4, recrop_margin=-0.1)
PALM_POINTS = [0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18]  # wrist, thumb base, finger bases and first joints
FLOAT_MIN = float(np.finfo(np.float32).tiny)  # MediaPipe starts its running maxima here, not at -inf


@dataclass(frozen=True)
class Hand:
    """One hand in one frame."""

    image: np.ndarray  # (21, 3) normalised x, y; z in the scale of x, relative to the wrist
    world: np.ndarray  # (21, 3) metres around the hand's centre, turned like the crop
    presence: float  # the hand-flag score, above MIN_HAND_PRESENCE
    rect: Rect  # the crop the landmarks were read from


def rect_from_pose(wrist_pinky_index: np.ndarray, image_size: tuple[int, int]) -> Rect:
    """``HandLandmarksFromPoseToRecropRoi``: the square the body's wrist, pinky and index ``(3, 2+)`` place
    around the hand: centred on the estimated middle finger, twice its distance to the wrist, turned so the
    wrist is below it, then moved a tenth of its size towards the fingers and grown 2.7 times."""
    width, height = image_size
    pixels = wrist_pinky_index[:, :2] * np.array([width, height])
    wrist, pinky, index = pixels
    middle = (2.0 * index + pinky) / 3.0
    side = 2.0 * np.hypot(*(middle - wrist))
    rotation = vector_rotation(wrist / (width, height), middle / (width, height), image_size, 90.0)
    rect = Rect(middle[0] / width, middle[1] / height, side / width, side / height, rotation)
    return transform_rect(rect, image_size, scale=2.7, shift_y=-0.1)


def rect_from_recrop(points: np.ndarray, image_size: tuple[int, int]) -> Rect:
    """``HandRecropByRoiCpu``'s ROI from the re-crop network's two points ``(2, 2+)`` (image-normalised):
    centred on the first, twice their distance wide, turned by the vector between them (target -90 degrees),
    then moved a tenth of its size along its own y axis."""
    rect = rect_from_alignment(points[0], points[1], image_size, target_degrees=-90.0)
    return transform_rect(rect, image_size, shift_y=-0.1)


def _axis_box(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column minima and maxima ``(2,)`` of ``values (N, 2)``, maxima floored at FLOAT_MIN as in MediaPipe."""
    return values.min(axis=0), np.maximum(values.max(axis=0), FLOAT_MIN)


def rect_from_landmarks(landmarks: np.ndarray, image_size: tuple[int, int]) -> Rect:
    """``HandLandmarksToRoi`` on the 21 landmarks ``(21, 2+)``: the calculator keeps the wrist and the bases
    of the fingers (PALM_POINTS), boxes them tightly along the direction from the wrist towards the index,
    middle and ring knuckles, then moved a tenth of its height towards the fingers, squared and doubled."""
    width, height = image_size
    palm = landmarks[PALM_POINTS, :2]
    top = (palm[4] + palm[8]) / 2.0
    top = (top + palm[6]) / 2.0
    rotation = vector_rotation(palm[0], top, image_size, 90.0)
    low, high = _axis_box(palm)
    centre = (low + high) / 2.0
    offsets = (palm - centre) * np.array([width, height])
    back = normalize_radians(-rotation)
    turned = np.stack([offsets[:, 0] * np.cos(back) - offsets[:, 1] * np.sin(back),
                       offsets[:, 0] * np.sin(back) + offsets[:, 1] * np.cos(back)], axis=1)
    low, high = _axis_box(turned)
    middle = (low + high) / 2.0
    cx = middle[0] * np.cos(rotation) - middle[1] * np.sin(rotation) + width * centre[0]
    cy = middle[0] * np.sin(rotation) + middle[1] * np.cos(rotation) + height * centre[1]
    rect = Rect(cx / width, cy / height, (high[0] - low[0]) / width, (high[1] - low[1]) / height, rotation)
    return transform_rect(rect, image_size, scale=2.0, shift_y=-0.1)


def recrop(network: Callable, rgb: np.ndarray, roi: Rect) -> Rect:
    """``HandRecropByRoiCpu``: the hand re-crop network on the 256 x 256 crop of ``roi`` -> the hand's ROI."""
    image_size = (rgb.shape[1], rgb.shape[0])
    padded, padding = pad_to_aspect(roi.pixels(*image_size), (RECROP_SIZE, RECROP_SIZE))
    tensor = crop(rgb, padded, (RECROP_SIZE, RECROP_SIZE), (0.0, 1.0), border_zero=False)
    points = network(tensor)[0].reshape(2, 2).astype(np.float64) / RECROP_SIZE
    return rect_from_recrop(project_from_rect(remove_letterbox(points, padding), roi), image_size)


def landmarks_in_rect(network: Callable, rgb: np.ndarray, rect: Rect) -> Hand | None:
    """``HandLandmarkCpu``: the hand landmark network on the 224 x 224 crop of ``rect``, or ``None`` when its
    hand flag is not above MIN_HAND_PRESENCE."""
    image_size = (rgb.shape[1], rgb.shape[0])
    padded, padding = pad_to_aspect(rect.pixels(*image_size), (LANDMARK_SIZE, LANDMARK_SIZE))
    tensor = crop(rgb, padded, (LANDMARK_SIZE, LANDMARK_SIZE), (0.0, 1.0), border_zero=False)
    raw, flag, _handedness, world = network(tensor)
    presence = float(np.reshape(flag, -1)[0])
    if not presence > MIN_HAND_PRESENCE:
        return None
    points = raw.reshape(21, 3).astype(np.float64) / LANDMARK_SIZE
    points[:, 2] /= Z_SCALE
    image = project_from_rect(remove_letterbox(points, padding), rect)
    return Hand(image, rotate_world(world.reshape(21, 3).astype(np.float64), rect), presence, rect)


class HandSide:
    """One of the two hands across frames: the previous frame's landmarks, kept in video only."""

    def __init__(self, pose_indices: tuple[int, int, int], recropper: Callable, landmarker: Callable,
                 video: bool):
        self.pose_indices = pose_indices
        self.recropper, self.landmarker, self.video = recropper, landmarker, video
        self.previous: Hand | None = None
        self.previous_size: tuple[int, int] | None = None

    def __call__(self, rgb: np.ndarray, pose: np.ndarray, visibility: np.ndarray) -> Hand | None:
        """This hand in ``rgb (H, W, 3) uint8`` from the body's normalised landmarks ``pose (33, 2+)`` and
        their ``visibility (33,)``; ``None`` when the wrist is not visible or no hand is found."""
        image_size = (rgb.shape[1], rgb.shape[0])
        hand = None
        if visibility[self.pose_indices[0]] > MIN_WRIST_VISIBILITY:
            hand_roi = recrop(self.recropper, rgb, rect_from_pose(pose[list(self.pose_indices)], image_size))
            hand = landmarks_in_rect(self.landmarker, rgb, self._tracking_rect(hand_roi, image_size))
        self.previous, self.previous_size = (hand, image_size) if self.video else (None, None)
        return hand

    def _tracking_rect(self, recrop_rect: Rect, image_size: tuple[int, int]) -> Rect:
        """``HandTracking``: the previous landmarks' rect while it agrees with ``recrop_rect``."""
        if self.previous is None or self.previous_size != image_size:
            return recrop_rect
        previous_rect = rect_from_landmarks(self.previous.image, image_size)
        if keeps_tracking(previous_rect, self.previous.image, recrop_rect, image_size, HAND_TRACKING):
            return previous_rect
        return recrop_rect


class HandTracker:
    """Both hands of the person whose body landmarks are given, frame by frame (``video=True`` lets each
    hand's crop follow its previous landmarks). ``networks`` maps model names to stand-ins (tests); the
    bundled ONNX models are used otherwise."""

    def __init__(self, video: bool, networks: dict | None = None):
        networks = networks or {}
        recropper = networks.get("hand_recrop") or Network("hand_recrop")
        landmarker = networks.get("hand_landmark_full") or Network("hand_landmark_full")
        self.sides = {side: HandSide(indices, recropper, landmarker, video)
                      for side, indices in POSE_WRIST_PINKY_INDEX.items()}

    def hands(self, rgb: np.ndarray, pose: np.ndarray, visibility: np.ndarray) -> tuple[Hand | None, Hand | None]:
        """The person's (left, right) :class:`Hand` in ``rgb (H, W, 3) uint8``, from the body's normalised
        landmarks ``pose (33, 2+)`` and ``visibility (33,)``; ``None`` for a hand not found."""
        return self.sides["left"](rgb, pose, visibility), self.sides["right"](rgb, pose, visibility)

    def __call__(self, rgb: np.ndarray, pose: np.ndarray, visibility: np.ndarray, frame_time_us: int = 0
                 ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(left, right) hand landmarks ``(21, 3)`` normalised to the image, or ``None`` each.
        ``frame_time_us`` is accepted for a call shape shared with the face; Holistic smooths no hand."""
        left, right = self.hands(rgb, pose, visibility)
        return (None if left is None else left.image), (None if right is None else right.image)
