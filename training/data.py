"""Training samples for EfficientHuman: the interface, a generator for smoke tests, and augmentation (A.1).

A sample is a dict of numpy arrays:
``image (3, 256, 256)`` normalised; ``uvd (96, 3)`` (u, v in crop units -0.5..0.5, d = depth from the root /
2.2 m); ``xyz (96, 3)`` root-relative camera-space positions / 2.2 m; ``visible (96,)``; ``theta (24, 3)`` SMPL
axis-angle (root in camera space); ``betas (10,)``; ``twist (23, 2)`` (cos, sin) of joints 1..23; ``camera (3,)``
(s, tx, ty) of A.5. Any ``Sequence`` of such dicts is a data source.
"""

from __future__ import annotations

import cv2
import numpy as np

from core.bodymodel.model import BodyModel
from core.estimators.keypoints.landmarks import POSE, POSE_NAMES
from core.ik import hybrik
from core.rotations import axis_angle_to_matrix, matrix_to_axis_angle

from .efficienthuman import DEFAULT_CFGS
from .markers import KEYPOINTS, LEAF_PARENTS, LEAF_VERTICES, MARKERS, flip_permutation

CFG = DEFAULT_CFGS["efficienthuman"]
FOCAL, SIZE, DEPTH = CFG["focal"], 256, CFG["depth_factor_m"]
# MediaPipe's 33 pose landmarks under a mirror: left_* <-> right_*, mouth_left <-> mouth_right.
LANDMARK_FLIP = [POSE[name.replace("left", "#").replace("right", "left").replace("#", "right")] for name in POSE_NAMES]
SMPL_FLIP = [0, 2, 1, 3, 5, 4, 6, 8, 7, 9, 11, 10, 12, 14, 13, 15, 17, 16, 19, 18, 21, 20, 23, 22]


def normalise(rgb: np.ndarray) -> np.ndarray:
    """``(256, 256, 3) uint8`` RGB -> ``(3, 256, 256) float32`` with the authors' constants."""
    image = rgb.astype(np.float32) / 255.0
    return ((image - CFG["mean"]) / CFG["std"]).transpose(2, 0, 1).astype(np.float32)


