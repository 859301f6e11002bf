"""MediaPipe Holistic's landmarks (0.10.14's bundled models, on onnxruntime: ``core/landmarks``) ->
:class:`Observation` per frame."""

from __future__ import annotations

import numpy as np

from ...landmarks.holistic import Holistic
from .fit import Observation


class LandmarkDetector:
    """Holistic landmarks for one stream: ``video=True`` tracks between frames (faster, steadier).
    ``segmentation=True`` also returns the person mask (``Observation.segmentation``)."""

    def __init__(self, video: bool, hands_and_face: bool = True, segmentation: bool = False):
        self.hands_and_face = hands_and_face
        self._holistic = Holistic(video, hands_and_face, segmentation)

    def close(self) -> None:
        self._holistic.close()

    def __enter__(self) -> LandmarkDetector:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def detect(self, rgb: np.ndarray) -> Observation | None:
        """Landmarks of the most prominent person in ``rgb (H, W, 3) uint8``, or ``None``."""
        height, width = rgb.shape[:2]
        found = self._holistic(np.ascontiguousarray(rgb))
        if found is None:
            return None
        pose = found.pose
        return Observation(width, height, found.pose_pixels[:, :2].copy(), pose.visibility.copy(), pose.world.copy(),
                           found.left_hand, found.right_hand, found.face, pose.segmentation)


class PeopleDetector:
    """Holistic landmarks of everyone in a stream (``core/tracking``): ``detect(rgb)`` -> ``{track id:
    Observation}``; ``video=True`` keeps identities between frames, otherwise the one photo is searched over
    tiles too. ``crowded`` says whether the last frame held more people than ``limit``."""

    def __init__(self, video: bool, hands_and_face: bool = True, fps: float = 30.0, limit: int | None = None):
        from ...tracking.detect import MAX_PEOPLE
        from ...tracking.people import PeopleLandmarks

        self.limit = limit or MAX_PEOPLE
        self._people = PeopleLandmarks(video, hands_and_face, fps, self.limit)

    @property
    def crowded(self) -> bool:
        return self._people.crowded

    def state(self) -> dict:
        return self._people.state()

    def restore(self, state: dict) -> None:
        self._people.restore(state)

    def close(self) -> None:
        self._people.close()

    def __enter__(self) -> PeopleDetector:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def detect(self, rgb: np.ndarray) -> dict[int, Observation]:
        """Everyone in ``rgb (H, W, 3) uint8`` (shrunk for detection when huge; points in its own pixels)."""
        import cv2

        height, width = rgb.shape[:2]
        scale = min(1.0, DETECTION_MAX_SIDE / max(width, height))
        small = rgb if scale == 1.0 else cv2.resize(rgb, (round(width * scale), round(height * scale)),
                                                    interpolation=cv2.INTER_AREA)
        people = {}
        for track_id, found in self._people(small).items():
            pose = found.pose
            hands_face = [None if points is None else np.column_stack([points[:, :2] / scale, points[:, 2] / scale])
                          for points in (found.left_hand, found.right_hand, found.face)]
            people[track_id] = Observation(width, height, found.pose_pixels[:, :2] / scale, pose.visibility.copy(),
                                           pose.world.copy(), *hands_face)
        return people


DETECTION_MAX_SIDE = 1920  # larger photos are shrunk for detection only; landmarks are scaled back


def detect_anywhere(detector: LandmarkDetector, rgb: np.ndarray) -> Observation | None:
    """Detect in the whole image (shrunk if huge); if nobody is found, in overlapping crops, since
    MediaPipe misses people who are small in the frame. Landmarks come back in full-image pixels."""
    found = _detect_scaled(detector, rgb, 0, 0, rgb.shape[:2])
    if found is not None:
        return found
    height, width = rgb.shape[:2]
    best = None
    for x0, y0, x1, y1 in _crops(width, height):
        candidate = _detect_scaled(detector, rgb[y0:y1, x0:x1], x0, y0, rgb.shape[:2])
        if candidate is not None and (best is None or candidate.visibility.mean() > best.visibility.mean()):
            best = candidate
    if best is not None:
        best.width, best.height = width, height
    return best


def _crops(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """A centre crop and a 2 x 2 grid of half-size crops overlapping by a quarter."""
    w, h = width // 2, height // 2
    boxes = [(width // 4, height // 4, width // 4 + w, height // 4 + h)]
    for fx in (0.0, 0.5):
        for fy in (0.0, 0.5):
            x0, y0 = int(fx * width), int(fy * height)
            boxes.append((x0, y0, min(width, x0 + w), min(height, y0 + h)))
    return boxes


def _detect_scaled(detector: LandmarkDetector, rgb: np.ndarray, x0: int, y0: int, full: tuple[int, int]
                   ) -> Observation | None:
    import cv2

    height, width = rgb.shape[:2]
    scale = min(1.0, DETECTION_MAX_SIDE / max(width, height))
    small = rgb if scale == 1.0 else cv2.resize(rgb, (round(width * scale), round(height * scale)),
                                                interpolation=cv2.INTER_AREA)
    found = detector.detect(small)
    if found is None:
        return None
    offset = np.array([x0, y0], np.float64)
    found.pose_2d = found.pose_2d / scale + offset
    for name in ("left_hand", "right_hand", "face"):
        points = getattr(found, name)
        if points is not None:
            setattr(found, name, np.column_stack([points[:, :2] / scale + offset, points[:, 2] / scale]))
    if found.segmentation is not None:  # back to this region's pixels, then into the whole image's frame
        mask = cv2.resize(found.segmentation, (width, height), interpolation=cv2.INTER_LINEAR)
        found.segmentation = np.zeros(full, np.float32)
        found.segmentation[y0:y0 + height, x0:x0 + width] = mask
    found.width, found.height = width, height
    return found
