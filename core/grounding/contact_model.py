"""Learned foot contact: a small temporal convolution network that reads the whole clip's feet (their height above
the floor, their speed along it, and their motion in the image) and gives each frame a contact probability for the
heel and toe of each foot.

Why the image: a fit's distance from the camera wanders from frame to frame, and at a camera's grazing view of the
floor that wander moves the whole body along the floor, so a planted foot seems to slide in the world frame. Its
pixels stay put. The network learns how far to trust each cue from motion capture seen through simulated fits
(``python3 tools/dev.py train-contact``; training/contact/), and runs here in numpy: no onnxruntime, no torch.

The weights travel as ``.npz`` with their training record; a file without one is refused with a sentence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import PocketMocapError

BUNDLED = Path(__file__).resolve().parent / "models" / "contact_model.npz"
PER_POINT = 6  # height above planted, height above the lowest point, vertical speed, floor speed, image speed, image
# vertical speed
FEATURES = 4 * PER_POINT + 4  # + the pelvis's height change, floor speed, image speed, and whether a person is seen
REQUIRED_RECORD = ("architecture", "steps", "data", "held_out_clips", "validation", "command")
RATE = 30.0  # frames a second the network reads: clips at other rates are resampled to it and back
SPEED_LIMIT_M_S = 5.0
HEIGHT_LIMITS_M = (-0.5, 1.5)


@dataclass(frozen=True)
class FootEvidence:
    """What the contact model reads of one person's clip: ``world (F, 4, 3)`` heel and toe points in the world
    frame (Z up, the floor at 0), ``planted (4,)`` their heights when planted, ``image (F, 4, 2)`` the points in
    pixels, ``pelvis_world (F, 3)``, ``pelvis_image (F, 2)``, ``depth (F,)`` the pelvis's distance along the
    camera's axis, ``focal`` in pixels, ``valid (F,)`` frames with a person, ``fps``."""

    world: np.ndarray
    planted: np.ndarray
    image: np.ndarray
    pelvis_world: np.ndarray
    pelvis_image: np.ndarray
    depth: np.ndarray
    focal: float
    valid: np.ndarray
    fps: float


def image_track(evidence: FootEvidence) -> np.ndarray:
    """``(F, 4, 2)``: the points' pixels in metres at the body's median distance (a planted point stays put here,
    however the fit's distance wanders)."""
    seen = evidence.depth[evidence.valid]
    scale = (float(np.median(seen)) if len(seen) else 1.0) / max(evidence.focal, 1.0)
    return evidence.image * scale


def contact_features(evidence: FootEvidence) -> np.ndarray:
    """``(F, FEATURES)`` float32: per point its height above its planted height and above the lowest point of the
    frame, its vertical speed, its speed along the floor, its speed in the image plane (pixels a second turned into
    metres at the pelvis's distance) and its vertical image speed (down positive); then the pelvis's height against
    its median, floor speed and image speed; then 1 where a person is seen. Frames without a person are zero."""
    e = evidence
    count = len(e.world)
    out = np.zeros((count, FEATURES), np.float32)
    if count < 2:
        return out
    metres_per_pixel = np.maximum(e.depth, 0.1) / max(e.focal, 1.0)
    heights = np.clip(e.world[..., 2] - e.planted, *HEIGHT_LIMITS_M)
    image_velocity = np.gradient(e.image, axis=0) * e.fps * metres_per_pixel[:, None, None]
    world_velocity = np.gradient(e.world, axis=0) * e.fps
    per_point = np.stack([heights, heights - heights.min(axis=1, keepdims=True), world_velocity[..., 2],
                          np.linalg.norm(world_velocity[..., :2], axis=-1), np.linalg.norm(image_velocity, axis=-1),
                          image_velocity[..., 1]], axis=-1)  # (F, 4, PER_POINT)
    pelvis_velocity = np.gradient(e.pelvis_world, axis=0) * e.fps
    pelvis_image = np.gradient(e.pelvis_image, axis=0) * e.fps * metres_per_pixel[:, None]
    seen_height = e.pelvis_world[e.valid, 2]
    pelvis = np.column_stack([e.pelvis_world[:, 2] - (np.median(seen_height) if len(seen_height) else 0.0),
                              np.linalg.norm(pelvis_velocity[:, :2], axis=-1), np.linalg.norm(pelvis_image, axis=-1)])
    values = np.concatenate([per_point.reshape(count, -1), pelvis], axis=1)
    values = np.clip(np.nan_to_num(values), -SPEED_LIMIT_M_S, SPEED_LIMIT_M_S)
    out[:, :-1] = np.where(e.valid[:, None], values, 0.0)
    out[:, -1] = e.valid
    return out


