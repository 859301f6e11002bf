"""Every person in one frame: the BlazePose detector over the whole frame and, where people may be small in it,
over overlapping square tiles at up to three scales; the landmark model on each person's crop; duplicates and
parts merged.

The detector was trained to find one prominent person, so on the whole frame it misses people who are small or
partly hidden behind others; on a tile the same person fills more of its 224² input. Every reading is checked
against the people already kept (by their boxes and landmarks), so a person seen in several tiles, or once from
the previous frame's crop and once by the detector, is read once.

Given a thread pool, the network runs that do not depend on each other (every tracked person's crop, the detector
on the frame and on each tile) run side by side, one thread each: onnxruntime lets go of the GIL, and a small
network keeps two cores busier as two one-thread runs than as one two-thread run. Their results are then taken in
the order above, so the readings are the same with a pool or without.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass

import numpy as np

from ..landmarks.detection import Detection
from ..landmarks.geometry import Rect
from ..landmarks.pose import (
    LANDMARKS,
    RawPose,
    landmarks_in_rect,
    person_detections,
    rect_from_auxiliary,
    rect_from_detection,
)
from .tracker import box_iou

MAX_PEOPLE = 20  # per frame; a larger crowd keeps the 20 found first and says so (each costs a fit per frame)
MAX_READINGS = 3 * MAX_PEOPLE  # landmark runs per frame, duplicates included: a bound on the time a frame takes
# Tile sides as fractions of the frame's shorter side, each with the smallest side in pixels worth a tile: smaller
# ones are enlarged well past the detector's own 224² input, and quarter tiles of a frame that is not large see
# bits of scenery that the landmark model then reads as people.
TILE_SCALES = ((1.0, 160), (0.5, 160), (0.25, 300))
TILE_OVERLAP = 1 / 3
TILE_BODY = 0.5  # of the detector's body radius: where the body's outline is taken to be
TILE_MARGIN = 0.15  # of a tile's side: how far a body may reach past its edge and still count as inside
SAME_BOX = 0.6  # boxes overlapping this much (IoU) are one person read twice (the model cannot part two so close)
SAME_PERSON = 0.12  # median landmark distance over the body's size below which two readings are one person
PART_INSIDE = (0.7, 0.9)  # a reading whose box lies this much inside a larger person's box, with its landmarks
PART_AGREE = 0.2  # mostly elsewhere than theirs (or wholly inside), is a part of them that a tile saw alone...
PART_AREA = 0.6  # ...when its box is also under this share of theirs (a leg or a torso read as a whole body)
SAME_CROP = 0.25  # a detection whose crop centre lies this close (fraction of a kept crop's side) is that person
VISIBLE = 0.5


@dataclass
class Reading:
    """One person's landmarks in one frame, with where they came from."""

    raw: RawPose
    pixels: np.ndarray  # (33, 2)
    box: np.ndarray  # (4,) x0, y0, x1, y1 pixels of the visible landmarks
    tracked: bool  # read from the crop that the previous frame's landmarks placed

    @property
    def size(self) -> float:
        return float(max(self.box[2] - self.box[0], self.box[3] - self.box[1], 1.0))


