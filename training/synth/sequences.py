"""Whole motion-capture clips on the open body, in their world and seen by a static camera: the truth for
measuring grounding (floor, world trajectory, foot contact, foot lock).

A CC_Base BVH clip is retargeted frame by frame with the pose bank's IK (``retarget.solve``), its pelvis
follows the clip's hips (the horizontal path scaled by the legs' length ratio, so that strides fit the open
body's legs), and the body is set on the floor (Y = 0) by its planted soles (``on_floor``, which also takes the
clips ``training.lifter.motion`` retargeted from every other source). Truth contacts: a heel or toe
within ``CONTACT_HEIGHT_M`` of its planted height (as ``core.grounding.contact.planted_heights`` has it: the
retargeted feet are not always level) moving slower than ``CONTACT_SPEED_M_S`` along the floor.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d

from core.bodymodel.model import BodyModel
from core.grounding.contact import planted_heights
from core.grounding.skeleton import FootSkeleton
from core.rotations import axis_angle_to_matrix, matrix_to_axis_angle

from . import retarget
from .bvh import forward_kinematics, load_bvh
from .mocap_sources import sample_indices

CONTACT_HEIGHT_M = 0.05
CONTACT_SPEED_M_S = 0.2
HIPS = "CC_Base_Hip"
REFERENCE_JUMP_M = 0.5  # the hips moving this much between two frames: not one take


@dataclass(frozen=True)
class Sequence:
    """``poses (F, J*3)`` and ``trans (F, 3)`` of the open body in the clip's world (Y up, floor at Y = 0),
    ``contacts (F, 4)`` truth flags (left heel, left toe, right heel, right toe), ``fps``."""

    name: str
    poses: np.ndarray
    trans: np.ndarray
    contacts: np.ndarray
    fps: float


@dataclass(frozen=True)
class StaticCamera:
    """A camera standing still: ``rotation`` and ``translation`` take world points (Y up) to camera space
    (x right, y down, z forward); ``focal``, ``width``, ``height`` in pixels."""

    rotation: np.ndarray
    translation: np.ndarray
    focal: float
    width: int
    height: int

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        return points @ self.rotation.T + self.translation


def clip_sequence(path: Path, model: BodyModel, rate: float = 30.0, seconds: float | None = None,
                  speed: float = 1.0) -> Sequence:
    """``speed`` below 1 plays the clip slower (its frames sampled more densely, up to the file's own rate), above 1
    faster; the truth contacts are those of the motion as played."""
    motion = load_bvh(path)
    frames = sample_indices(motion.frames, motion.fps, rate / speed)
    if seconds is not None:
        frames = frames[: max(2, round(seconds * rate))]
    fps = min(rate, motion.fps * speed)
    hips = forward_kinematics(motion, frames)[0][:, motion.names.index(HIPS)]
    jumps = np.flatnonzero(np.linalg.norm(np.diff(hips, axis=0), axis=1) > REFERENCE_JUMP_M)
    if len(jumps) and jumps[0] < 2:  # a reference pose recorded elsewhere before the take (007_08's first frame)
        frames = frames[jumps[0] + 1:]
    rig = retarget.open_rig(model)
    local = retarget.solve(rig, retarget.clip_frames(motion, rig, frames))
    positions, _ = forward_kinematics(motion, frames)
    hips = positions[:, motion.names.index(HIPS)]
    rest = FootSkeleton.of(model, np.zeros(0)).rest
    hips_height = np.median(hips[:, 1])
    leg_ratio = (rest[0, 1] - rest[7, 1]) / hips_height  # open body's pelvis height over the clip's, standing
    return on_floor(path.stem, matrix_to_axis_angle(local), hips * leg_ratio, fps, model)


def on_floor(name: str, poses: np.ndarray, pelvis: np.ndarray, fps: float, model: BodyModel) -> Sequence:
    """A clip's body ``poses (F, J, 3)`` (J up to the body's joints, the rest zero) and ``pelvis (F, 3)`` path in its
    world (Y up) set on the floor by its planted soles, with its truth contacts."""
    frames = len(poses)
    skeleton = FootSkeleton.of(model, np.zeros(0))
    every = np.zeros((frames, len(model.parents), 3))
    every[:, : poses.shape[1]] = poses
    every = every.reshape(frames, -1)
    trans = np.asarray(pelvis, np.float64) - skeleton.rest[0]
    points = skeleton.contact_points(skeleton.pose(every, trans))
    lowest = (points[..., 1] - skeleton.sole).min(axis=1)
    trans[:, 1] -= np.percentile(lowest, 5)
    points[..., 1] -= np.percentile(lowest, 5)
    heights = points[..., 1] - planted_heights(points[..., 1], skeleton.sole)  # as the detector plants them
    along = np.zeros(heights.shape)  # speed along the floor
    along[1:] = np.linalg.norm(np.diff(points[..., [0, 2]], axis=0), axis=-1) * fps
    along[0] = along[1]
    contacts = (heights < CONTACT_HEIGHT_M) & (along < CONTACT_SPEED_M_S)
    return Sequence(name, every.astype(np.float32), trans, contacts, fps)


def static_camera(sequence: Sequence, model: BodyModel, width: int = 640, height: int = 360, fov_degrees: float = 55.0,
                  camera_height: float = 1.4, pitch_degrees: float = 8.0, margin: float = 1.3) -> StaticCamera:
    """A level-rolled camera ``camera_height`` above the floor, pitched down, far enough back along the world's
    -Z side to keep the whole path in view."""
    focal = max(width, height) / (2 * np.tan(np.radians(fov_degrees) / 2))
    pelvis = sequence.trans + FootSkeleton.of(model, np.zeros(0)).rest[0]
    centre = (pelvis.min(axis=0) + pelvis.max(axis=0)) / 2
    extent = max(np.ptp(pelvis[:, 0]), np.ptp(pelvis[:, 2])) + 2.0
    distance = margin * max(extent * focal / width, 2.2 * focal / height) + np.ptp(pelvis[:, 2]) / 2
    pitch = np.radians(pitch_degrees)
    # camera axes in the world: x right, y down, z forward (looking along +Z of the world, pitched down)
    forward = np.array([0.0, -np.sin(pitch), np.cos(pitch)])
    right = np.cross(forward, (0.0, 1.0, 0.0))  # -X: looking along +Z with Y up, the world's +X is on the left
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    rotation = np.stack([right, down, forward])  # world -> camera
    position = np.array([centre[0], camera_height, centre[2] - distance])
    return StaticCamera(rotation, -rotation @ position, float(focal), width, height)


def in_camera(sequence: Sequence, camera: StaticCamera, pelvis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sequence's ``poses`` and ``trans`` in the camera's space (``pelvis``: the body's rest pelvis)."""
    poses = sequence.poses.reshape(len(sequence.poses), -1, 3).astype(np.float64).copy()
    poses[:, 0] = matrix_to_axis_angle(camera.rotation @ axis_angle_to_matrix(poses[:, 0]))
    trans = camera.to_camera(sequence.trans + pelvis) - pelvis
    return poses.reshape(len(poses), -1), trans