class ContactModel:
    """A trained contact network: ``probabilities(features (F, FEATURES))`` -> ``(F, 4)`` in [0, 1] for left heel,
    left toe, right heel, right toe. Layers: a 1 x 1 convolution in, residual blocks of two dilated convolutions
    (edge-padded, centred: each frame sees frames before and after it), a 1 x 1 convolution out."""

    def __init__(self, path: Path = BUNDLED):
        if not path.is_file():
            raise PocketMocapError(f"The contact model {path.name} is missing from the extension. Reinstall it.")
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except (OSError, ValueError):
            raise PocketMocapError(f"{path.name} cannot be read as a contact model. Reinstall the extension.") from None
        record = json.loads(str(arrays.pop("record", "{}")))
        missing = [key for key in REQUIRED_RECORD if key not in record]
        if missing or int(record.get("steps", 0)) <= 0:
            raise PocketMocapError(f"{path.name} has no record of a training run ({', '.join(missing) or 'no steps'}"
                                   "), so it is not used: only trained contact weights run.")
        self.record = record
        self.mean, self.scale = arrays.pop("feature_mean"), arrays.pop("feature_scale")
        if self.mean.shape != (FEATURES,):
            raise PocketMocapError(f"{path.name} expects {self.mean.shape[0]} features; this version gives "
                                   f"{FEATURES}. Reinstall the extension.")
        self.dilations = [int(d) for d in record["architecture"]["dilations"]]
        self.weights = arrays

    @property
    def receptive_frames(self) -> int:
        kernel = self.weights["block0_a_weight"].shape[2]
        return 1 + 2 * (kernel - 1) * sum(self.dilations)

    def probabilities(self, features: np.ndarray, fps: float = RATE) -> np.ndarray:
        """``features (F, FEATURES)`` of a clip at ``fps`` -> ``(F, 4)``. The network learned contacts at
        :data:`RATE`; other rates are resampled to it (linearly) and the probabilities back, so that a 12 fps
        clip's steps are as long to it as a 30 fps clip's."""
        features = np.asarray(features, np.float64)
        count = len(features)
        if count < 2 or abs(fps - RATE) < 0.01 * RATE:
            return self._run(features)
        times = np.arange(count) / fps
        grid = np.arange(0.0, times[-1] + 0.5 / RATE, 1.0 / RATE)
        resampled = np.column_stack([np.interp(grid, times, column) for column in features.T])
        probabilities = self._run(resampled)
        return np.column_stack([np.interp(times, grid, column) for column in probabilities.T]).astype(np.float32)

    def _run(self, features: np.ndarray) -> np.ndarray:
        w = self.weights
        x = ((features - self.mean) / self.scale).T  # (C, F)
        x = _conv(x, w["input_weight"], w["input_bias"], 1)
        for block, dilation in enumerate(self.dilations):
            h = _conv(np.maximum(x, 0.0), w[f"block{block}_a_weight"], w[f"block{block}_a_bias"], dilation)
            h = _conv(np.maximum(h, 0.0), w[f"block{block}_b_weight"], w[f"block{block}_b_bias"], 1)
            x = x + h
        logits = _conv(np.maximum(x, 0.0), w["output_weight"], w["output_bias"], 1)
        return (1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))).T.astype(np.float32)


def _conv(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, dilation: int) -> np.ndarray:
    """A centred 1-D convolution of ``x (C_in, F)`` with ``weight (C_out, C_in, K)``, edge padding (as torch's
    ``Conv1d(padding_mode="replicate")`` with ``padding = dilation * (K - 1) // 2``)."""
    kernel = weight.shape[2]
    pad = dilation * (kernel - 1) // 2
    padded = np.pad(x, ((0, 0), (pad, pad)), mode="edge")
    frames = x.shape[1]
    out = np.repeat(bias[:, None], frames, axis=1).astype(np.float64)
    for k in range(kernel):
        out += weight[:, :, k] @ padded[:, k * dilation: k * dilation + frames]
    return out
