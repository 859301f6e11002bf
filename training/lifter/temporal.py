"""Training windows for the temporal lifter: real motion (``training/lifter/motion.py``) on the open body, seen by a
random static camera, with MediaPipe's measured errors made to move in time as a tracker's do.

A window is ``WINDOW`` consecutive frames (30 fps) of one clip: per frame the lifter's 201 input features
(core/lifting/features.py) and whether a person was seen; the targets are the centre frame's 33 landmark points
(hip-centred) and 96 keypoints (pelvis-relative), camera axes, metres, and its four foot contacts (left heel, left
toe, right heel, right toe: the point within ``CONTACT_HEIGHT_M`` of its lowest (5th percentile) height and slower
than ``CONTACT_SPEED_M_S`` along the floor, training/synth/sequences.py's thresholds).

The measured error model (``Corruption.measured()``) is per frame. A tracker's errors are not independent from frame
to frame, so each error here is a mix of a smooth part (a Gaussian over a few frames) and a frame-to-frame part, with
the mix drawn per batch; MediaPipe's depth and size misjudgements drift slowly. Some windows lose frames (the person
not found: the nearest seen frame's features, flagged unseen) or start or end at the clip's edge (edge frames
repeated, as the extension pads a clip). With ``mirror_rate`` a share of windows is the motion's mirror image (before
the camera and the errors, so the mirrored body is seen through MediaPipe's errors as measured).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from core.bodymodel import lbs
from core.lifting.features import HIPS, input_features
from core.lifting.temporal import FOOT_LANDMARKS, WINDOW
from core.rotations import axis_angle_to_matrix

from ..markers import flip_permutation
from ..synth.generator import OpenBodyKit, Ranges, _camera_view
from .data import IMAGE_SHAPES, Corruption, LifterSampler

CONTACT_HEIGHT_M = 0.05
CONTACT_SPEED_M_S = 0.2
RATE = 30.0
# MediaPipe's 33 landmarks' mirror images (nose; eyes, ears, mouth and body left <-> right), and the four soles'.
LANDMARK_MIRROR = [0, 4, 5, 6, 1, 2, 3, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 18, 17, 20, 19, 22, 21, 24, 23, 26, 25,
                   28, 27, 30, 29, 32, 31]
CONTACT_MIRROR = [2, 3, 0, 1]
VIEWS = 50_000  # cameras drawn once (training/synth/generator.py's ranges), each window takes one and a turn


def mirrored(points: np.ndarray, order: list[int]) -> np.ndarray:
    """World points ``(..., P, 3)`` (Y up) mirrored through the YZ plane: swapped sides by ``order``, x negated."""
    out = np.array(points[..., order, :], copy=True)
    out[..., 0] *= -1
    return out


def foot_contacts(feet: np.ndarray) -> np.ndarray:
    """``feet (F, 4, 3)`` world points (Y up) -> ``(F, 4)`` contact flags."""
    heights = feet[..., 1] - np.percentile(feet[..., 1], 5, axis=0)
    speed = np.linalg.norm(np.gradient(feet[..., [0, 2]], axis=0), axis=-1) * RATE
    return (heights < CONTACT_HEIGHT_M) & (speed < CONTACT_SPEED_M_S)


def posed_points(kit: OpenBodyKit, poses: np.ndarray, pelvis: np.ndarray, betas: np.ndarray, chunk: int = 4000
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The open body with ``betas (10,)`` in ``poses (F, J, 3)`` (J <= 55, the rest zero) with its pelvis joint at
    ``pelvis (F, 3)``: landmark points ``(F, 33, 3)`` and keypoints ``(F, 96, 3)`` (24 SMPL joints, 5 leaves, 67
    markers), float64."""
    sampler = LifterSampler(None, kit)  # its landmark and keypoint tables; no pose bank needed
    rest = kit.joint_template + kit.joint_shape[..., :10] @ betas
    surface = kit.points.template.astype(np.float64) + kit.points.shape[..., :10].astype(np.float64) @ betas
    parts = []
    for start in range(0, len(poses), chunk):
        pose = poses[start:start + chunk].astype(np.float64)
        count = len(pose)
        rotations = np.broadcast_to(np.eye(3), (count, len(kit.parents), 3, 3)).copy()
        rotations[:, :pose.shape[1]] = axis_angle_to_matrix(pose)
        rests = np.broadcast_to(rest, (count, *rest.shape))
        world = lbs.world_transforms(rotations, rests, kit.parents)
        skinning = lbs.skinning_transforms(world, rests)
        offset = pelvis[start:start + chunk].astype(np.float64) - rest[0]
        skinning[:, :, :3, 3] += offset[:, None]
        points = lbs.skin(np.broadcast_to(surface, (count, *surface.shape)), kit.points.weights.astype(np.float64),
                          skinning)
        joints = world[:, :, :3, 3] + offset[:, None]
        parts.append((sampler.landmarks(joints, points), sampler.keypoints(joints, points)))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


