"""Synthetic samples on disk: ``DIR/shard_00000.npz`` (arrays stacked per shard, compressed) and
``DIR/manifest.json``, and :class:`SyntheticShards`, the reader the EfficientHuman trainer consumes.

Shard k holds samples ``k * shard_size`` .. ``(k + 1) * shard_size - 1`` of the run's seed; every array is
stacked along a first axis of the shard's length (keys and shapes in docs/synth_generator.md). Mode "rgb" adds
``rgb (n, 256, 256, 3) uint8``; both modes store ``silhouette`` and ``parts`` as uint8 masks.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np

from core.estimators.silhouette_input import silhouette_input

from ..data import normalise
from .bank import PoseBank
from .generator import GENERATOR_VERSION, Ranges

MODES = ("rgb", "silhouette")
MANIFEST = "manifest.json"
SOFTEN_PX = 1.0  # silhouette edge blur of mode (b) inputs (MediaPipe's mask is soft)


class ShardError(ValueError):
    """A shard folder that cannot be read; the message says why."""


def shard_name(number: int) -> str:
    return f"shard_{number:05d}.npz"


def write_shard(path: Path, samples: list[dict]) -> None:
    """Stack ``samples`` (dicts of equal keys and shapes) into one compressed ``.npz`` (written atomically)."""
    arrays = {key: np.stack([sample[key] for sample in samples]) for key in samples[0]}
    partial = path.with_name(path.name + ".part")
    with open(partial, "wb") as file:
        np.savez_compressed(file, **arrays)
    partial.replace(path)


def write_manifest(folder: Path, mode: str, seed: int, count: int, shard_size: int, bank: PoseBank,
                   ranges: Ranges, extra: dict | None = None) -> None:
    shards = [shard_name(k) for k in range((count + shard_size - 1) // shard_size)]
    manifest = {"mode": mode, "seed": seed, "count": count, "shard_size": shard_size, "shards": shards,
                "generator_version": GENERATOR_VERSION,
                "pose_bank": {"source": bank.source, "sha256": bank.digest, "poses": len(bank)},
                "ranges": asdict(ranges), **(extra or {})}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))


def read_manifest(folder: Path) -> dict:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise ShardError(f'"{folder}" holds no synthetic shards (no {MANIFEST}); generate them with '
                         "python -m training.synth.generate.")
    manifest = json.loads(path.read_text())
    if manifest.get("mode") not in MODES:
        raise ShardError(f'"{path}" names mode {manifest.get("mode")!r}; expected one of {", ".join(MODES)}.')
    return manifest


def synthetic_input(sample: dict, soften_px: float = 0.0) -> np.ndarray:
    """The ``(34, 256, 256)`` mode (b) input of a synthetic sample, made to look like its real twin: heatmaps for
    every landmark inside the crop (MediaPipe reports occluded landmarks too: 97 % of in-crop landmarks had
    visibility > 0.5 on the test photos, against 63 % unoccluded on synthetic bodies), and the silhouette's
    edge softened by a Gaussian of ``soften_px`` pixels like MediaPipe's soft mask."""
    silhouette = sample["silhouette"].astype(np.float32)
    if soften_px > 0:
        silhouette = cv2.GaussianBlur(silhouette, (0, 0), soften_px)
    return silhouette_input(silhouette, sample["landmarks_2d"], sample["landmark_present"])


class SyntheticShards:
    """A sequence of training/data.py sample dicts read from a shard folder.

    ``image`` is the normalised RGB crop ``(3, 256, 256)`` (mode "rgb") or the ``(34, 256, 256)`` silhouette and
    landmark-heatmap input of core/estimators/silhouette_input.py (mode "silhouette"); all stored ground truth
    comes along under its own key. One shard is kept in memory at a time (read shards in order for speed).
    """

    def __init__(self, folder: str | Path, soften_px: float = SOFTEN_PX):
        self.folder, self.soften_px = Path(folder), soften_px
        self.manifest = read_manifest(self.folder)
        self.mode, self.count = self.manifest["mode"], int(self.manifest["count"])
        self.shard_size = int(self.manifest["shard_size"])
        missing = [name for name in self.manifest["shards"] if not (self.folder / name).is_file()]
        if missing:
            raise ShardError(f'"{self.folder}" lacks {len(missing)} of its shards (first: {missing[0]}); '
                             "the generation did not finish. Run it again with the same arguments.")
        self._loaded: tuple[int, dict] | None = None

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> dict:
        if not -self.count <= index < self.count:
            raise IndexError(f"sample {index} of {self.count}")
        index %= self.count
        arrays = self._shard(index // self.shard_size)
        sample = {key: value[index % self.shard_size] for key, value in arrays.items()}
        if self.mode == "rgb":
            sample["image"] = normalise(sample.pop("rgb"))
        else:
            sample["image"] = synthetic_input(sample, self.soften_px)
        return sample

    def _shard(self, number: int) -> dict:
        if self._loaded is None or self._loaded[0] != number:
            with np.load(self.folder / self.manifest["shards"][number], allow_pickle=False) as data:
                self._loaded = number, {key: data[key] for key in data.files}
        return self._loaded[1]