def tiles(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """Overlapping square tiles ``(x0, y0, x1, y1)``, larger first, sides the fractions TILE_SCALES of the shorter
    side (where that is large enough); each scale covers the whole frame."""
    found = []
    for fraction, smallest in TILE_SCALES:
        side = int(min(width, height) * fraction)
        if side < smallest:
            continue
        step = max(1, int(side * (1 - TILE_OVERLAP)))
        starts_x = _starts(width, side, step)
        for y0 in _starts(height, side, step):
            found.extend((x0, y0, x0 + side, y0 + side) for x0 in starts_x)
    return [tile for tile in found if tile != (0, 0, width, height)]


def _starts(length: int, side: int, step: int) -> list[int]:
    starts = list(range(0, max(1, length - side + 1), step))
    if starts[-1] + side < length:
        starts.append(length - side)
    return starts


def detections(network: Callable, rgb: np.ndarray, tiled: bool, min_score: float = 0.5,
               pool: Executor | None = None) -> list[Detection]:
    """The detector's people in ``rgb (H, W, 3) uint8``, normalised to the whole frame: the whole frame's best
    first, then each tile's (``tiled``) whose body lies within the tile (one that a tile's edge cuts is a part of
    somebody, seen whole by a larger tile). The tiles are read side by side on ``pool`` where there is one."""
    return collect_detections(start_detections(network, rgb, tiled, min_score, pool), rgb.shape[:2])


def start_detections(network: Callable, rgb: np.ndarray, tiled: bool, min_score: float = 0.5,
                     pool: Executor | None = None) -> list[tuple[tuple[int, int, int, int] | None, Future]]:
    """The detector's runs on the whole frame and (``tiled``) on each tile, started on ``pool`` (or run now):
    ``(tile or None, future list of detections normalised to that region)``, for :func:`collect_detections`."""
    height, width = rgb.shape[:2]
    runs = [(None, later(pool, person_detections, network, rgb, min_score))]
    for tile in tiles(width, height) if tiled else ():
        x0, y0, x1, y1 = tile
        runs.append((tile, later(pool, person_detections, network, np.ascontiguousarray(rgb[y0:y1, x0:x1]),
                                 min_score)))
    return runs


def collect_detections(runs: list[tuple[tuple[int, int, int, int] | None, Future]], shape: tuple[int, int]
                       ) -> list[Detection]:
    """:func:`start_detections`' runs in the whole frame's coordinates, in order, less the tiles' cut bodies."""
    height, width = shape
    found = []
    for tile, run in runs:
        if tile is None:
            found.extend(run.result())
            continue
        x0, y0, x1, y1 = tile
        scale, offset = np.array([x1 - x0, y1 - y0]), np.array([x0, y0])
        for detection in run.result():
            if _cut_by_tile(detection.keypoints * scale + offset, tile, (width, height)):
                continue
            keypoints = (detection.keypoints * scale + offset) / (width, height)
            box = ((detection.box.reshape(2, 2) * scale + offset) / (width, height)).ravel()
            found.append(Detection(detection.score, box.astype(np.float32), keypoints.astype(np.float32)))
    return found


def later(pool: Executor | None, function: Callable, *args) -> Future:
    """``function(*args)`` started on ``pool``, or run now where there is none; its future either way."""
    if pool is not None:
        return pool.submit(function, *args)
    future: Future = Future()
    future.set_result(function(*args))
    return future


def _cut_by_tile(keypoints: np.ndarray, tile: tuple[int, int, int, int], size: tuple[int, int]) -> bool:
    """Whether the body the detector placed (keypoints in frame pixels: hip centre, then a point at the body's
    radius) reaches past an edge of the tile that is not the frame's own edge."""
    centre, radius = keypoints[0], float(np.linalg.norm(keypoints[1] - keypoints[0]))
    low, high = centre - radius * TILE_BODY, centre + radius * TILE_BODY
    x0, y0, x1, y1 = tile
    margin = (x1 - x0) * TILE_MARGIN
    return bool((x0 > 0 and low[0] < x0 - margin) or (y0 > 0 and low[1] < y0 - margin)
                or (x1 < size[0] and high[0] > x1 + margin) or (y1 < size[1] and high[1] > y1 + margin))


def reading(raw: RawPose, size: tuple[int, int], tracked: bool) -> Reading:
    """``raw`` landmarks (normalised) as a :class:`Reading` in pixels of a ``size`` frame, boxed by the landmarks
    it sees (all of them when it sees fewer than four)."""
    pixels = raw.points[:LANDMARKS, :2] * size
    seen = raw.visibility[:LANDMARKS] > VISIBLE
    points = pixels[seen] if seen.sum() >= 4 else pixels
    return Reading(raw, pixels, np.concatenate([points.min(axis=0), points.max(axis=0)]), tracked)


def same_person(a: Reading, b: Reading) -> bool:
    """Whether two readings are one person: their boxes nearly coincide, or their landmarks seen in both lie
    close together for the smaller body's size (a half-body reading of a person is that person)."""
    if box_iou(a.box, b.box) >= SAME_BOX:
        return True
    seen = (a.raw.visibility[:LANDMARKS] > VISIBLE) & (b.raw.visibility[:LANDMARKS] > VISIBLE)
    if seen.sum() < 4:
        seen = np.ones(LANDMARKS, bool)
    distance = np.median(np.linalg.norm(a.pixels[seen] - b.pixels[seen], axis=1))
    return bool(distance < SAME_PERSON * min(a.size, b.size))


def part_of(a: Reading, b: Reading) -> bool:
    """Whether reading ``a`` is a part of person ``b`` read from a crop that held only that part (the landmark
    model then draws a whole small body there): its box is much smaller and lies inside theirs, wholly, or mostly
    with few landmarks near theirs. Someone partly behind a larger person keeps landmarks near the front
    person's where they overlap; a small person wholly in front of a larger one is lost with it."""
    low, high = np.maximum(a.box[:2], b.box[:2]), np.minimum(a.box[2:], b.box[2:])
    inside = float(np.prod(np.clip(high - low, 0, None)))
    area, other = (float(np.prod(np.clip(box[2:] - box[:2], 1e-6, None))) for box in (a.box, b.box))
    if area >= PART_AREA * other or inside < PART_INSIDE[0] * area:
        return False
    if inside >= PART_INSIDE[1] * area:
        return True
    seen = (a.raw.visibility[:LANDMARKS] > VISIBLE) & (b.raw.visibility[:LANDMARKS] > VISIBLE)
    near = np.linalg.norm(a.pixels - b.pixels, axis=1) < 0.1 * b.size
    return float(near[seen].mean()) < PART_AGREE if seen.any() else True


def _crop_taken(rect: Rect, kept: list[Reading], size: tuple[int, int]) -> bool:
    """Whether a detection's crop ``rect`` is where a kept person's next crop would be (same place and size)."""
    width, height = size
    for person in kept:
        other = rect_from_auxiliary(person.raw.points[LANDMARKS:], size)
        side, other_side = rect.width * width, other.width * width
        shift = np.hypot((rect.x_center - other.x_center) * width, (rect.y_center - other.y_center) * height)
        if shift < SAME_CROP * other_side and 0.6 < side / max(other_side, 1e-6) < 1.6:
            return True
    return False


def find_people(detector: Callable, landmarker: Callable, rgb: np.ndarray, tracked: list[Rect] = (),
                tiled: bool = False, detect: bool = True, limit: int = MAX_PEOPLE, pool: Executor | None = None,
                side_by_side: Callable | None = None) -> tuple[list[Reading], bool]:
    """Everyone in ``rgb (H, W, 3) uint8``: first from the crops ``tracked`` (the previous frame's people),
    then from the detector (``detect``; over tiles too when ``tiled``), each read once. Returns the readings in
    that order, at most ``limit``, and whether more people than that were there. With a ``pool``, the detector's
    runs and (several of them) the tracked crops are read side by side, the crops on ``side_by_side`` (the
    landmark model on one thread; one crop alone is read on ``landmarker``, on all of them): the same readings."""
    size = (rgb.shape[1], rgb.shape[0])
    kept: list[Reading] = []
    together = pool is not None and side_by_side is not None and len(tracked) > 1
    tracked_runs = [later(pool if together else None, landmarks_in_rect, side_by_side if together else landmarker,
                          rgb, rect) for rect in tracked]
    detector_runs = start_detections(detector, rgb, tiled, pool=pool) if detect else []
    runs = len(tracked_runs)

    def consider(raw: RawPose | None, was_tracked: bool) -> None:
        if raw is None:
            return
        candidate = reading(raw, size, was_tracked)
        if not any(same_person(candidate, person) for person in kept):
            kept.append(candidate)

    for run in tracked_runs:
        consider(run.result(), True)
    unread = 0
    for detection in collect_detections(detector_runs, rgb.shape[:2]):
        rect = rect_from_detection(detection, size)
        if _crop_taken(rect, kept, size):
            continue
        if runs >= MAX_READINGS or len(kept) > limit:
            unread += 1  # a crowd: stop reading, the frame's time stays bounded
            continue
        runs += 1
        consider(landmarks_in_rect(landmarker, rgb, rect), False)
    whole = []
    for candidate in sorted(kept, key=lambda r: -float(np.prod(r.box[2:] - r.box[:2]))):
        if not any(part_of(candidate, person) for person in whole):
            whole.append(candidate)
    people = [r for r in kept if any(r is w for w in whole)]  # back in the order found: tracked people first
    return people[:limit], len(people) > limit or unread > 0 and len(people) >= limit
