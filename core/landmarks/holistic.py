"""MediaPipe 0.10.14's Holistic graph (model complexity 1) without MediaPipe: the body first, then each hand and
the face from crops that the body's landmarks place (``HolisticLandmarkCpu``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .face import FaceTracker
from .hands import HandTracker
from .models import Network
from .pose import PosePoints, PoseTracker

# Run side by side after the body, one thread each, as MediaPipe's graph runs them (onnxruntime lets go of the GIL).
PARALLEL_NETWORKS = ("hand_recrop", "hand_landmark_full", "face_detection_short_range", "face_landmark")


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
        self.hands = self.face = self._pool = None
        if hands_and_face:
            networks = {**{name: Network(name, threads=1) for name in PARALLEL_NETWORKS}, **(networks or {})}
            self.hands, self.face = HandTracker(video, networks), FaceTracker(video, networks)
            self._pool = ThreadPoolExecutor(3, thread_name_prefix="landmarks")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    def __call__(self, rgb: np.ndarray) -> HolisticPoints | None:
        """The person in ``rgb (H, W, 3) uint8``, or ``None`` when nobody is found."""
        time_us = self.pose.time_us
        pose = self.pose(rgb)
        if pose is None:
            return None
        height, width = rgb.shape[:2]
        left = right = face = None
        if self.hands is not None:
            jobs = [self._pool.submit(self.hands.sides[side], rgb, pose.image, pose.visibility)
                    for side in ("left", "right")] + [self._pool.submit(self.face, rgb, pose.image, time_us)]
            left_hand, right_hand, face = (job.result() for job in jobs)
            left, right = (None if hand is None else hand.image for hand in (left_hand, right_hand))
        scale = np.array([width, height, width], np.float64)
        return HolisticPoints(pose, pose.pixels(width, height), *(None if points is None else points * scale
                                                                   for points in (left, right, face)))
