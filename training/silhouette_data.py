"""Mode (b) training data: synthetic shards held in memory as compact fields, MediaPipe-like corruption, and the
34-channel input built batched in torch (on the GPU when training runs there).

A mode (b) input is 34 float32 maps of 256² (8.9 MB a sample); the fields it is made from are a silhouette (uint8,
0..255) and 33 landmarks (66 kB). So workers augment the compact fields and the trainer expands them on its device
with :func:`inputs_from_fields` (edge softening included), which equals ``shards.synthetic_input``, i.e.
core/estimators/silhouette_input.py's ``silhouette_input`` of the softened mask (tested).

Corruption (imitating MediaPipe's errors on real photos; kept simple):
* each landmark's heatmap is dropped with probability ``HEATMAP_DROPOUT`` (a missed or low-visibility landmark);
* with probability ``MASK_CHANGE`` the silhouette is eroded or dilated (even odds) by a square of 3-7 px
  (MediaPipe's mask takes in loose clothes and hair, or misses thin limbs).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from core.estimators.silhouette_input import CHANNELS, SIGMA_PX, SIZE

from .data import _flip, augment, move_targets, normalise, random_affine
from .synth.shards import SOFTEN_PX, read_manifest

HEATMAP_DROPOUT = 0.08
MASK_CHANGE = 0.5
MASK_KERNELS = (3, 5, 7)
TARGETS = ("uvd", "xyz", "visible", "theta", "betas", "twist", "camera")
COMPACT = ("silhouette", "landmarks_2d", "landmark_present")
# Extra ground truth the evaluation reads (keypoints_2d for PCK); not augmented, so only for unaugmented data.
EXTRA = ("keypoints_2d",)


def corrupt_mask(silhouette: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``silhouette (256, 256)`` float32 0..1, eroded or dilated with probability MASK_CHANGE."""
    if rng.random() >= MASK_CHANGE:
        return silhouette
    kernel = np.ones((int(rng.choice(MASK_KERNELS)),) * 2, np.uint8)
    return (cv2.erode if rng.random() < 0.5 else cv2.dilate)(silhouette, kernel)


def dropped_landmarks(rng: np.random.Generator, count: int = CHANNELS - 1) -> np.ndarray:
    """``(count,)`` bool: the landmarks whose heatmap is dropped this time."""
    return rng.random(count) < HEATMAP_DROPOUT


