"""Result files: per-frame chunks written atomically while a job runs (so a killed job keeps what it
finished and can resume), and the final ``.npz`` in the AMASS / SMPL-X layout plus our fields."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from ..fileio import replace_atomically

PER_FRAME = ("poses", "trans", "joints", "joints_2d", "confidence", "person_box")
OPTIONAL_PER_FRAME = ("expression", "time", "background_motion", "landmarks")  # (F, E) from estimators that
# predict the face; (F,) s of a video frame; (F,) the background's motion since the previous frame (a fraction of
# the width); (F, 33, 6) the MediaPipe landmarks the keypoint fit read: pixels x y, visibility, world x y z
GROUNDED = ("contacts", "world_root_orient", "world_trans")  # (F, 4), (F, 3), (F, 3) of a grounded video


def _save_atomic(path: Path, arrays: dict, durable: bool = True) -> None:
    """Temporary file beside ``path``, renamed (and flushed to disk first unless ``durable`` is off): a killed
    job or a full disk leaves the old file or none, never a part of one."""
    replace_atomically(lambda temp: np.savez(temp, **arrays), path, durable)


class ChunkStore:
    """``folder/chunk_000120.npz`` holds frames 120.. of one input, with the state needed to resume."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def chunks(self) -> list[Path]:
        """The contiguous, readable chunks from frame 0 (a gap or a damaged chunk ends the list: later ones are
        redone)."""
        found, expected = [], 0
        for path in sorted(self.folder.glob("chunk_*.npz")):
            if int(path.stem.split("_")[1]) != expected:
                break
            try:
                with np.load(path) as data:
                    expected += data["confidence"].shape[-1]
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
                break  # emptied by a power cut (chunks are not flushed to disk): redone from here
            found.append(path)
        return found

    def next_frame(self) -> int:
        total = 0
        for path in self.chunks():
            with np.load(path) as data:
                total += data["confidence"].shape[-1]  # (frames,), or (people, frames)
        return total

    def write(self, start: int, frames: dict[str, list], state: dict) -> None:
        arrays = {key: np.asarray(value, np.float32) for key, value in frames.items()}
        arrays["state"] = np.frombuffer(json.dumps(_jsonable(state)).encode(), np.uint8)
        _save_atomic(self.folder / f"chunk_{start:06d}.npz", arrays, durable=False)  # a chunk is scratch

    def state(self) -> dict:
        chunks = self.chunks()
        if not chunks:
            return {}
        with np.load(chunks[-1]) as data:
            return json.loads(bytes(data["state"]).decode())

    def frames(self) -> dict[str, np.ndarray]:
        """All finished frames, concatenated: ``{name: (F, ...)}``."""
        parts: dict[str, list] = {key: [] for key in PER_FRAME}
        chunks = self.chunks()
        for path in chunks:
            with np.load(path) as data:
                for key in PER_FRAME:
                    parts[key].append(data[key])
                for key in OPTIONAL_PER_FRAME:
                    if key in data.files:
                        parts.setdefault(key, []).append(data[key])
        return {key: np.concatenate(value) if value else np.zeros((0,)) for key, value in parts.items()
                if key in PER_FRAME or len(value) == len(chunks)}


    def people(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """All finished frames of chunks written per person (``track_id (L,)`` and ``(L, n, ...)`` arrays):
        ``track_id (P,)`` in order of appearance and ``{name: (P, F, ...)}`` with ``presence (P, F)``; a person's
        frames before their first chunk are the rest pose, absent, confidence 0. ``time`` and
        ``background_motion`` stay ``(F,)``."""
        chunks = []
        for path in self.chunks():
            with np.load(path) as data:
                chunks.append({key: data[key] for key in data.files if key != "state"})
        ids = list(dict.fromkeys(int(i) for chunk in chunks for i in chunk["track_id"]))
        tails = {key: value.shape[2:] for chunk in chunks for key, value in chunk.items()
                 if key not in PER_CHUNK and value.shape[0]}
        merged: dict[str, list] = {}
        for chunk in chunks:
            rows = {int(i): row for row, i in enumerate(chunk["track_id"])}
            count = chunk["confidence"].shape[-1]
            for key in PER_CHUNK[1:]:
                if key in chunk:
                    merged.setdefault(key, []).append(chunk[key])
            for key, tail in tails.items():
                block = np.zeros((len(ids), count) + tail, np.float32)
                for person, track_id in enumerate(ids):
                    if track_id in rows and key in chunk:
                        block[person] = chunk[key][rows[track_id]]
                merged.setdefault(key, []).append(block)
        frames = {key: np.concatenate(parts, axis=0 if key in PER_CHUNK else 1) for key, parts in merged.items()
                  if key not in PER_CHUNK or len(parts) == len(chunks)}
        return np.asarray(ids, np.int64), frames


PER_CHUNK = ("track_id", "time", "background_motion")  # per chunk or per frame, not per person


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


def write_result(path: Path, frames: dict[str, np.ndarray], *, betas: np.ndarray, fps: float, family: str,
                 gender: str, intrinsics: np.ndarray, extra: dict, track_ids: np.ndarray | None = None) -> Path:
    """The result ``.npz``: AMASS / SMPL-X keys, ``confidence``, ``camera_intrinsics``, ``person_box``,
    ``joints (F, 24, 3)`` (camera space, metres) and ``joints_2d (F, 24, 2)`` (pixels); ``expression (F, E)``
    when the estimator predicts the face; ``landmarks (F, 33, 6)``, the MediaPipe pose landmarks the keypoint fit
    read (pixels x, y, visibility, world x, y, z; where the person is not seen, confidence 0, the last seen frame's,
    zero before they first appear); a grounded video's ``contacts``, ``world_root_orient`` and ``world_trans``
    (its clip fields, ``floor`` and ``world_from_camera``, come in ``extra``). With ``track_ids (P,)`` (several
    people) every per-frame array has a leading person axis, ``(P, F, ...)``, ``betas`` is ``(P, B)`` and
    ``presence (P, F)`` bool says in which frames each person was seen; one person keeps the layout without that
    axis."""
    arrays = {
        "poses": frames["poses"], "trans": frames["trans"], "betas": np.asarray(betas, np.float32),
        "mocap_framerate": np.float64(fps), "surface_model_type": np.str_(family), "gender": np.str_(gender),
        "confidence": frames["confidence"], "camera_intrinsics": np.asarray(intrinsics, np.float32),
        "person_box": frames["person_box"], "joints": frames["joints"], "joints_2d": frames["joints_2d"],
    }
    for key in ("expression", "landmarks"):
        if key in frames:
            arrays[key] = np.asarray(frames[key], np.float32)
    arrays |= {key: np.asarray(frames[key], np.float32) for key in GROUNDED if key in frames}  # a grounded video
    if track_ids is not None:
        arrays["track_id"] = np.asarray(track_ids, np.int64)
        arrays["presence"] = np.asarray(frames["presence"], bool)
        arrays["person_keys"] = np.array([key for key in arrays if key in frames] + ["betas"])  # (P, ...) arrays
    arrays |= {key: np.str_(value) if isinstance(value, str) else value for key, value in extra.items()}
    _save_atomic(path, arrays)
    return path


def split_people(result: dict) -> list[dict]:
    """A loaded result as one dict per person in the one-person layout (``poses (F, J*3)``, ``betas (B,)``...),
    each with ``track_id`` (1 for a one-person file) and ``presence (F,)`` bool."""
    if "track_id" not in result:
        return [dict(result, track_id=np.int64(1), presence=np.asarray(result["confidence"]) > 0)]
    own = {str(key) for key in result["person_keys"]}
    people = []
    for person, track_id in enumerate(result["track_id"]):
        single = {key: value[person] if key in own else value for key, value in result.items()
                  if key not in ("track_id", "person_keys")}
        people.append(dict(single, track_id=np.int64(track_id), person_keys=sorted(own)))
    return people


def join_people(people: list[dict]) -> dict:
    """``split_people`` reversed for a choice of people: one gives the one-person layout, several the person
    axis (with ``track_id``, ``presence`` and ``person_keys``)."""
    own = set(people[0].get("person_keys", ())) | {"presence"}
    if len(people) == 1:
        return {key: value for key, value in people[0].items() if key not in ("track_id", "presence", "person_keys")}
    joined = {key: np.stack([person[key] for person in people]) if key in own else value
              for key, value in people[0].items() if key not in ("track_id", "person_keys")}
    joined["track_id"] = np.asarray([person["track_id"] for person in people], np.int64)
    joined["person_keys"] = np.array(sorted(own))
    return joined


def most_prominent(people: list[dict]) -> int:
    """The 1-based number of the person seen in the most frames (then with the largest box on average)."""
    def weight(person: dict) -> tuple[int, float]:
        boxes = np.asarray(person["person_box"]).reshape(-1, 4)[np.asarray(person["presence"], bool)]
        area = float(np.mean(np.prod(boxes[:, 2:] - boxes[:, :2], axis=1))) if len(boxes) else 0.0
        return int(np.sum(person["presence"])), area
    return 1 + max(range(len(people)), key=lambda index: weight(people[index]))


def choose_people(result: dict, choice, name: str) -> tuple[dict, list[str]]:
    """The people ``choice`` asks for (``"all"``, ``[0]`` the most prominent, or 1-based numbers) from a loaded
    result, as a result dict (one person: the one-person layout), with a sentence for each number the input does
    not hold. Raises ``ValueError`` with a sentence when none of them is there."""
    people = split_people(result)
    if choice == "all":
        return result, []
    numbers = [most_prominent(people)] if list(choice) == [0] else list(choice)
    missing = [number for number in numbers if number > len(people)]
    kept = [number for number in numbers if number <= len(people)]
    holds = f'"{name}", which holds {len(people)} {"person" if len(people) == 1 else "people"}'
    if not kept:
        raise ValueError(f"None of the people asked for ({', '.join(map(str, numbers))}) is in {holds}.")
    notes = [f"There is no person {number} in {holds}." for number in missing]
    return join_people([people[number - 1] for number in kept]), notes