def seen_clip(path: Path, model: BodyModel, seconds: float = 10.0, **camera_options
              ) -> tuple[Sequence, StaticCamera, np.ndarray, np.ndarray]:
    """A clip's first ``seconds`` on the body, the static camera that sees it (``camera_options`` for
    :func:`static_camera`), and its ``poses`` and ``trans`` in that camera's space."""
    sequence = clip_sequence(path, model, seconds=seconds)
    camera = static_camera(sequence, model, **camera_options)
    poses, trans = in_camera(sequence, camera, FootSkeleton.of(model, np.zeros(0)).rest[0])
    return sequence, camera, poses, trans


def simulated_fit(poses: np.ndarray, trans: np.ndarray, pelvis: np.ndarray, noise: float, seed: int = 0) -> dict:
    """The truth as a fit would give it: joint angles and distance off by smooth noise (Gaussian, 0.1 s at 30 fps)
    of ``noise`` x 1.5 degrees per joint and x 2 % of the distance. ``noise`` 0.25 makes planted feet slide about as
    fast as the fits of the shared videos do before grounding (0.23 against 0.14-0.30 m/s)."""
    rng = np.random.default_rng(seed)
    count = len(poses)
    angles = gaussian_filter1d(rng.normal(0, 1, poses.shape), 3, axis=0)
    depth = gaussian_filter1d(rng.normal(0, 1, count), 3)
    noisy_poses = poses + noise * np.radians(1.5) * angles / angles.std()
    noisy_trans = (trans + pelvis) * (1 + noise * 0.02 * depth / depth.std())[:, None] - pelvis
    return {"poses": noisy_poses.astype(np.float32), "trans": noisy_trans.astype(np.float32),
            "joints": np.zeros((count, 24, 3), np.float32), "joints_2d": np.zeros((count, 24, 2), np.float32),
            "confidence": np.ones(count, np.float32), "person_box": np.zeros((count, 4), np.float32)}
