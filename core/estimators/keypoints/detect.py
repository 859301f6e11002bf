"""MediaPipe Holistic (0.10.14, its bundled landmark models) -> :class:`Observation` per frame.

MediaPipe imports matplotlib for drawing helpers we never use; a stand-in module is registered first
so that it needs none. Model complexity 1 is the one whose models ship in the wheel (0 and 2 would be
downloaded).
"""

from __future__ import annotations

import sys
import types

import numpy as np

from ...errors import PocketMocapError
from .fit import Observation


def _import_mediapipe():
    for name in ("matplotlib", "matplotlib.pyplot"):
        sys.modules.setdefault(name, types.ModuleType(name))
    try:
        import mediapipe
    except ImportError as exc:
        raise PocketMocapError(f"MediaPipe could not be loaded ({exc}). Reinstall the extension.") from None
    return mediapipe


class LandmarkDetector:
    """Holistic landmarks for one stream: ``video=True`` tracks between frames (faster, steadier)."""

    def __init__(self, video: bool, hands_and_face: bool = True):
        mediapipe = _import_mediapipe()
        self.hands_and_face = hands_and_face
        if hands_and_face:
            self._graph = mediapipe.solutions.holistic.Holistic(
                static_image_mode=not video, model_complexity=1, refine_face_landmarks=False)
        else:
            self._graph = mediapipe.solutions.pose.Pose(static_image_mode=not video, model_complexity=1)

    def close(self) -> None:
        self._graph.close()

    def __enter__(self) -> LandmarkDetector:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def detect(self, rgb: np.ndarray) -> Observation | None:
        """Landmarks of the most prominent person in ``rgb (H, W, 3) uint8``, or ``None``."""
        height, width = rgb.shape[:2]
        result = self._graph.process(np.ascontiguousarray(rgb))
        if result.pose_landmarks is None or result.pose_world_landmarks is None:
            return None
        image = np.array([[p.x * width, p.y * height, p.visibility] for p in result.pose_landmarks.landmark])
        world = np.array([[p.x, p.y, p.z] for p in result.pose_world_landmarks.landmark])
        return Observation(width, height, image[:, :2], image[:, 2], world,
                           _points(getattr(result, "left_hand_landmarks", None), width, height),
                           _points(getattr(result, "right_hand_landmarks", None), width, height),
                           _points(getattr(result, "face_landmarks", None), width, height))


def _points(landmarks, width: int, height: int) -> np.ndarray | None:
    if landmarks is None:
        return None
    return np.array([[p.x * width, p.y * height, p.z * width] for p in landmarks.landmark])