class GeneratedSamples:
    """Posed bodies of an SMPL-topology model seen by the crop camera, keypoints drawn as coloured blobs
    on noise. Deterministic given the seed. For smoke tests of the training loop, not for real training
    (the synthetic data of issue 7 is that)."""

    def __init__(self, model: BodyModel, count: int, seed: int = 0):
        self.model, self.count, self.seed = model, count, seed
        self.skeleton = hybrik.smpl_skeleton(model.parents, LEAF_PARENTS, {9: 12, 0: 3})
        self.colours = np.random.default_rng(7).integers(60, 255, (KEYPOINTS, 3))

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> dict:
        rng = np.random.default_rng(self.seed * 100_003 + index)
        theta = rng.normal(0, 0.25, (24, 3))
        theta[0] = (np.pi + rng.normal(0, 0.2), rng.normal(0, 0.5), rng.normal(0, 0.1))  # upright, facing us
        betas = rng.normal(0, 0.5, 10).astype(np.float32)
        trans = np.array([rng.normal(0, 0.2), rng.normal(0, 0.2), rng.uniform(7.0, 10.0)])
        posed = self.model.pose(theta.ravel()[None].astype(np.float32), betas, trans[None])
        vertex_ids = [*LEAF_VERTICES, *(vid for _, vid in MARKERS)]
        points = np.vstack([posed.joints[0], posed.vertices[0][vertex_ids]]).astype(np.float64)
        pixels = points[:, :2] / points[:, 2:] * FOCAL + SIZE / 2
        uvd = np.column_stack([pixels / SIZE - 0.5, (points[:, 2] - points[0, 2]) / DEPTH])
        return {"image": normalise(self._draw(pixels, rng)), "uvd": uvd.astype(np.float32),
                "xyz": ((points - points[0]) / DEPTH).astype(np.float32), "visible": np.ones(KEYPOINTS, np.float32),
                "theta": theta.astype(np.float32), "betas": betas, "twist": self._twist(theta, betas),
                "camera": np.array([FOCAL / (SIZE * trans[2]), 0.0, 0.0], np.float32)}

    def _twist(self, theta: np.ndarray, betas: np.ndarray) -> np.ndarray:
        rest = np.vstack([self.model.rest_joints(betas), self.model.shaped_vertices(betas)[list(LEAF_VERTICES)]])
        angles = hybrik.twist_angles(self.skeleton, rest, axis_angle_to_matrix(theta))
        return np.column_stack([np.cos(angles[1:]), np.sin(angles[1:])]).astype(np.float32)

    def _draw(self, pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        image = rng.integers(0, 60, (SIZE, SIZE, 3), dtype=np.uint8)
        for (x, y), colour in zip(pixels, self.colours, strict=True):
            cv2.circle(image, (int(round(x)), int(round(y))), 3, tuple(int(c) for c in colour), -1)
        return image


def augment(sample: dict, rng: np.random.Generator) -> dict:
    """A.1's training augmentation: scale ±0.3, rotation ±30°, flip (with left/right swaps). Targets move with
    the image. The geometry works on any channel count (a 34-channel mode (b) input's heatmaps swap sides on a
    flip); colour gain 0.8-1.2 and a noise rectangle only apply to RGB (3 channels); mode (b) inputs get
    ``silhouette_data.corrupt_input``'s imitation of MediaPipe's errors instead."""
    sample = dict(sample)
    if rng.random() < 0.5:
        sample = _flip(sample)
    matrix, angle, scale = random_affine(rng)
    image = warp(sample["image"], matrix)
    if image.shape[0] == 3:
        image = image * rng.uniform(0.8, 1.2, 3).astype(np.float32)[:, None, None]
        x0, y0 = rng.integers(0, SIZE - 40, 2)
        w, h = rng.integers(10, 60, 2)
        image[:, y0:y0 + h, x0:x0 + w] = rng.normal(0, 1, (3, min(h, SIZE - y0), min(w, SIZE - x0)))
    else:
        from .silhouette_data import corrupt_input

        image = corrupt_input(image, rng)
    sample["image"] = image.astype(np.float32)
    return move_targets(sample, matrix, angle, scale)


def random_affine(rng: np.random.Generator) -> tuple[np.ndarray, float, float]:
    """A.1's scale ±0.3 and rotation ±30° about the crop centre: ``(matrix (2, 3), angle degrees, scale)``."""
    scale, angle = 1 + rng.uniform(-0.3, 0.3), rng.uniform(-30, 30)
    return cv2.getRotationMatrix2D((SIZE / 2, SIZE / 2), angle, scale), float(angle), float(scale)


def warp(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``image (C, 256, 256) float32`` warped by ``matrix (2, 3)`` (crop pixels), zero outside; any C
    (OpenCV warps at most 4 channels at a time)."""
    hwc = np.ascontiguousarray(image.transpose(1, 2, 0))
    parts = [cv2.warpAffine(np.ascontiguousarray(hwc[:, :, k:k + 4]), matrix, (SIZE, SIZE), flags=cv2.INTER_LINEAR)
             for k in range(0, hwc.shape[2], 4)]
    parts = [part[:, :, None] if part.ndim == 2 else part for part in parts]
    return np.concatenate(parts, axis=2).transpose(2, 0, 1).astype(np.float32)


def move_targets(sample: dict, matrix: np.ndarray, angle: float, scale: float) -> dict:
    """Move ``sample``'s targets (uvd, xyz, theta's root, camera scale, visibility; landmarks when present)
    with an image warp of ``matrix`` = rotation by ``angle`` degrees and ``scale`` about the centre."""
    pixels = (sample["uvd"][:, :2] + 0.5) * SIZE
    moved = pixels @ matrix[:, :2].T + matrix[:, 2]
    sample["uvd"] = np.column_stack([moved / SIZE - 0.5, sample["uvd"][:, 2]]).astype(np.float32)
    turn = axis_angle_to_matrix(np.array([0.0, 0.0, -np.radians(angle)]))  # image rotation about the optical axis
    sample["xyz"] = (sample["xyz"] @ turn.T).astype(np.float32)
    root = axis_angle_to_matrix(sample["theta"][0].astype(np.float64))
    theta = sample["theta"].copy()
    theta[0] = matrix_to_axis_angle(turn @ root)
    sample["theta"] = theta
    sample["camera"] = sample["camera"] * np.array([scale, 1.0, 1.0], np.float32)
    inside = np.all((moved >= 0) & (moved < SIZE), axis=1)
    sample["visible"] = (sample["visible"] * inside).astype(np.float32)
    if "landmarks_2d" in sample:
        landmarks = sample["landmarks_2d"] @ matrix[:, :2].T + matrix[:, 2]
        sample["landmarks_2d"] = landmarks.astype(np.float32)
        inside = np.all((landmarks >= -0.5) & (landmarks < SIZE - 0.5), axis=1)
        sample["landmark_present"] = (sample["landmark_present"] * inside).astype(np.float32)
    return sample


def _flip(sample: dict) -> dict:
    """Mirror the crop left-right: keypoints, SMPL joints and (mode b) landmark heatmaps swap sides.
    Pixel x maps to 255 - x (OpenCV pixel centres: ``[:, ::-1]`` keeps x = 127.5 in place), so u = x/256 - 0.5
    maps to -u - 1/256."""
    order = flip_permutation()
    flipped = dict(sample)
    image = sample["image"][:, :, ::-1]
    if image.shape[0] == 1 + len(LANDMARK_FLIP):  # mode (b): heatmap channels follow their landmarks
        image = image[[0, *(1 + k for k in LANDMARK_FLIP)]]
    flipped["image"] = np.ascontiguousarray(image)
    flipped["uvd"] = sample["uvd"][order] * np.array([-1, 1, 1], np.float32) - np.array([1 / SIZE, 0, 0], np.float32)
    flipped["xyz"] = sample["xyz"][order] * np.array([-1, 1, 1], np.float32)
    flipped["visible"] = sample["visible"][order]
    flipped["theta"] = sample["theta"][SMPL_FLIP] * np.array([1, -1, -1], np.float32)
    twist = sample["twist"][np.array(SMPL_FLIP[1:]) - 1]
    flipped["twist"] = twist * np.array([1, -1], np.float32)
    flipped["camera"] = sample["camera"] * np.array([1, -1, 1], np.float32)
    if "landmarks_2d" in sample:
        landmarks = sample["landmarks_2d"][LANDMARK_FLIP].copy()
        landmarks[:, 0] = SIZE - 1 - landmarks[:, 0]
        flipped["landmarks_2d"] = landmarks
        flipped["landmark_present"] = sample["landmark_present"][LANDMARK_FLIP]
    if "silhouette" in sample:
        flipped["silhouette"] = np.ascontiguousarray(sample["silhouette"][:, ::-1])
    return flipped