def corrupt_input(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The corruption above on a built ``(34, 256, 256)`` input (training/data.py ``augment``'s mode b path)."""
    image = image.copy()
    image[0] = corrupt_mask(image[0], rng)
    image[1:][dropped_landmarks(rng)] = 0.0
    return image


class ShardData:
    """Every sample of a shard folder in memory (mode b: compact fields; mode a: the RGB crops), indexable
    like a ``torch.utils.data.Dataset``. ``augmented`` applies A.1's geometry and the corruption above.

    ``item(i)`` returns the targets of training/data.py plus, in mode b, ``silhouette (256, 256) uint8`` (0..255,
    not yet softened), ``landmarks_2d (33, 2)`` and ``heights (33,)``; in mode a, ``image (3, 256, 256)``."""

    def __init__(self, folder: str | Path, augmented: bool = True, limit: int | None = None, seed: int = 0):
        self.folder, self.augmented, self.seed = Path(folder), augmented, seed
        manifest = read_manifest(self.folder)
        self.mode = manifest["mode"]
        self.in_channels = CHANNELS if self.mode == "silhouette" else 3
        self.label = (f"{manifest['count']} synthetic mode-{'b' if self.mode == 'silhouette' else 'a'} samples, "
                      f"seed {manifest['seed']}, poses {manifest['pose_bank']['source']}")
        keys = (*TARGETS, *EXTRA, *(COMPACT if self.mode == "silhouette" else ("rgb",)))
        chunks: dict[str, list[np.ndarray]] = {key: [] for key in keys}
        total = 0
        for name in manifest["shards"]:
            if limit is not None and total >= limit:
                break
            path = self.folder / name
            if not path.is_file():
                raise FileNotFoundError(f'"{path}" is missing: the generation did not finish; run it again.')
            with np.load(path, allow_pickle=False) as data:
                for key in keys:
                    chunks[key].append(data[key])
                total += len(data["uvd"])
        self.arrays = {key: np.concatenate(value)[:limit] for key, value in chunks.items()}
        self.count = len(self.arrays["uvd"])
        self._rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> dict:
        sample = {key: value[index] for key, value in self.arrays.items()}
        if self.mode != "silhouette":
            sample["image"] = normalise(sample.pop("rgb"))
            if not self.augmented:
                return sample
            return {k: v for k, v in augment(sample, self._rng).items() if k not in EXTRA}
        sample["silhouette"] = sample["silhouette"] * np.uint8(255)
        sample["landmark_present"] = sample["landmark_present"].astype(np.float32)
        if self.augmented:
            sample = self._augment_compact(sample)
        sample["heights"] = sample.pop("landmark_present")
        return sample

    def _augment_compact(self, sample: dict) -> dict:
        rng = self._rng
        sample["image"] = np.zeros((0, SIZE, SIZE), np.float32)  # _flip needs an image; the fields carry the data
        if rng.random() < 0.5:
            sample = _flip(sample)
        matrix, angle, scale = random_affine(rng)
        sample = move_targets(sample, matrix, angle, scale)
        del sample["image"]
        silhouette = cv2.warpAffine(sample["silhouette"], matrix, (SIZE, SIZE), flags=cv2.INTER_LINEAR)
        sample["silhouette"] = corrupt_mask(silhouette, rng)
        sample["landmark_present"] = sample["landmark_present"] * ~dropped_landmarks(rng)
        for key in EXTRA:  # not moved by the augmentation: never read from augmented data
            sample.pop(key, None)
        return sample


def seed_worker(worker: int) -> None:
    """``DataLoader(worker_init_fn=...)``: each worker its own augmentation stream."""
    import torch

    info = torch.utils.data.get_worker_info()
    info.dataset._rng = np.random.default_rng([info.dataset.seed, torch.initial_seed() % 2**32, worker])


def soften(masks, soften_px: float = SOFTEN_PX):
    """torch ``(B, 256, 256)`` float -> the same blurred as ``cv2.GaussianBlur(mask, (0, 0), soften_px)`` (OpenCV's
    float kernel of 2 * round(4 sigma) + 1 taps, reflect-101 border)."""
    import torch
    import torch.nn.functional as F

    if soften_px <= 0:
        return masks
    taps = 2 * round(4 * soften_px) + 1
    kernel = torch.tensor(cv2.getGaussianKernel(taps, soften_px).ravel(), dtype=masks.dtype, device=masks.device)
    half = taps // 2
    out = F.pad(masks[:, None], (half, half, half, half), mode="reflect")
    out = F.conv2d(out, kernel.view(1, 1, 1, taps))
    return F.conv2d(out, kernel.view(1, 1, taps, 1))[:, 0]


def inputs_from_fields(silhouette, landmarks, heights, sigma: float = SIGMA_PX, soften_px: float = SOFTEN_PX):
    """torch: ``silhouette (B, 256, 256)`` uint8 0..255 (ShardData) or float 0..1, ``landmarks (B, 33, 2)`` crop
    pixels, ``heights (B, 33)`` -> ``(B, 34, 256, 256)`` float32: the mask's edge softened by ``soften_px``, then
    as ``silhouette_input`` builds it sample by sample."""
    import torch

    if silhouette.dtype == torch.uint8:
        silhouette = silhouette.float() / 255.0
    silhouette = soften(silhouette.float(), soften_px)
    grid = torch.arange(SIZE, dtype=torch.float32, device=landmarks.device)
    across = torch.exp(-((grid - landmarks[..., :1]) ** 2) / (2 * sigma**2))  # (B, 33, 256) over x
    down = torch.exp(-((grid - landmarks[..., 1:]) ** 2) / (2 * sigma**2)) * heights.clamp(0, 1)[..., None]
    maps = down[..., :, None] * across[..., None, :]
    return torch.cat([silhouette.clamp(0, 1)[:, None], maps], dim=1)
