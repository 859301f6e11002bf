"""Result files: per-frame chunks written atomically while a job runs (so a killed job keeps what it
finished and can resume), and the final ``.npz`` in the AMASS / SMPL-X layout plus our fields."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from ..fileio import replace_atomically

PER_FRAME = ("poses", "trans", "joints", "joints_2d", "confidence", "person_box")
OPTIONAL_PER_FRAME = ("expression", "time")  # (F, E) from estimators that predict the face; (F,) s of a video frame


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
                    expected += len(data["confidence"])
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
                break  # emptied by a power cut (chunks are not flushed to disk): redone from here
            found.append(path)
        return found

    def next_frame(self) -> int:
        total = 0
        for path in self.chunks():
            with np.load(path) as data:
                total += len(data["confidence"])
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
                 gender: str, intrinsics: np.ndarray, extra: dict) -> Path:
    """The result ``.npz``: AMASS / SMPL-X keys, ``confidence``, ``camera_intrinsics``, ``person_box``,
    ``joints (F, 24, 3)`` (camera space, metres) and ``joints_2d (F, 24, 2)`` (pixels); ``expression (F, E)``
    when the estimator predicts the face."""
    arrays = {
        "poses": frames["poses"], "trans": frames["trans"], "betas": np.asarray(betas, np.float32),
        "mocap_framerate": np.float64(fps), "surface_model_type": np.str_(family), "gender": np.str_(gender),
        "confidence": frames["confidence"], "camera_intrinsics": np.asarray(intrinsics, np.float32),
        "person_box": frames["person_box"], "joints": frames["joints"], "joints_2d": frames["joints_2d"],
    }
    if "expression" in frames:
        arrays["expression"] = np.asarray(frames["expression"], np.float32)
    arrays |= {key: np.str_(value) if isinstance(value, str) else value for key, value in extra.items()}
    _save_atomic(path, arrays)
    return path
