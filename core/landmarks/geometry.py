"""Regions of interest and crops as MediaPipe 0.10.14 computes them, so our landmarks equal its landmarks.

A :class:`Rect` is MediaPipe's ``NormalizedRect``: centre, width and height as fractions of the image,
rotation in radians (clockwise on screen, as y points down). Points are ``(N, 2+)`` arrays in the same
normalised units. Every formula here follows one of MediaPipe's calculators, named in the docstring, down to
the order of operations where float32 rounding would otherwise move a landmark.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Rect:
    """A rotated rectangle in normalised image coordinates (MediaPipe's ``NormalizedRect``)."""

    x_center: float
    y_center: float
    width: float
    height: float
    rotation: float = 0.0

    def pixels(self, image_width: int, image_height: int) -> tuple[float, float, float, float, float]:
        """``(cx, cy, w, h, rotation)`` in pixels (MediaPipe's ``GetRoi``)."""
        return (self.x_center * image_width, self.y_center * image_height, self.width * image_width,
                self.height * image_height, self.rotation)


def normalize_radians(angle: float) -> float:
    """``angle`` wrapped into [-pi, pi)."""
    return angle - 2 * np.pi * np.floor((angle + np.pi) / (2 * np.pi))


def vector_rotation(start: np.ndarray, end: np.ndarray, image_size: tuple[int, int],
                    target_degrees: float) -> float:
    """``DetectionsToRectsCalculator``'s rotation: the one that turns the pixel vector from ``start`` to
    ``end`` (normalised ``(2+,)``) to point at ``target_degrees``."""
    width, height = image_size
    dx, dy = (end[0] - start[0]) * width, (end[1] - start[1]) * height
    return float(normalize_radians(np.radians(target_degrees) - np.arctan2(-dy, dx)))


def rect_from_alignment(start: np.ndarray, end: np.ndarray, image_size: tuple[int, int],
                        target_degrees: float = 90.0) -> Rect:
    """``AlignmentPointsRectsCalculator``: centred on ``start`` (normalised ``(2,)``), side twice the
    distance to ``end`` in pixels, rotated so that start -> end points at ``target_degrees``."""
    width, height = image_size
    x0, y0 = start[0] * width, start[1] * height
    x1, y1 = end[0] * width, end[1] * height
    side = np.hypot(x1 - x0, y1 - y0) * 2.0
    rotation = normalize_radians(np.radians(target_degrees) - np.arctan2(-(y1 - y0), x1 - x0))
    return Rect(x0 / width, y0 / height, side / width, side / height, float(rotation))


def transform_rect(rect: Rect, image_size: tuple[int, int], scale: float = 1.0, shift_x: float = 0.0,
                   shift_y: float = 0.0, square: str | None = "long") -> Rect:
    """``RectTransformationCalculator``: shift along the rect's own axes (fractions of its size), make it
    square on its ``"long"`` or ``"short"`` side in pixels (or keep it, ``None``), then scale."""
    width_px, height_px = image_size
    x, y = rect.x_center, rect.y_center
    if rect.rotation == 0.0:
        x += rect.width * shift_x
        y += rect.height * shift_y
    else:
        cos, sin = np.cos(rect.rotation), np.sin(rect.rotation)
        along_x, along_y = width_px * rect.width * shift_x, height_px * rect.height * shift_y
        x += (along_x * cos - along_y * sin) / width_px
        y += (along_x * sin + along_y * cos) / height_px
    width, height = rect.width, rect.height
    if square is not None:
        pick = max if square == "long" else min
        side = pick(width * width_px, height * height_px)
        width, height = side / width_px, side / height_px
    return replace(rect, x_center=x, y_center=y, width=width * scale, height=height * scale)


def pad_to_aspect(rect_px: tuple[float, float, float, float, float], tensor_size: tuple[int, int]
                  ) -> tuple[tuple[float, float, float, float, float], np.ndarray]:
    """``PadRoi`` with ``keep_aspect_ratio``: the pixel ROI grown to the tensor's aspect ratio, and the
    letterbox padding ``(left, top, right, bottom)`` as fractions of the grown ROI."""
    cx, cy, width, height, rotation = rect_px
    tensor_aspect = np.float32(tensor_size[1]) / np.float32(tensor_size[0])
    roi_aspect = np.float32(height) / np.float32(width)
    if tensor_aspect > roi_aspect:
        vertical = (1.0 - roi_aspect / tensor_aspect) / 2.0
        padding = np.array([0.0, vertical, 0.0, vertical])
        height = width * tensor_aspect
    else:
        horizontal = (1.0 - tensor_aspect / roi_aspect) / 2.0
        padding = np.array([horizontal, 0.0, horizontal, 0.0])
        width = height / tensor_aspect
    return (cx, cy, float(width), float(height), rotation), padding


def crop(image: np.ndarray, rect_px: tuple[float, float, float, float, float], tensor_size: tuple[int, int],
         value_range: tuple[float, float], border_zero: bool) -> np.ndarray:
    """``ImageToTensorCalculator`` on the CPU: the rotated pixel ROI of ``image (H, W, 3) uint8`` warped to
    ``(1, h, w, 3) float32`` in ``value_range`` (bilinear, border replicated or black)."""
    import cv2

    cx, cy, width, height, rotation = rect_px
    corners = cv2.boxPoints(((cx, cy), (width, height), np.degrees(rotation)))
    out_w, out_h = tensor_size
    target = np.array([[0, out_h], [0, 0], [out_w, 0], [out_w, out_h]], np.float32)
    matrix = cv2.getPerspectiveTransform(corners.astype(np.float32), target)
    border = cv2.BORDER_CONSTANT if border_zero else cv2.BORDER_REPLICATE
    warped = cv2.warpPerspective(image, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=border)
    low, high = value_range
    scale = np.float32((high - low) / 255.0)
    return (warped.astype(np.float32) * scale + np.float32(low))[None]


def remove_letterbox(points: np.ndarray, padding: np.ndarray) -> np.ndarray:
    """``LandmarkLetterboxRemovalCalculator`` on ``(N, 3)`` normalised points (z scales with x)."""
    left, top, right, bottom = padding
    sx, sy = 1.0 - left - right, 1.0 - top - bottom
    out = points.copy()
    out[:, 0] = (points[:, 0] - left) / sx
    out[:, 1] = (points[:, 1] - top) / sy
    if points.shape[1] > 2:
        out[:, 2] = points[:, 2] / sx
    return out


def project_from_rect(points: np.ndarray, rect: Rect) -> np.ndarray:
    """``LandmarkProjectionCalculator``: ``(N, 3)`` points normalised to the crop -> normalised to the image
    (z scaled by the rect's width)."""
    cos, sin = np.cos(rect.rotation), np.sin(rect.rotation)
    x, y = points[:, 0] - 0.5, points[:, 1] - 0.5
    out = points.copy()
    out[:, 0] = (cos * x - sin * y) * rect.width + rect.x_center
    out[:, 1] = (sin * x + cos * y) * rect.height + rect.y_center
    if points.shape[1] > 2:
        out[:, 2] = points[:, 2] * rect.width
    return out


def rotate_world(points: np.ndarray, rect: Rect) -> np.ndarray:
    """``WorldLandmarkProjectionCalculator``: metric ``(N, 3)`` points turned by the rect's rotation."""
    cos, sin = np.cos(rect.rotation), np.sin(rect.rotation)
    out = points.copy()
    out[:, 0] = cos * points[:, 0] - sin * points[:, 1]
    out[:, 1] = sin * points[:, 0] + cos * points[:, 1]
    return out


def sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-values))


