"""DeepMimic motion files (JSON) on their character skeleton (``humanoid3d.txt``) -> joint positions (numpy).

Conventions as read here (DeepMimic's kinematic tree):

* The character file's ``Skeleton.Joints`` lists joints parents first; a joint sits at ``Attach{X,Y,Z}``
  metres in its parent's frame. Types: ``none`` (the root: position and quaternion), ``spherical`` (a
  quaternion ``w, x, y, z``), ``revolute`` (one angle in radians about the joint's Z axis), ``fixed``
  (nothing). Non-zero ``AttachTheta`` is not supported (humanoid3d has none).
* A motion frame is ``[duration, root position (3), root quaternion (4), then each non-root joint's values in
  joint order]`` (humanoid3d: 44 numbers). World rotations chain parent to child: ``G_j = G_parent L_j``.
* Axes are the file's: Y up, and humanoid3d at rest faces +X with its left at -Z.
  ``forward_kinematics`` turns everything by -90 deg about Y so the rest pose faces +Z, its left +X, like
  the other formats.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

VALUES = {"none": 7, "spherical": 4, "revolute": 1, "fixed": 0}
# -90 deg about Y: DeepMimic's +X (forward) -> +Z, its -Z (the body's left) -> +X.
TO_Z_FORWARD = np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


class DeepMimicError(ValueError):
    """A DeepMimic character or motion file that cannot be read; the message names the file."""


@dataclass(frozen=True)
class Character:
    """A DeepMimic kinematic tree: J joints."""

    source: str
    names: tuple[str, ...]  # (J,)
    parents: tuple[int, ...]  # (J,)
    types: tuple[str, ...]  # (J,)
    offsets: np.ndarray  # (J, 3) metres, parent frame

    @property
    def values_per_frame(self) -> int:
        return 1 + sum(VALUES[t] for t in self.types)


@dataclass(frozen=True)
class MimicMotion:
    """A DeepMimic motion: ``frames (F, values_per_frame)`` as written, the first column the duration."""

    source: str
    character: Character
    frames: np.ndarray

    @property
    def fps(self) -> float:
        return 1.0 / float(np.median(self.frames[:-1, 0] if len(self.frames) > 1 else self.frames[:, 0]))


def _read(path: Path) -> str:
    if not path.is_file():
        raise FileNotFoundError(f"The file {path} does not exist.")
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            return handle.read()
    return path.read_text(encoding="utf-8")


def load_character(path: str | Path) -> Character:
    """Read a DeepMimic character file (e.g. ``characters/humanoid3d.txt``)."""
    path = Path(path)
    try:
        joints = json.loads(_read(path))["Skeleton"]["Joints"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DeepMimicError(f"{path} is not a DeepMimic character file ({exc}).") from None
    joints = sorted(joints, key=lambda joint: joint["ID"])
    for joint in joints:
        if joint["Type"] not in VALUES:
            raise DeepMimicError(f'{path}: joint "{joint["Name"]}" has the unknown type "{joint["Type"]}".')
        if any(float(joint.get(f"AttachTheta{axis}", 0)) for axis in "XYZ"):
            raise DeepMimicError(f'{path}: joint "{joint["Name"]}" has an AttachTheta, which is not supported.')
        if joint["Parent"] >= joint["ID"]:
            raise DeepMimicError(f'{path}: joint "{joint["Name"]}" comes before its parent.')
    return Character(str(path), tuple(j["Name"] for j in joints), tuple(int(j["Parent"]) for j in joints),
                     tuple(j["Type"] for j in joints),
                     np.array([[j["AttachX"], j["AttachY"], j["AttachZ"]] for j in joints], np.float64))


def parse_motion(text: str, character: Character, source: str = "<DeepMimic motion>") -> MimicMotion:
    """Parse a motion file's JSON text against ``character``."""
    try:
        frames = np.array(json.loads(text)["Frames"], np.float64)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise DeepMimicError(f"{source} is not a DeepMimic motion file ({exc}).") from None
    if frames.ndim != 2 or frames.shape[1] != character.values_per_frame:
        raise DeepMimicError(f"{source}: frames have {frames.shape[-1] if frames.ndim == 2 else '?'} values where "
                             f"{Path(character.source).name} needs {character.values_per_frame}.")
    if np.any(frames[:-1, 0] <= 0) or frames[-1, 0] < 0:  # the last frame's duration is 0 in these files
        raise DeepMimicError(f"{source}: a frame duration is not positive.")
    return MimicMotion(source, character, frames)


def load_motion(path: str | Path, character: Character) -> MimicMotion:
    """Read a DeepMimic motion (``.txt`` or ``.txt.gz``)."""
    path = Path(path)
    return parse_motion(_read(path), character, str(path))


def quaternion_matrices(quaternions: np.ndarray) -> np.ndarray:
    """Unit quaternions ``(F, 4)`` as (w, x, y, z), normalised here -> rotation matrices ``(F, 3, 3)``."""
    q = quaternions / np.linalg.norm(quaternions, axis=1, keepdims=True)
    w, x, y, z = q.T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], axis=1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], axis=1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], axis=1),
    ], axis=1)


def _about_z(angles: np.ndarray) -> np.ndarray:
    c, s = np.cos(angles), np.sin(angles)
    out = np.zeros((len(angles), 3, 3))
    out[:, 0, 0], out[:, 0, 1], out[:, 1, 0], out[:, 1, 1], out[:, 2, 2] = c, -s, s, c, 1.0
    return out


def forward_kinematics(motion: MimicMotion, frames: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """World joint positions ``(F, J, 3)`` metres and rotations ``(F, J, 3, 3)`` (identity at rest), turned to
    face +Z at rest (``TO_Z_FORWARD``)."""
    character = motion.character
    values = motion.frames if frames is None else motion.frames[frames]
    count, joints = len(values), len(character.names)
    positions, rotations = np.zeros((count, joints, 3)), np.zeros((count, joints, 3, 3))
    column = 1
    for joint, (parent, kind) in enumerate(zip(character.parents, character.types, strict=True)):
        if kind == "none":
            local = quaternion_matrices(values[:, column + 3:column + 7])
            origin = values[:, column:column + 3] + character.offsets[joint]
        elif kind == "spherical":
            local = quaternion_matrices(values[:, column:column + 4])
        elif kind == "revolute":
            local = _about_z(values[:, column])
        else:
            local = np.broadcast_to(np.eye(3), (count, 3, 3))
        column += VALUES[kind]
        if parent < 0:
            rotations[:, joint], positions[:, joint] = local, origin
        else:
            rotations[:, joint] = rotations[:, parent] @ local
            positions[:, joint] = positions[:, parent] + rotations[:, parent] @ character.offsets[joint]
    turned = np.einsum("ab,fjbc,dc->fjad", TO_Z_FORWARD, rotations, TO_Z_FORWARD)
    return positions @ TO_Z_FORWARD.T, turned


def rest_positions(character: Character) -> np.ndarray:
    """Joint positions ``(J, 3)`` at rest (root at the origin), turned to face +Z."""
    positions = np.zeros((len(character.names), 3))
    for joint, parent in enumerate(character.parents):
        if parent >= 0:
            positions[joint] = positions[parent] + character.offsets[joint]
    return positions @ TO_Z_FORWARD.T
