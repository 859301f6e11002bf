"""Identities across frames (core/tracking/tracker.py) and the per-frame people search's pure parts
(core/tracking/detect.py), on synthetic people: crossing, occlusion, newcomers, tiles, duplicates."""

from __future__ import annotations

import numpy as np
import pytest

from pocket_mocap.core.landmarks.geometry import Rect
from pocket_mocap.core.landmarks.pose import RawPose
from pocket_mocap.core.tracking.detect import Reading, part_of, same_person, tiles
from pocket_mocap.core.tracking.tracker import Tracker, box_iou

RNG = np.random.default_rng(7)
BODY = RNG.uniform(0, 1, (33, 2))  # a stand-in skeleton in its unit box
OTHER_BODY = RNG.uniform(0, 1, (33, 2))


def person(centre_x: float, centre_y: float = 300.0, height: float = 300.0, body: np.ndarray = BODY):
    """A person's box and landmarks (pixels), standing ``height`` tall around the centre."""
    width = height / 2
    points = (body - 0.5) * (width, height) + (centre_x, centre_y)
    return points.min(axis=0).tolist() + points.max(axis=0).tolist(), points


def step(tracker: Tracker, frame: int, people: list) -> list[int]:
    boxes = [np.asarray(box) for box, _ in people]
    return tracker.update(frame, boxes, [points for _, points in people], [np.ones(33, bool)] * len(people))


def test_two_people_crossing_keep_their_identities():
    """A walks right, B walks left at the same speed; they overlap completely halfway (frame 20)."""
    tracker = Tracker(fps=12.0)
    for frame in range(41):
        a = person(200.0 + 15.0 * frame, body=BODY)
        b = person(800.0 - 15.0 * frame, height=280.0, body=OTHER_BODY)
        ids = step(tracker, frame, [b, a] if frame % 2 else [a, b])  # the detector's order means nothing
        ids = ids[::-1] if frame % 2 else ids
        assert ids == [1, 2], f"frame {frame}: A and B are {ids}"


def test_a_short_occlusion_keeps_the_identity_and_a_long_one_does_not():
    tracker = Tracker(fps=12.0)  # one second: 12 frames
    for frame in range(10):
        assert step(tracker, frame, [person(300.0 + 5 * frame), person(900.0)]) == [1, 2]
    for frame in range(10, 18):  # A walks behind something for 8 frames, still moving
        assert step(tracker, frame, [person(900.0)]) == [2]
    assert step(tracker, 18, [person(300.0 + 5 * 18), person(900.0)]) == [1, 2], "A comes back as A"
    for frame in range(19, 40):  # now A is gone for 21 frames, longer than a second
        assert step(tracker, frame, [person(900.0)]) == [2]
    assert step(tracker, 40, [person(300.0 + 5 * 40), person(900.0)]) == [3, 2], "a new identity"


def test_newcomers_get_new_numbers_the_larger_first():
    tracker = Tracker(fps=30.0)
    assert step(tracker, 0, [person(300.0)]) == [1]
    ids = step(tracker, 1, [person(1200.0, height=150.0), person(300.0), person(700.0, height=400.0)])
    assert ids == [3, 1, 2]


def test_a_far_away_person_is_not_taken_for_a_lost_track():
    tracker = Tracker(fps=30.0)
    step(tracker, 0, [person(300.0)])
    assert step(tracker, 1, [person(1500.0)]) == [2]


def test_tracker_state_survives_a_resume():
    tracker = Tracker(fps=12.0)
    for frame in range(5):
        step(tracker, frame, [person(300.0 + 10 * frame), person(900.0 - 10 * frame)])
    resumed = Tracker(fps=12.0)
    resumed.restore(tracker.state())
    assert step(resumed, 5, [person(900.0 - 50), person(300.0 + 50)]) == [2, 1]
    assert resumed.next_id == 3


