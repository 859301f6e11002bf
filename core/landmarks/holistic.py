"""MediaPipe 0.10.14's Holistic graph (model complexity 1) without MediaPipe: the body first, then each hand and
the face from crops that the body's landmarks place (``HolisticLandmarkCpu``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .face import FaceTracker
from .hands import HandTracker
from .pose import PosePoints, PoseTracker


@dataclass
class HolisticPoints:
    """One person in one frame; every point in pixels of the frame (z in the scale of x)."""

    pose: PosePoints
    pose_pixels: np.ndarray  # (33, 3)
    left_hand: np.ndarray | None  # (21, 3)
    right_hand: np.ndarray | None  # (21, 3)
    face: np.ndarray | None  # (468, 3)


class Holistic:
    """Landmarks of the most prominent person, frame by frame; ``video=True`` tracks between frames.
    ``hands_and_face=False`` runs the body alone; ``segmentation=True`` adds the person mask."""

    def __init__(self, video: bool, hands_and_face: bool = True, segmentation: bool = False,
                 networks: dict | None = None):
        self.pose = PoseTracker(video, segmentation, networks)
        self.hands = HandTracker(video, networks) if hands_and_face else None
        self.face = FaceTracker(video, networks) if hands_and_face else None

    def __call__(self, rgb: np.ndarray) -> HolisticPoints | None:
        """The person in ``rgb (H, W, 3) uint8``, or ``None`` when nobody is found."""
        time_us = self.pose.time_us
        pose = self.pose(rgb)
        if pose is None:
            return None
        height, width = rgb.shape[:2]
        left = right = face = None
        if self.hands is not None:
            left, right = self.hands(rgb, pose.image, pose.visibility, time_us)
            face = self.face(rgb, pose.image, time_us)
        scale = np.array([width, height, width], np.float64)
        return HolisticPoints(pose, pose.pixels(width, height), *(None if points is None else points * scale
                                                                   for points in (left, right, face)))
