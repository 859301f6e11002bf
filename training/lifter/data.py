"""Training pairs for the lifter: what MediaPipe would report for a posed open body seen by a random camera, and
where the body's points really are.

Geometry only (no pixels), batched in numpy: a pose from the bank, a random open-body shape, a random heading,
camera (training/synth/generator.py's ranges) and image; the 33 landmark points of core/estimators/keypoints
projected to pixels; then MediaPipe-like corruption (:class:`Corruption`). Inputs and targets are in
core/lifting/features.py's layout, the one the extension computes at run time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.bodymodel import lbs
from core.lifting.features import HIPS, input_features
from core.rotations import axis_angle_to_matrix

from ..synth.bank import PoseBank
from ..synth.generator import SMPL_HANDS, OpenBodyKit, Ranges, _camera_view

IMAGE_SHAPES = ((1280, 720), (720, 1280), (1080, 1080), (960, 720), (720, 960), (1920, 1080))


MEASURED = Path(__file__).resolve().parent / "mediapipe_errors.json"


@dataclass(frozen=True)
class Corruption:
    """How MediaPipe's output differs from the truth (fractions of the person's size for 2D, metres for 3D).

    The defaults are the first guess; :meth:`measured` reads the model fitted to MediaPipe's real errors on Cycles
    renders (training/lifter/mediapipe_errors.py), where ``pixel_sd`` is per landmark, ``world_sd`` per landmark
    and axis, the world's size and depth have a bias as well as a spread, and visibility is drawn from the measured
    distribution of landmarks seen and outside the frame."""

    pixel_sd: float | tuple = 0.012  # 2D landmark noise
    outlier_rate: float = 0.04  # landmarks thrown far off
    outlier_sd: float = 0.08
    world_sd: tuple = (0.02, 0.02, 0.06)  # world-landmark noise per axis (or per landmark and axis)
    depth_scale_sd: float = 0.2  # MediaPipe's depth is compressed or stretched per frame
    world_scale_sd: float = 0.06  # and its body size is its own, not the person's
    depth_scale_mean: float = 0.0  # log of MediaPipe's depth over the true depth, on average
    world_scale_mean: float = 0.0  # log of MediaPipe's body size over the true size, on average
    truncation_rate: float = 0.12  # the frame cuts the body between the hips and the ankles
    hidden_visibility: tuple[float, float] = (0.0, 0.35)
    seen_visibility: tuple[float, float] = (0.55, 1.0)
    visibility_quantiles: tuple = ()  # measured: (seen, outside) quantiles at 0, 0.05, ... 1

    @classmethod
    def measured(cls, path: Path = MEASURED, truncation_rate: float = 0.12) -> Corruption:
        model = json.loads(Path(path).read_text())
        quantiles = model["visibility_quantiles"]
        return cls(pixel_sd=tuple(model["pixel_sd"]), outlier_rate=model["outlier_rate"],
                   outlier_sd=model["outlier_sd"], world_sd=tuple(map(tuple, model["world_sd"])),
                   depth_scale_sd=model["depth_scale_sd"], world_scale_sd=model["world_scale_sd"],
                   depth_scale_mean=model["depth_scale_mean"], world_scale_mean=model["world_scale_mean"],
                   truncation_rate=truncation_rate,
                   visibility_quantiles=(tuple(quantiles["seen"]), tuple(quantiles.get("outside", quantiles["seen"]))))

    def visibility(self, rng: np.random.Generator, hidden: np.ndarray) -> np.ndarray:
        """Visibility ``hidden.shape`` for landmarks ``hidden`` (cut off by the frame) or not."""
        if not self.visibility_quantiles:
            return np.where(hidden, rng.uniform(*self.hidden_visibility, hidden.shape),
                            rng.uniform(*self.seen_visibility, hidden.shape))
        steps = np.linspace(0.0, 1.0, len(self.visibility_quantiles[0]))
        draw = rng.random(hidden.shape)
        seen, outside = (np.interp(draw, steps, q) for q in self.visibility_quantiles)
        return np.where(hidden, outside, seen)


class LifterSampler:
    """``batch(rng, n)`` -> inputs ``(n, F)`` and targets: ``landmarks (n, 33, 3)`` hip-centred camera-space
    metres, ``keypoints (n, 96, 3)`` pelvis-relative."""

    def __init__(self, bank: PoseBank, kit: OpenBodyKit | None = None, ranges: Ranges | None = None,
                 corruption: Corruption | None = None):
        self.bank, self.kit = bank, kit or OpenBodyKit()
        self.ranges, self.corruption = ranges or Ranges(), corruption or Corruption()
        self.surface_template = self.kit.points.template.astype(np.float64)
        self.surface_shape = self.kit.points.shape[..., :10].astype(np.float64)

    def bodies(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Camera-space joints ``(n, 55, 3)``, keypoint/landmark surface points ``(n, P, 3)`` and the rotation of
        each body into its camera ``(n, 3, 3)``."""
        kit = self.kit
        index = rng.integers(len(self.bank), size=n)
        pose = self.bank.poses[index].astype(np.float64)
        betas = rng.normal(0.0, 1.0, (n, 10)).clip(-self.ranges.beta_clip, self.ranges.beta_clip)
        rotations = axis_angle_to_matrix(pose)
        views, roots = zip(*(_camera_view(rng, self.ranges) for _ in range(n)), strict=True)
        turns = axis_angle_to_matrix(np.column_stack([np.zeros(n), rng.uniform(-np.pi, np.pi, n), np.zeros(n)]))
        rotations[:, 0] = np.asarray(views) @ turns @ rotations[:, 0]
        rest = kit.joint_template[None] + np.einsum("jcb,nb->njc", kit.joint_shape[..., :10], betas)
        world = lbs.world_transforms(rotations, rest, kit.parents)
        skinning = lbs.skinning_transforms(world, rest)
        offset = np.asarray(roots, np.float64) - rest[:, 0]
        skinning[:, :, :3, 3] += offset[:, None]
        surface = self.surface_template[None] + np.einsum("pcb,nb->npc", self.surface_shape, betas)
        points = lbs.skin(surface, kit.points.weights.astype(np.float64), skinning)
        joints = world[:, :, :3, 3] + offset[:, None]
        return joints, points, np.asarray(views)

    def landmarks(self, joints: np.ndarray, points: np.ndarray) -> np.ndarray:
        """The 33 landmark points ``(n, 33, 3)``: joints where MediaPipe's landmark is a joint, else vertices."""
        joint, vertex = self.kit.landmark_joint, self.kit.landmark_vertex
        return np.where((joint >= 0)[None, :, None], joints[:, np.maximum(joint, 0)], points[:, np.maximum(vertex, 0)])

    def keypoints(self, joints: np.ndarray, points: np.ndarray) -> np.ndarray:
        """The 96 EfficientHuman keypoints ``(n, 96, 3)``: 24 SMPL joints, 5 leaves, 67 markers."""
        smpl = joints[:, :24].copy()
        for hand, (_, bases, _) in SMPL_HANDS.items():
            smpl[:, hand] = joints[:, list(bases)].mean(axis=1)
        return np.concatenate([smpl, points[:, :len(self.kit.keypoint_ids)]], axis=1)

    def batch(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        joints, points, _ = self.bodies(rng, n)
        landmarks = self.landmarks(joints, points)
        keypoints = self.keypoints(joints, points)
        observed = self.observe(rng, landmarks)
        hips = landmarks[:, HIPS].mean(axis=1, keepdims=True)
        return {"inputs": input_features(**observed).astype(np.float32),
                "landmarks": (landmarks - hips).astype(np.float32),
                "keypoints": (keypoints - keypoints[:, :1]).astype(np.float32)}

    def observe(self, rng: np.random.Generator, landmarks: np.ndarray) -> dict[str, np.ndarray]:
        """MediaPipe-like observations of camera-space ``landmarks (n, 33, 3)``: pixels, visibility, world
        landmarks, and the camera (focal, principal point)."""
        c, n = self.corruption, len(landmarks)
        sizes = np.asarray(IMAGE_SHAPES)[rng.integers(len(IMAGE_SHAPES), size=n)].astype(np.float64)
        fov = np.radians(rng.uniform(*self.ranges.fov, n))
        focal = sizes.max(axis=1) / (2 * np.tan(fov / 2))
        centre = sizes / 2
        pixels = landmarks[..., :2] / landmarks[..., 2:] * focal[:, None, None] + centre[:, None]
        size = np.ptp(pixels, axis=1).max(axis=1)[:, None, None]
        noise = rng.normal(0.0, 1.0, pixels.shape) * np.asarray(c.pixel_sd).reshape(-1, 1)
        outliers = rng.random(pixels.shape[:2]) < c.outlier_rate
        noise[outliers] = rng.normal(0.0, c.outlier_sd, (int(outliers.sum()), 2))
        pixels = pixels + noise * size
        hidden = self._truncated(rng, landmarks)
        visibility = c.visibility(rng, hidden)
        hips = landmarks[:, HIPS].mean(axis=1, keepdims=True)
        world = landmarks - hips
        world = world * np.exp(rng.normal(c.world_scale_mean, c.world_scale_sd, (n, 1, 1)))
        world[..., 2] *= np.exp(rng.normal(c.depth_scale_mean, c.depth_scale_sd, (n, 1)))
        world = world + rng.normal(0.0, 1.0, world.shape) * np.asarray(c.world_sd)
        return {"pixels": pixels, "visibility": visibility, "world": world, "focal": focal, "centre": centre}

    def _truncated(self, rng: np.random.Generator, landmarks: np.ndarray) -> np.ndarray:
        """``(n, 33)`` True for landmarks below a random cut through the legs, in a fraction of the samples."""
        height = landmarks[..., 1]
        hip, ankle = height[:, HIPS].mean(axis=1), height[:, [27, 28]].mean(axis=1)
        cut = hip + rng.uniform(0.1, 1.0, len(landmarks)) * (ankle - hip)
        chosen = rng.random(len(landmarks)) < self.corruption.truncation_rate
        return chosen[:, None] & (height > cut[:, None])
