"""Identities across frames: each frame's people are matched to the tracks of the frames before by one
Hungarian assignment (``scipy.optimize.linear_sum_assignment``) on a cost from box overlap and landmark
distance, both against where constant velocity puts each track now. A track that misses frames keeps its
identity for MAX_MISSED_SECONDS (someone walking behind another person). A person that cost refuses is then offered
to the tracks no one took this frame on where they are alone (:func:`reacquire_distance`): a dancer lost for a few
frames, who comes back lying where she stood, or whose last landmarks were misread, is still herself. A person no
track can take is new.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_MISSED_SECONDS = 1.0
MAX_COST = 1.5  # above this a pairing is refused: that person is not this track
REACQUIRE_DISTANCE = 0.5  # of the body's size: a person this close to where a lost track should be is that track
VELOCITY_KEEP = 0.5  # weight of the previous velocity when a new one is measured (a light low-pass)


@dataclass
class Track:
    """One identity: where it was last seen and how it was moving (per frame)."""

    track_id: int
    box: np.ndarray  # (4,) x0, y0, x1, y1 pixels when last seen
    points: np.ndarray  # (33, 2) landmark pixels when last seen
    visible: np.ndarray  # (33,) bool: which of them were seen
    velocity: np.ndarray  # (2,) pixels per frame of the box centre
    last_frame: int
    first_frame: int
    frames_seen: int = 1

    def predicted_shift(self, frame: int) -> np.ndarray:
        return self.velocity * (frame - self.last_frame)

    def to_json(self) -> dict:
        return {"track_id": self.track_id, "box": self.box.tolist(), "points": self.points.tolist(),
                "visible": self.visible.tolist(), "velocity": self.velocity.tolist(), "last_frame": self.last_frame,
                "first_frame": self.first_frame, "frames_seen": self.frames_seen}

    @classmethod
    def from_json(cls, saved: dict) -> Track:
        return cls(int(saved["track_id"]), np.asarray(saved["box"], float), np.asarray(saved["points"], float),
                   np.asarray(saved["visible"], bool), np.asarray(saved["velocity"], float),
                   int(saved["last_frame"]), int(saved["first_frame"]), int(saved["frames_seen"]))


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    low, high = np.maximum(a[:2], b[:2]), np.minimum(a[2:], b[2:])
    inter = float(np.prod(np.clip(high - low, 0, None)))
    union = float(np.prod(a[2:] - a[:2]) + np.prod(b[2:] - b[:2])) - inter
    return inter / union if union > 0 else 0.0


def pairing_cost(track: Track, frame: int, box: np.ndarray, points: np.ndarray, visible: np.ndarray) -> float:
    """``1 - IoU`` of the predicted and the new box, plus the median distance of the landmarks seen in both
    (predicted by the track's velocity) over the track's body size; the allowance grows with the frames missed."""
    shift = track.predicted_shift(frame)
    predicted_box = track.box + np.tile(shift, 2)
    both = track.visible & visible
    if both.sum() < 4:
        both = np.ones(len(points), bool)
    size = max(float(np.max(track.box[2:] - track.box[:2])), 1.0)
    distance = float(np.median(np.linalg.norm(track.points[both] + shift - points[both], axis=1))) / size
    gap = max(1, frame - track.last_frame)
    return ((1.0 - box_iou(predicted_box, box)) + 2.0 * distance) / (1.0 + 0.1 * (gap - 1))


def reacquire_distance(track: Track, frame: int, box: np.ndarray) -> float:
    """How far the centre of ``box`` is from where the track's box should be now, over the larger side of the two
    boxes (a person lying down after standing keeps the larger side)."""
    predicted = (track.box[:2] + track.box[2:]) / 2 + track.predicted_shift(frame)
    size = max(float(np.max(track.box[2:] - track.box[:2])), float(np.max(box[2:] - box[:2])), 1.0)
    return float(np.linalg.norm((box[:2] + box[2:]) / 2 - predicted)) / size


class Tracker:
    """Stable identities for the people of a stream of frames (numbered from 1 in order of appearance)."""

    def __init__(self, fps: float):
        self.max_missed = max(2, round(MAX_MISSED_SECONDS * fps))
        self.tracks: list[Track] = []
        self.next_id = 1

    def update(self, frame: int, boxes: list[np.ndarray], points: list[np.ndarray], visible: list[np.ndarray]
               ) -> list[int]:
        """The track id of each of this ``frame``'s people (``boxes (4,)``, landmark ``points (33, 2)`` and
        which are ``visible (33,)``, pixels), new ids for new people."""
        self.tracks = [t for t in self.tracks if frame - t.last_frame <= self.max_missed]
        ids = [0] * len(boxes)
        if self.tracks and boxes:
            from scipy.optimize import linear_sum_assignment  # 0.3 s to import: only once there is something to match

            cost = np.array([[pairing_cost(t, frame, b, p, v) for b, p, v in zip(boxes, points, visible, strict=True)]
                             for t in self.tracks])
            rows, cols = linear_sum_assignment(np.minimum(cost, MAX_COST + 1.0))
            for row, col in zip(rows, cols, strict=True):
                if cost[row, col] <= MAX_COST:
                    ids[col] = self._follow(self.tracks[row], frame, boxes[col], points[col], visible[col])
            self._reacquire(frame, boxes, points, visible, ids)
        order = sorted((i for i in range(len(boxes)) if not ids[i]), key=lambda i: -_area(boxes[i]))
        for index in order:  # the larger new people get the smaller numbers
            ids[index] = self._start(frame, boxes[index], points[index], visible[index])
        return ids

    def _reacquire(self, frame: int, boxes: list[np.ndarray], points: list[np.ndarray], visible: list[np.ndarray],
                   ids: list[int]) -> None:
        """The people left without a track against the tracks no one took this frame, on where they are alone."""
        from scipy.optimize import linear_sum_assignment

        free = [t for t in self.tracks if t.last_frame < frame]
        left = [i for i in range(len(boxes)) if not ids[i]]
        if not free or not left:
            return
        distance = np.array([[reacquire_distance(t, frame, np.asarray(boxes[i], float)) for i in left] for t in free])
        rows, cols = linear_sum_assignment(np.minimum(distance, REACQUIRE_DISTANCE + 1.0))
        for row, col in zip(rows, cols, strict=True):
            if distance[row, col] <= REACQUIRE_DISTANCE:
                index = left[col]
                ids[index] = self._follow(free[row], frame, boxes[index], points[index], visible[index])

    def _follow(self, track: Track, frame: int, box: np.ndarray, points: np.ndarray, visible: np.ndarray) -> int:
        gap = max(1, frame - track.last_frame)
        measured = ((box[:2] + box[2:]) - (track.box[:2] + track.box[2:])) / 2 / gap
        track.velocity = VELOCITY_KEEP * track.velocity + (1 - VELOCITY_KEEP) * measured
        track.box, track.points, track.visible = np.asarray(box, float), np.asarray(points, float), visible.copy()
        track.last_frame, track.frames_seen = frame, track.frames_seen + 1
        return track.track_id

    def _start(self, frame: int, box: np.ndarray, points: np.ndarray, visible: np.ndarray) -> int:
        track = Track(self.next_id, np.asarray(box, float), np.asarray(points, float), visible.copy(), np.zeros(2),
                      frame, frame)
        self.tracks.append(track)
        self.next_id += 1
        return track.track_id

    def state(self) -> dict:
        return {"next_id": self.next_id, "tracks": [t.to_json() for t in self.tracks]}

    def restore(self, state: dict) -> None:
        self.next_id = int(state.get("next_id", 1))
        self.tracks = [Track.from_json(saved) for saved in state.get("tracks", [])]


def _area(box: np.ndarray) -> float:
    return float(np.prod(np.clip(box[2:] - box[:2], 0, None)))