class ClipBodies:
    """Every clip posed on an open body of its own shape: world landmarks ``(N, 33, 3)`` and keypoints ``(N, 96, 3)``
    of all frames in one array, clip ``starts``/``counts``, and per-frame contacts."""

    def __init__(self, clips: list[dict], kit: OpenBodyKit, seed: int):
        rng = np.random.default_rng(seed)
        landmarks, keypoints, contacts, counts = [], [], [], []
        for clip in clips:
            betas = rng.normal(0.0, 1.0, 10).clip(-3.0, 3.0)
            marks, keys = posed_points(kit, clip["poses"], clip["pelvis"], betas)
            floor = np.percentile(marks[:, FOOT_LANDMARKS, 1].min(axis=1), 5)
            marks[..., 1] -= floor
            keys[..., 1] -= floor
            landmarks.append(marks.astype(np.float32))
            keypoints.append(keys.astype(np.float32))
            contacts.append(foot_contacts(marks[:, FOOT_LANDMARKS]))
            counts.append(len(marks))
        self.landmarks, self.keypoints = np.concatenate(landmarks), np.concatenate(keypoints)
        self.contacts = np.concatenate(contacts).astype(np.float32)
        self.counts = np.asarray(counts)
        self.starts = np.concatenate([[0], np.cumsum(self.counts)[:-1]])
        self.names = [clip["name"] for clip in clips]


def _mixed_noise(rng: np.random.Generator, shape: tuple, smooth_share: float, frames: float) -> np.ndarray:
    """Unit-variance noise ``shape`` (axis 1 is time): ``smooth_share`` of its variance smooth over ``frames``."""
    smooth = gaussian_filter1d(rng.normal(0, 1, shape), frames, axis=1, mode="nearest")
    smooth /= max(float(smooth.std()), 1e-9)
    return np.sqrt(smooth_share) * smooth + np.sqrt(1 - smooth_share) * rng.normal(0, 1, shape)