@dataclass(frozen=True)
class TrackingLimits:
    """``RoiTrackingCalculatorOptions``: how far this frame's re-crop rect may turn (degrees), move and change
    size (fractions of its size) from the previous frame's landmark rect for that rect to be kept, and the
    margin (a fraction of the re-crop rect's size, negative shrinks it) the previous landmarks must stay in."""

    rotation_degrees: float
    translation: float
    scale: float
    recrop_margin: float


def _turned(x: np.ndarray, y: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    cos, sin = np.cos(angle), np.sin(angle)
    return x * cos - y * sin, x * sin + y * cos


def _rect_close(previous: Rect, recrop: Rect, image_size: tuple[int, int], limits: TrackingLimits) -> bool:
    width, height = image_size
    angle = -recrop.rotation
    px, py = _turned(previous.x_center * width, previous.y_center * height, angle)
    rx, ry = _turned(recrop.x_center * width, recrop.y_center * height, angle)
    turn = np.degrees(previous.rotation) - np.degrees(recrop.rotation)
    turn = abs(turn - 360.0 if turn > 180.0 else turn + 360.0 if turn < -180.0 else turn)
    recrop_w, recrop_h = recrop.width * width, recrop.height * height
    return bool(turn <= limits.rotation_degrees
                and abs(px - rx) <= recrop_w * limits.translation and abs(py - ry) <= recrop_h * limits.translation
                and abs(previous.width * width - recrop_w) <= recrop_w * limits.scale
                and abs(previous.height * height - recrop_h) <= recrop_h * limits.scale)


def _points_inside(points: np.ndarray, recrop: Rect, image_size: tuple[int, int], margin: float) -> bool:
    width, height = image_size
    angle = -recrop.rotation
    cx, cy = _turned(recrop.x_center * width, recrop.y_center * height, angle)
    half_w, half_h = recrop.width * width * (1 + margin) / 2, recrop.height * height * (1 + margin) / 2
    x, y = _turned(points[:, 0] * width, points[:, 1] * height, angle)
    return bool(np.all((cx - half_w < x) & (x < cx + half_w) & (cy - half_h < y) & (y < cy + half_h)))


def keeps_tracking(previous_rect: Rect, previous_points: np.ndarray, recrop: Rect, image_size: tuple[int, int],
                   limits: TrackingLimits) -> bool:
    """``RoiTrackingCalculator``: whether the rect from the previous frame's landmarks ``(N, 2+)`` is kept
    instead of this frame's re-crop rect: the two rects agree within ``limits`` (compared along the re-crop
    rect's axes, in pixels) and every previous landmark lies inside the re-crop rect shrunk by its margin."""
    return (_rect_close(previous_rect, recrop, image_size, limits)
            and _points_inside(previous_points, recrop, image_size, limits.recrop_margin))