def test_box_iou():
    assert box_iou(np.array([0, 0, 2, 2.0]), np.array([1, 1, 3, 3.0])) == pytest.approx(1 / 7)
    assert box_iou(np.array([0, 0, 1, 1.0]), np.array([2, 2, 3, 3.0])) == 0.0


@pytest.mark.parametrize("size", [(640, 425), (1280, 720), (1080, 1920), (1800, 1500), (100, 80)])
def test_tiles_cover_the_frame_at_each_scale(size):
    width, height = size
    found = tiles(width, height)
    for x0, y0, x1, y1 in found:
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height and x1 - x0 == y1 - y0
    for side in {x1 - x0 for x0, _, x1, _ in found}:
        covered = np.zeros((height, width), bool)
        for x0, y0, x1, y1 in found:
            if x1 - x0 == side:
                covered[y0:y1, x0:x1] = True
        assert covered.all(), f"tiles of side {side} leave a gap"
    assert len({x1 - x0 for x0, _, x1, _ in found}) == {(640, 425): 2, (1280, 720): 2, (1080, 1920): 2,
                                                         (1800, 1500): 3, (100, 80): 0}[size]


def reading(points: np.ndarray, visible: np.ndarray | None = None) -> Reading:
    visibility = np.ones(35) if visible is None else np.concatenate([visible, [1.0, 1.0]])
    raw = RawPose(np.zeros((35, 3)), visibility, np.ones(35), np.zeros((33, 3)), 1.0, Rect(0.5, 0.5, 1, 1), None)
    return Reading(raw, points, np.concatenate([points.min(axis=0), points.max(axis=0)]), False)


def test_one_person_read_twice_is_one_person_and_two_people_are_two():
    _, points = person(500.0)
    again = reading(points + RNG.normal(0, 3, points.shape))
    assert same_person(reading(points), again)
    _, neighbour = person(700.0, body=OTHER_BODY)
    assert not same_person(reading(points), reading(neighbour))


def test_a_leg_read_as_a_small_body_is_a_part_but_someone_behind_is_not():
    _, points = person(500.0, height=400.0)
    whole = reading(points)
    _, leg = person(480.0, centre_y=420.0, height=120.0, body=OTHER_BODY)  # wholly inside, elsewhere
    assert part_of(reading(leg), whole)
    _, behind = person(572.0, centre_y=260.0, height=220.0, body=OTHER_BODY)  # 3/4 inside, a third the size
    low, high = behind.min(axis=0), behind.max(axis=0)
    shared = np.flatnonzero(np.all((points > low) & (points < high), axis=1))[:10]
    assert len(shared) >= 7
    elsewhere = behind.copy()
    behind[shared] = points[shared]  # where they overlap, the model put some of the same landmarks on the same spots
    assert not part_of(reading(behind), whole)
    assert part_of(reading(elsewhere), whole), "a small body drawn inside, with no landmark near theirs, is a part"
    assert not part_of(whole, reading(leg)), "the larger one is never a part of the smaller"


def test_a_person_lost_for_a_moment_and_back_in_another_pose_keeps_the_identity():
    """A dancer's landmarks misread in her last frames before she is lost (a body upside down, as MediaPipe read
    a held-out render), then back two frames later lying where she stood: the landmarks no longer match, the place
    does. Someone as far off as a body's height is still someone else."""
    tracker = Tracker(fps=30.0)
    for frame in range(10):
        assert step(tracker, frame, [person(300.0)]) == [1]
    assert step(tracker, 10, [person(300.0, body=1.0 - BODY)]) == [1]
    lying_box = [150.0, 300.0, 450.0, 450.0]  # wider than tall, around where she stood
    lying = (OTHER_BODY - 0.5) * (300.0, 150.0) + (300.0, 375.0)
    assert tracker.update(13, [np.asarray(lying_box)], [lying], [np.ones(33, bool)]) == [1]
    assert step(tracker, 14, [person(300.0), person(600.0, body=OTHER_BODY)]) == [1, 2]
