"""Motion files in the AMASS / SMPL-X layout: read, convert between joint layouts, write atomically.

``poses: (F, J*3)`` axis-angle per joint, ``trans: (F, 3)`` metres, ``betas: (B,)``,
``mocap_framerate``, ``gender``, ``surface_model_type`` ("smpl", "smplh" or "smplx").
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .bodymodel.joints import JOINT_NAMES
from .errors import PocketMocapError

JOINTS_BY_TYPE = {"smpl": 24, "smplh": 52, "smplx": 55}
TYPE_BY_JOINTS = {count: kind for kind, count in JOINTS_BY_TYPE.items()}


@dataclass(frozen=True)
class Motion:
    poses: np.ndarray  # (F, J*3) float32
    trans: np.ndarray  # (F, 3) float32
    betas: np.ndarray  # (B,) float32
    fps: float
    surface_model_type: str  # smpl, smplh or smplx: the joint layout of poses
    gender: str = "neutral"
    expression: np.ndarray | None = None  # (F, E)

    @property
    def frames(self) -> int:
        return len(self.poses)


def read_motion(path: str | Path) -> Motion:
    """Read an AMASS-style ``.npz``; the layout is told by ``surface_model_type`` or the pose width."""
    path = Path(path)
    data = _load(path)
    if "poses" not in data:
        raise PocketMocapError(f'"{path.name}" holds no "poses" array, so it is not an AMASS/SMPL-X motion file. '
                               'Motion files need poses (frames x joints*3), trans and mocap_framerate.')
    poses = np.asarray(data["poses"], np.float32)
    if poses.ndim != 2 or poses.shape[1] % 3 or poses.shape[1] // 3 not in TYPE_BY_JOINTS:
        raise PocketMocapError(f'"{path.name}": poses has shape {poses.shape}; expected (frames, 72), (frames, 156) '
                               'or (frames, 165) for SMPL, SMPL-H or SMPL-X.')
    kind = TYPE_BY_JOINTS[poses.shape[1] // 3]  # the width decides; surface_model_type is often absent
    frames = len(poses)
    trans = np.asarray(data.get("trans", np.zeros((frames, 3))), np.float32)
    if trans.shape != (frames, 3):
        raise PocketMocapError(f'"{path.name}": trans has shape {trans.shape}, expected ({frames}, 3).')
    fps = float(data.get("mocap_framerate", data.get("mocap_frame_rate", 0)) or 0)
    if not fps > 0:
        raise PocketMocapError(f'"{path.name}" states no frame rate (mocap_framerate); cannot time the animation.')
    expression = data.get("expression")
    return Motion(poses, trans, np.asarray(data.get("betas", np.zeros(10)), np.float32).ravel(), fps,
                  kind, str(data.get("gender", "neutral")),
                  None if expression is None else np.asarray(expression, np.float32).reshape(frames, -1))


def _load(path: Path) -> dict:
    if not path.is_file():
        raise PocketMocapError(f'"{path}" does not exist.')
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise PocketMocapError(f'"{path.name}" could not be read as an .npz motion file ({exc}).') from None


def convert_layout(poses: np.ndarray, source: str, target: str) -> np.ndarray:
    """Re-lay ``poses: (F, J*3)`` from one joint layout to another; joints the source lacks stay at rest.

    SMPL-H's 52 joints are SMPL-X's without jaw and eyes; SMPL's 24 are the 22 body joints plus two
    hand blocks, which take no finger rotation.
    """
    if source == target:
        return poses
    frames = len(poses)
    names = {"smpl": JOINT_NAMES["smpl"], "smplx": JOINT_NAMES["smplx"],
             "smplh": JOINT_NAMES["smplx"][:22] + JOINT_NAMES["smplx"][25:]}
    by_name = dict(zip(names[source], poses.reshape(frames, -1, 3).transpose(1, 0, 2), strict=True))
    zero = np.zeros((frames, 3), np.float32)
    return np.stack([by_name.get(name, zero) for name in names[target]], axis=1).reshape(frames, -1)


def write_motion(path: str | Path, motion: Motion) -> Path:
    """Write ``motion`` in the AMASS layout; a temporary file is renamed into place."""
    path = Path(path)
    arrays = {"poses": motion.poses.astype(np.float32), "trans": motion.trans.astype(np.float32),
              "betas": motion.betas.astype(np.float32), "mocap_framerate": np.float64(motion.fps),
              "gender": np.str_(motion.gender), "surface_model_type": np.str_(motion.surface_model_type)}
    if motion.expression is not None:
        arrays["expression"] = motion.expression.astype(np.float32)
    temp = path.with_name(path.name + ".part.npz")
    np.savez(temp, **arrays)
    os.replace(temp, path)
    return path
