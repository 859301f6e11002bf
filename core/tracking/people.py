"""Holistic landmarks for every person of a photo or a video: people found in each frame (``detect.py``),
identities kept across frames (``tracker.py``), and for each identity its own body smoothing, next crop,
hands and face, as MediaPipe's Holistic graph keeps them for its one person (``core/landmarks``).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..landmarks.face import FaceTracker
from ..landmarks.hands import HandTracker
from ..landmarks.holistic import PARALLEL_NETWORKS, HolisticPoints
from ..landmarks.models import Network
from ..landmarks.pose import LANDMARKS, PoseTracker
from .detect import MAX_PEOPLE, VISIBLE, find_people
from .tracker import Tracker

DETECT_SECONDS = 0.5  # in video the detector looks for new people this often (and whenever someone was lost)
TILE_SECONDS = 4.0  # and over tiles, for people small in the frame, this often
TILE_MIN_SIDE = 1000  # pixels: frames with a shorter longer side are not tiled in video (people are not tiny)...
# ...while someone is tracked; while nobody is, every DETECT_SECONDS the tiles are searched too, whatever the frame's
# size (the detector on the whole frame missed a rendered dancer a third of a 512-pixel frame tall; a tile finds her)


@dataclass
class Identity:
    """What one tracked person carries from frame to frame."""

    pose: PoseTracker
    hands: HandTracker | None = None
    face: FaceTracker | None = None


class PeopleLandmarks:
    """Landmarks of everyone, frame by frame: ``__call__(rgb)`` -> ``{track id: HolisticPoints}``. ``video=True``
    tracks identities between frames; otherwise the one frame is searched over tiles too (people small in it).
    Says through ``crowded`` whether the last frame held more than ``limit`` people."""

    def __init__(self, video: bool, hands_and_face: bool = True, fps: float = 30.0, limit: int = MAX_PEOPLE):
        self.video, self.limit, self.fps = video, limit, fps
        # Several people's crops, and the detector's tiles, are read side by side, one thread a run; one person
        # alone is read on all the job's threads (19 against 14-16 ms on two cores; the same numbers).
        self.networks = {"pose_detection": Network("pose_detection", threads=1),
                         "pose_landmark_full": Network("pose_landmark_full")}
        self._side_by_side = Network("pose_landmark_full", threads=1)
        self._body_pool = ThreadPoolExecutor(max(1, int(os.environ.get("OMP_NUM_THREADS", "2"))),
                                             thread_name_prefix="people")
        self._pool = None
        if hands_and_face:
            self.networks |= {name: Network(name, threads=1) for name in PARALLEL_NETWORKS}
            self._pool = ThreadPoolExecutor(3, thread_name_prefix="landmarks")
        self.hands_and_face = hands_and_face
        self.tracker = Tracker(fps)
        self.identities: dict[int, Identity] = {}
        self.frame = 0
        self.crowded = False
        self._lost = False

    def close(self) -> None:
        self._body_pool.shutdown()
        if self._pool is not None:
            self._pool.shutdown()

    def state(self) -> dict:
        """What a resumed stream needs to keep its identities: the tracks and the frame count."""
        return {"tracker": self.tracker.state(), "frame": self.frame}

    def restore(self, state: dict) -> None:
        self.tracker.restore(state.get("tracker", {}))
        self.frame = int(state.get("frame", 0))

    def __call__(self, rgb: np.ndarray) -> dict[int, HolisticPoints]:
        """Everyone in ``rgb (H, W, 3) uint8``: ``{track id: landmarks}`` (empty when nobody is there)."""
        try:
            return self._people(np.ascontiguousarray(rgb))
        finally:
            self.frame += 1

    def _people(self, rgb: np.ndarray) -> dict[int, HolisticPoints]:
        height, width = rgb.shape[:2]
        size = (width, height)
        tracked = [identity.pose.previous for identity in self.identities.values()
                   if self.video and identity.pose.previous is not None]
        detect = not self.video or self._lost or not tracked or self._every(DETECT_SECONDS)
        tiled = not self.video or (max(size) >= TILE_MIN_SIDE and self._every(TILE_SECONDS)) or (
            not tracked and self._every(DETECT_SECONDS))
        readings, self.crowded = find_people(self.networks["pose_detection"], self.networks["pose_landmark_full"], rgb,
                                             tracked, tiled, detect, self.limit, self._body_pool, self._side_by_side)
        ids = self.tracker.update(self.frame, [r.box for r in readings], [r.pixels for r in readings],
                                  [r.raw.visibility[:LANDMARKS] > VISIBLE for r in readings]) if self.video else \
            _by_size(readings)
        found = {}
        for track_id, item in zip(ids, readings, strict=True):
            identity = self.identities.get(track_id) or self._new_identity(track_id)
            identity.pose.frame = self.frame  # the smoothing's clock is the stream's, also across missed frames
            pose = identity.pose.accept(item.raw, size)
            found[track_id] = (identity, pose)
        missing = [track_id for track_id in self.identities if track_id not in found]
        for track_id in missing:
            self.identities[track_id].pose.accept(None, size)
        self._lost = bool(missing) and self.video
        alive = {t.track_id for t in self.tracker.tracks} if self.video else set(found)
        self.identities = {k: v for k, v in self.identities.items() if k in alive}
        return self._hands_and_face(rgb, found)

    def _every(self, seconds: float) -> bool:
        return self.frame % max(1, round(seconds * self.fps)) == 0

    def _new_identity(self, track_id: int) -> Identity:
        identity = Identity(PoseTracker(self.video, networks=self.networks))
        if self.hands_and_face:
            identity.hands = HandTracker(self.video, self.networks)
            identity.face = FaceTracker(self.video, self.networks)
        self.identities[track_id] = identity
        return identity

    def _hands_and_face(self, rgb: np.ndarray, found: dict) -> dict[int, HolisticPoints]:
        height, width = rgb.shape[:2]
        scale = np.array([width, height, width], np.float64)
        jobs = {}
        if self._pool is not None:
            for track_id, (identity, pose) in found.items():
                jobs[track_id] = [self._pool.submit(identity.hands.sides[side], rgb, pose.image, pose.visibility)
                                  for side in ("left", "right")]
                jobs[track_id].append(self._pool.submit(identity.face, rgb, pose.image, identity.pose.time_us))
        people = {}
        for track_id, (_, pose) in found.items():
            left = right = face = None
            if track_id in jobs:
                left_hand, right_hand, face = (job.result() for job in jobs[track_id])
                left, right = (None if hand is None else hand.image for hand in (left_hand, right_hand))
            people[track_id] = HolisticPoints(pose, pose.pixels(width, height), *(
                None if points is None else points * scale for points in (left, right, face)))
        return people


def _by_size(readings: list) -> list[int]:
    """Numbers for the people of one photo: 1 for the largest, then by size."""
    order = sorted(range(len(readings)), key=lambda i: -float(np.prod(readings[i].box[2:] - readings[i].box[:2])))
    ids = [0] * len(readings)
    for number, index in enumerate(order, start=1):
        ids[index] = number
    return ids
