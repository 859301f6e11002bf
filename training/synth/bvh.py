"""A small BVH reader and forward kinematics (numpy).

BVH conventions as read here (those of the CMU clips in shared/mocap, and of the format in general):

* Each joint's local transform is ``T(offset + position channels) · R``; ``R`` is the product of its rotation
  channels **in the order listed**, the first outermost: ``Zrotation Yrotation Xrotation`` gives
  ``R = Rz · Ry · Rx``. Rotation channels are in degrees; position channels are **added** to the OFFSET.
* World transforms chain parent to child: ``G_j = G_parent · L_j``.
* Lengths in the file are taken as centimetres and returned in metres (``scale``). Axes are the file's own
  (the CMU clips: Y up, facing +Z at the start; the ``RL_BoneRoot`` variant's root rotation turns its Z-up
  body into that frame, so both root variants come out alike).
* End Sites are kept as leaf points (``end_sites``) but are not joints: they carry no channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

CENTIMETRES = 0.01
ROTATIONS = {"Xrotation": 0, "Yrotation": 1, "Zrotation": 2}
POSITIONS = {"Xposition": 0, "Yposition": 1, "Zposition": 2}


class BVHError(ValueError):
    """A BVH file that cannot be read; the message names the file and the line."""


@dataclass(frozen=True)
class Motion:
    """A parsed BVH file. J joints (with channels), F frames, C channels in all."""

    source: str  # file path or a label, for messages
    names: tuple[str, ...]  # (J,)
    parents: tuple[int, ...]  # (J,), -1 for the root
    offsets: np.ndarray  # (J, 3) float64, file units (cm)
    channels: tuple[tuple[str, ...], ...]  # (J,) channel names per joint, in file order
    end_sites: tuple[tuple[int, tuple[float, float, float]], ...]  # (parent joint, offset in file units)
    frame_time: float  # seconds
    values: np.ndarray  # (F, C) float64, the MOTION block as written

    @property
    def frames(self) -> int:
        return len(self.values)

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    def index(self, name: str) -> int:
        """Joint index of ``name``; KeyError naming the file if absent."""
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f'{self.source} has no joint "{name}".') from None

    def channel_slices(self) -> list[slice]:
        """Per joint, its columns in ``values``."""
        slices, start = [], 0
        for names in self.channels:
            slices.append(slice(start, start + len(names)))
            start += len(names)
        return slices


class _Lines:
    """Tokens of the HIERARCHY with their line numbers, for error messages."""

    def __init__(self, lines: list[str], source: str):
        self.tokens = [(number + 1, token) for number, line in enumerate(lines) for token in line.split()]
        self.position, self.source = 0, source

    def error(self, message: str, line: int | None = None) -> BVHError:
        if line is None:
            line = self.tokens[min(self.position, len(self.tokens) - 1)][0] if self.tokens else 1
        return BVHError(f"{self.source}, line {line}: {message}.")

    def next(self, what: str, literal: bool = True) -> str:
        """The next token; with ``literal`` it must equal ``what``, else ``what`` describes it for messages."""
        if self.position >= len(self.tokens):
            raise self.error(f"the file ends early (expected {what})")
        line, token = self.tokens[self.position]
        if literal and token != what:
            raise self.error(f'expected "{what}" but found "{token}"', line)
        self.position += 1
        return token

    def line(self) -> int:
        """Line of the token just read."""
        return self.tokens[self.position - 1][0]

    def peek(self) -> str | None:
        return self.tokens[self.position][1] if self.position < len(self.tokens) else None

    def number(self) -> float:
        token = self.next("a number", literal=False)
        try:
            return float(token)
        except ValueError:
            raise self.error(f'expected a number but found "{token}"', self.line()) from None


def parse_bvh(text: str, source: str = "<BVH text>") -> Motion:
    """Parse BVH ``text``; ``source`` names it in error messages (BVHError: file and line)."""
    lines = text.splitlines()
    motion_line = next((i for i, line in enumerate(lines) if line.strip() == "MOTION"), None)
    if motion_line is None:
        raise BVHError(f"{source}, line {len(lines)}: there is no MOTION section.")
    tokens = _Lines(lines[:motion_line], source)
    tokens.next("HIERARCHY")
    names, parents, offsets, channels, end_sites = [], [], [], [], []
    tokens.next("ROOT")
    _parse_joint(tokens, -1, names, parents, offsets, channels, end_sites)
    if tokens.peek() is not None:
        raise tokens.error(f'unexpected "{tokens.peek()}" after the root joint')
    frame_time, values = _parse_motion(lines, motion_line, sum(len(c) for c in channels), source)
    return Motion(source, tuple(names), tuple(parents), np.array(offsets, np.float64),
                  tuple(channels), tuple(end_sites), frame_time, values)


def _parse_joint(tokens: _Lines, parent: int, names, parents, offsets, channels, end_sites) -> None:
    index = len(names)
    names.append(tokens.next("a joint name", literal=False))
    parents.append(parent)
    tokens.next("{")
    tokens.next("OFFSET")
    offsets.append([tokens.number() for _ in range(3)])
    tokens.next("CHANNELS")
    count_token = tokens.next("a channel count", literal=False)
    if not count_token.isdigit():
        raise tokens.error(f'expected a channel count but found "{count_token}"')
    joint_channels = []
    for _ in range(int(count_token)):
        channel = tokens.next("a channel name", literal=False)
        if channel not in ROTATIONS and channel not in POSITIONS:
            raise tokens.error(f'unknown channel "{channel}" in joint "{names[index]}"', tokens.line())
        joint_channels.append(channel)
    channels.append(tuple(joint_channels))
    while True:
        keyword = tokens.next('"JOINT", "End" or "}"', literal=False)
        if keyword == "}":
            return
        if keyword == "JOINT":
            _parse_joint(tokens, index, names, parents, offsets, channels, end_sites)
        elif keyword == "End":
            tokens.next("Site")
            tokens.next("{")
            tokens.next("OFFSET")
            end_sites.append((index, tuple(tokens.number() for _ in range(3))))
            tokens.next("}")
        else:
            raise tokens.error(f'expected "JOINT", "End Site" or "}}" but found "{keyword}"')


def _parse_motion(lines: list[str], start: int, channel_count: int, source: str) -> tuple[float, np.ndarray]:
    header = {}
    for offset, key in ((1, "Frames:"), (2, "Frame Time:")):
        number = start + offset
        line = lines[number].strip() if number < len(lines) else ""
        if not line.startswith(key):
            raise BVHError(f'{source}, line {number + 1}: expected "{key}" but found "{line[:40]}".')
        header[key] = line[len(key):].strip()
    try:
        frames, frame_time = int(header["Frames:"]), float(header["Frame Time:"])
    except ValueError:
        raise BVHError(f"{source}, line {start + 2}: the frame count or frame time is not a number.") from None
    if frame_time <= 0:
        raise BVHError(f"{source}, line {start + 3}: the frame time must be positive.")
    rows = [(start + 4 + i, line) for i, line in enumerate(lines[start + 3:]) if line.strip()]
    if len(rows) != frames:
        raise BVHError(f"{source}, line {start + 2}: the header says {frames} frames but there are {len(rows)}.")
    values = np.empty((frames, channel_count), np.float64)
    for row, (number, line) in enumerate(rows):
        fields = line.split()
        if len(fields) != channel_count:
            raise BVHError(f"{source}, line {number}: {len(fields)} values where the hierarchy has "
                           f"{channel_count} channels.")
        try:
            values[row] = [float(field) for field in fields]
        except ValueError:
            raise BVHError(f"{source}, line {number}: a value is not a number.") from None
    return frame_time, values


def load_bvh(path: str | Path) -> Motion:
    """Read a BVH file; BVHError (file and line) if it is malformed, FileNotFoundError if absent."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"The BVH file {path} does not exist.")
    return parse_bvh(path.read_text(encoding="utf-8", errors="replace"), str(path))


