"""Where the generator's poses come from: a pose bank file (motion capture, ``runs/poses.npz``), or a small set of
random rotations for tests only.

A bank holds ``poses (N, 55, 3)`` SMPL-X axis-angle (joint order of core/bodymodel/joints.py; the root is the
global orientation in the body's Y-up frame, facing +Z) and ``expressions (N, 52)`` ARKit values in [0, 1].
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.bodymodel.joints import SMPLX_NAMES

JOINTS, EXPRESSIONS = 55, 52


class PoseBankError(ValueError):
    """A pose bank that cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class PoseBank:
    poses: np.ndarray  # (N, 55, 3) float32 axis-angle, radians
    expressions: np.ndarray  # (N, 52) float32 ARKit values
    source: str  # where it came from, for the shards' manifest
    digest: str  # sha256 of the poses and expressions (hex), for the manifest

    def __len__(self) -> int:
        return len(self.poses)


def make_bank(poses: np.ndarray, expressions: np.ndarray | None, source: str) -> PoseBank:
    """Check shapes and wrap arrays as a bank (expressions default to a neutral face)."""
    poses = np.asarray(poses, np.float32)
    if poses.ndim == 2 and poses.shape[1] == JOINTS * 3:
        poses = poses.reshape(-1, JOINTS, 3)
    if poses.ndim != 3 or poses.shape[1:] != (JOINTS, 3) or len(poses) == 0:
        raise PoseBankError(f"{source}: poses have shape {poses.shape}; the generator needs (N, 55, 3) SMPL-X "
                            "axis-angle with N >= 1.")
    expressions = np.zeros((len(poses), EXPRESSIONS), np.float32) if expressions is None else \
        np.asarray(expressions, np.float32)
    if expressions.shape != (len(poses), EXPRESSIONS):
        raise PoseBankError(f"{source}: expressions have shape {expressions.shape}, expected ({len(poses)}, 52).")
    digest = hashlib.sha256(poses.tobytes() + expressions.tobytes()).hexdigest()
    return PoseBank(poses, expressions, source, digest)


def load_pose_bank(path: str | Path) -> PoseBank:
    """A bank file (``.npz`` with ``poses`` and ``expressions``), read with training.synth.poses when present."""
    path = Path(path)
    if not path.is_file():
        raise PoseBankError(f'The pose bank "{path}" does not exist: build it first (training/synth/poses.py) '
                            "or pass --test-poses for a small random test set.")
    try:
        from . import poses as bank_module
    except ImportError:
        bank_module = None
    if bank_module is not None and hasattr(bank_module, "load_pose_bank"):
        loaded = bank_module.load_pose_bank(path)
        get = loaded.get if isinstance(loaded, dict) else lambda name, default=None: getattr(loaded, name, default)
        return make_bank(get("poses"), get("expressions"), f"file:{path.name}")
    try:
        with np.load(path, allow_pickle=False) as data:
            return make_bank(data["poses"], data["expressions"] if "expressions" in data else None,
                             f"file:{path.name}")
    except (OSError, ValueError, KeyError) as exc:
        raise PoseBankError(f'"{path}" is not a pose bank (.npz with poses (N, 55, 3)): {exc}.') from None


# (joint, axis) -> (low, high) radians for the test source, on the T-posed body (Y up, facing +Z, left = +X).
_LIMITS = {
    ("left_shoulder", 2): (-1.4, 0.3), ("right_shoulder", 2): (-0.3, 1.4),  # arms down from the T
    ("left_shoulder", 1): (-0.8, 0.5), ("right_shoulder", 1): (-0.5, 0.8),  # arms forward / back
    ("left_elbow", 1): (-2.2, 0.0), ("right_elbow", 1): (0.0, 2.2),  # forearm bends forward
    ("left_hip", 0): (-1.6, 0.4), ("right_hip", 0): (-1.6, 0.4),  # thigh forward (flexion) / back
    ("left_hip", 2): (-0.1, 0.5), ("right_hip", 2): (-0.5, 0.1),  # legs apart
    ("left_knee", 0): (0.0, 2.0), ("right_knee", 0): (0.0, 2.0),  # shin bends back
    ("jaw", 0): (0.0, 0.3),
}
_SPREAD = {"spine": 0.15, "neck": 0.2, "head": 0.25, "collar": 0.1, "wrist": 0.4, "ankle": 0.25, "foot": 0.2,
           "hip": 0.2, "shoulder": 0.3, "elbow": 0.2, "knee": 0.05, "thumb": 0.3, "eye": 0.0}


def random_test_poses(count: int = 64, seed: int = 0) -> PoseBank:
    """TEST SOURCE, not motion capture: independent random rotations within rough joint limits (arms down or
    raised, elbows and knees bending the right way, curled fingers, a random face). For tests and for trying the
    generator before the pose bank exists; never for training."""
    rng = np.random.default_rng(seed)
    poses = np.zeros((count, JOINTS, 3), np.float32)
    for joint, name in enumerate(SMPLX_NAMES[1:], start=1):
        spread = next((value for key, value in _SPREAD.items() if key in name), 0.0)
        poses[:, joint] = rng.normal(0.0, spread / 2, (count, 3)).clip(-spread, spread)
        for axis in range(3):
            if (name, axis) in _LIMITS:
                poses[:, joint, axis] = rng.uniform(*_LIMITS[name, axis], count)
        if name[-1].isdigit() and "thumb" not in name:  # finger segments curl towards the palm (-Y)
            sign = 1.0 if name.startswith("left") else -1.0
            poses[:, joint, 2] = -sign * rng.uniform(0.0, 1.2, count)
    poses[:, 0] = rng.normal(0.0, 0.08, (count, 3))  # upright, facing +Z; the generator turns it about Y
    expressions = (rng.uniform(0, 1, (count, EXPRESSIONS)) * (rng.uniform(0, 1, (count, EXPRESSIONS)) < 0.15))
    return make_bank(poses, expressions.astype(np.float32), f"TEST: random rotations (count {count}, seed {seed})")