class WindowSampler:
    """``batch(rng, n)`` -> inputs ``(n, WINDOW, FEATURES + 1)`` float32, targets ``(n, 129, 3)``, contacts
    ``(n, 4)`` of the centre frame."""

    def __init__(self, bodies: ClipBodies, corruption: Corruption, ranges: Ranges | None = None,
                 missing_rate: float = 0.3, edge_rate: float = 0.1, mirror_rate: float = 0.0):
        self.bodies, self.corruption, self.ranges = bodies, corruption, ranges or Ranges()
        self.missing_rate, self.edge_rate, self.mirror_rate = missing_rate, edge_rate, mirror_rate
        usable = np.maximum(bodies.counts - WINDOW + 1, 0)
        self.weights = usable / usable.sum()
        views = [_camera_view(np.random.default_rng(seed), self.ranges) for seed in range(VIEWS)]
        self.views = np.asarray([v[0] for v in views])
        self.roots = np.asarray([v[1] for v in views], np.float64)

    def frames(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``(n, WINDOW)`` frame indices into the bodies' arrays, some repeating a clip's edge frame."""
        clip = rng.choice(len(self.weights), size=n, p=self.weights)
        start = self.bodies.starts[clip] + (rng.random(n) * (self.bodies.counts[clip] - WINDOW + 1)).astype(int)
        index = start[:, None] + np.arange(WINDOW)
        half = WINDOW // 2
        edge = rng.random(n) < self.edge_rate
        for row in np.flatnonzero(edge):
            cut = rng.integers(1, half + 1)
            if rng.random() < 0.5:
                index[row, :cut] = index[row, cut]
            else:
                index[row, WINDOW - cut:] = index[row, WINDOW - cut - 1]
        return index

    def batch(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        index = self.frames(rng, n)
        world = self.bodies.landmarks[index].astype(np.float64)  # (n, T, 33, 3)
        keys = self.bodies.keypoints[index].astype(np.float64)
        contacts = self.bodies.contacts[index[:, WINDOW // 2]]
        mirror = rng.random(n) < self.mirror_rate  # the motion's mirror image, then seen through MediaPipe's errors
        if mirror.any():
            world[mirror] = mirrored(world[mirror], LANDMARK_MIRROR)
            keys[mirror] = mirrored(keys[mirror], flip_permutation())
            contacts[mirror] = contacts[mirror][:, CONTACT_MIRROR]
        middle = world[:, :, HIPS].mean(axis=(1, 2))  # the window's mean pelvis, (n, 3)
        turns = axis_angle_to_matrix(np.column_stack([np.zeros(n), rng.uniform(-np.pi, np.pi, n), np.zeros(n)]))
        chosen = rng.integers(VIEWS, size=n)
        rotation = self.views[chosen] @ turns  # world -> camera, (n, 3, 3)
        roots = self.roots[chosen]
        turn = rotation.transpose(0, 2, 1)[:, None]
        camera = (world - middle[:, None, None]) @ turn + roots[:, None, None]
        camera_keys = (keys - middle[:, None, None]) @ turn + roots[:, None, None]
        camera[..., 2] = np.maximum(camera[..., 2], 0.3)
        observed = self.observe(rng, camera)
        centre = WINDOW // 2
        hips = camera[:, centre, HIPS].mean(axis=1, keepdims=True)
        targets = np.concatenate([camera[:, centre] - hips, camera_keys[:, centre] - camera_keys[:, centre, :1]],
                                 axis=1)
        return {"inputs": observed.astype(np.float32), "targets": targets.astype(np.float32),
                "contacts": contacts.astype(np.float32)}

    def observe(self, rng: np.random.Generator, landmarks: np.ndarray) -> np.ndarray:
        """MediaPipe-like features ``(n, T, FEATURES + 1)`` of camera-space ``landmarks (n, T, 33, 3)``."""
        c = self.corruption
        n, frames = landmarks.shape[:2]
        share, span = rng.uniform(0.2, 0.9), rng.uniform(1.0, 4.0)
        sizes = np.asarray(IMAGE_SHAPES)[rng.integers(len(IMAGE_SHAPES), size=n)].astype(np.float64)
        fov = np.radians(rng.uniform(*self.ranges.fov, n))
        focal = sizes.max(axis=1) / (2 * np.tan(fov / 2))
        centre = sizes / 2
        pixels = landmarks[..., :2] / landmarks[..., 2:] * focal[:, None, None, None] + centre[:, None, None]
        size = np.ptp(pixels, axis=2).max(axis=-1)[..., None, None]  # (n, T, 1, 1)
        noise = _mixed_noise(rng, pixels.shape, share, span) * np.asarray(c.pixel_sd).reshape(-1, 1)
        outliers = rng.random(pixels.shape[:3]) < c.outlier_rate
        noise[outliers] = rng.normal(0.0, c.outlier_sd, (int(outliers.sum()), 2))
        pixels = pixels + noise * size
        height = landmarks[..., 1]
        hip, ankle = height[..., HIPS].mean(axis=-1), height[..., [27, 28]].mean(axis=-1)
        cut = hip + rng.uniform(0.1, 1.0, (n, 1)) * (ankle - hip)
        hidden = (rng.random((n, 1, 1)) < c.truncation_rate) & (height > cut[..., None])
        draw = gaussian_filter1d(rng.random(hidden.shape), span, axis=1, mode="nearest")
        draw = np.clip((draw - draw.mean()) / max(float(draw.std()), 1e-9) * 0.2887 + 0.5, 0.0, 1.0)
        if c.visibility_quantiles:
            steps = np.linspace(0.0, 1.0, len(c.visibility_quantiles[0]))
            seen, outside = (np.interp(draw, steps, q) for q in c.visibility_quantiles)
            visibility = np.where(hidden, outside, seen)
        else:
            visibility = c.visibility(rng, hidden)
        hips = landmarks[:, :, HIPS].mean(axis=2, keepdims=True)
        world = landmarks - hips
        drift = rng.uniform(3.0, 15.0)
        scale = c.world_scale_mean + c.world_scale_sd * _mixed_noise(rng, (n, frames), 0.8, drift)
        depth = c.depth_scale_mean + c.depth_scale_sd * _mixed_noise(rng, (n, frames), 0.7, drift)
        world = world * np.exp(scale)[..., None, None]
        world[..., 2] *= np.exp(depth)[..., None]
        world = world + _mixed_noise(rng, world.shape, share, span) * np.asarray(c.world_sd)
        features = input_features(pixels.reshape(n * frames, 33, 2), visibility.reshape(n * frames, 33),
                                  world.reshape(n * frames, 33, 3), np.repeat(focal, frames),
                                  np.repeat(centre, frames, axis=0)).reshape(n, frames, -1)
        seen_flag = np.ones((n, frames, 1))
        lose = np.flatnonzero(rng.random(n) < self.missing_rate)
        middle = frames // 2
        for row in lose:
            gone = rng.random(frames) < rng.uniform(0.05, 0.4)
            gone[middle] = False
            kept = np.flatnonzero(~gone)
            nearest = kept[np.abs(np.arange(frames)[:, None] - kept[None]).argmin(axis=1)]
            features[row] = features[row, nearest]
            seen_flag[row, gone, 0] = 0.0
        return np.concatenate([features, seen_flag], axis=-1)