def axis_rotations(axis: int, degrees: np.ndarray) -> np.ndarray:
    """Rotations about X (0), Y (1) or Z (2) by ``degrees (F,)`` -> ``(F, 3, 3)`` (right-handed)."""
    radians = np.radians(degrees)
    c, s = np.cos(radians), np.sin(radians)
    out = np.zeros((len(radians), 3, 3))
    a, b = [(1, 2), (2, 0), (0, 1)][axis]
    out[:, axis, axis] = 1.0
    out[:, a, a], out[:, a, b], out[:, b, a], out[:, b, b] = c, -s, s, c
    return out


def local_transforms(motion: Motion, frames: slice | np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per joint, local rotations ``(F, J, 3, 3)`` and translations ``(F, J, 3)`` in file units."""
    values = motion.values if frames is None else motion.values[frames]
    count, joints = len(values), len(motion.names)
    rotations = np.broadcast_to(np.eye(3), (count, joints, 3, 3)).copy()
    translations = np.broadcast_to(motion.offsets, (count, joints, 3)).copy()
    for joint, columns in enumerate(motion.channel_slices()):
        for column, channel in zip(range(columns.start, columns.stop), motion.channels[joint], strict=True):
            if channel in POSITIONS:
                translations[:, joint, POSITIONS[channel]] += values[:, column]
            else:
                rotations[:, joint] = rotations[:, joint] @ axis_rotations(ROTATIONS[channel], values[:, column])
    return rotations, translations


def forward_kinematics(motion: Motion, frames: slice | np.ndarray | None = None, scale: float = CENTIMETRES
                       ) -> tuple[np.ndarray, np.ndarray]:
    """World joint positions ``(F, J, 3)`` (file units x ``scale``: metres for cm files) and world rotation
    matrices ``(F, J, 3, 3)`` of each joint's frame, for all frames or the selected ones."""
    local_r, local_t = local_transforms(motion, frames)
    world_r = np.empty_like(local_r)
    world_t = np.empty_like(local_t)
    for joint, parent in enumerate(motion.parents):
        if parent < 0:
            world_r[:, joint], world_t[:, joint] = local_r[:, joint], local_t[:, joint]
        else:
            world_r[:, joint] = world_r[:, parent] @ local_r[:, joint]
            world_t[:, joint] = world_t[:, parent] + np.einsum("fab,fb->fa", world_r[:, parent], local_t[:, joint])
    return world_t * scale, world_r
