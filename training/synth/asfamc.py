"""Acclaim ASF/AMC (the CMU database's own format) reader and forward kinematics (numpy).

Conventions as read here (the Acclaim 1.10 definition, as CMU's own viewer applies it):

* ``:units length u`` scales lengths: a file unit is ``1/u`` inches, so metres = value x ``0.0254 / u``
  (CMU: ``length 0.45``, 0.056444 m per unit). ``angle deg`` or ``rad`` applies to ``axis``, ``orientation``
  and every AMC rotation. AMC files say ``:DEGREES`` or ``:RADIANS`` themselves; that wins.
* A bone's ``axis ax ay az XYZ`` gives its local frame ``C`` in world coordinates, the rotations applied in the
  listed order about fixed axes: ``XYZ`` -> ``C = Rz Ry Rx``. Its motion ``M`` is the product of its ``dof``
  rotations, likewise in listed order (``rx ry rz`` -> ``Rz Ry Rx``). The bone's world rotation is
  ``W = W_parent C M C^T`` (identity for every bone at rest), and its end lies at
  ``end_parent + length W direction``, ``direction`` being the rest direction in world coordinates.
* The root: ``order`` lists the AMC channels (``TX TY TZ RX RY RZ``); its rotation is ``C M C^T`` with
  ``C`` from ``orientation`` in the ``axis`` order and ``M`` from the R channels in ``order`` order; its
  position is ``position`` + the T channels.
* Axes are the file's (CMU: Y up, the body facing +Z at rest, its left +X).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .bvh import axis_rotations

INCH = 0.0254
AXES = {"x": 0, "y": 1, "z": 2}
ROTATION_DOFS = ("rx", "ry", "rz")
ROOT_CHANNELS = ("TX", "TY", "TZ", "RX", "RY", "RZ")


class AcclaimError(ValueError):
    """An ASF or AMC file that cannot be read; the message names the file and, where it can, the line."""


@dataclass(frozen=True)
class AcclaimSkeleton:
    """A parsed ASF file. J points: the root (index 0) then one per bone, each bone standing for its end."""

    source: str
    names: tuple[str, ...]  # (J,)
    parents: tuple[int, ...]  # (J,), -1 for the root
    directions: np.ndarray  # (J, 3) unit rest directions, world; row 0 unused
    lengths: np.ndarray  # (J,) file units; 0 for the root
    axes: np.ndarray  # (J, 3, 3) each bone's local frame C (the root's from its orientation)
    dofs: tuple[tuple[str, ...], ...]  # (J,) AMC channels per point in file order (the root's from ``order``)
    root_position: np.ndarray  # (3,) file units
    metres_per_unit: float
    angles_in_degrees: bool

    def index(self, name: str) -> int:
        """Point index of ``name``; KeyError naming the file if absent."""
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f'{self.source} has no bone "{name}".') from None


@dataclass(frozen=True)
class AcclaimMotion:
    """An AMC file read against its skeleton: ``values[j]`` are point j's channels ``(F, len(dofs[j]))``."""

    skeleton: AcclaimSkeleton
    values: tuple[np.ndarray, ...]  # (J,) arrays (F, D_j), radians for rotations, file units for translations
    source: str

    @property
    def frames(self) -> int:
        return len(self.values[0])


def euler_matrices(angles: np.ndarray, order: str) -> np.ndarray:
    """Rotations applied in ``order`` (e.g. ``"XYZ"``) about fixed axes, first letter first:
    ``angles (F, 3)`` radians, one per letter -> ``(F, 3, 3)`` (``"XYZ"`` gives ``Rz Ry Rx``)."""
    out = np.broadcast_to(np.eye(3), (len(angles), 3, 3)).copy()
    for column, letter in enumerate(order.lower()):
        out = axis_rotations(AXES[letter], np.degrees(angles[:, column])) @ out
    return out


def _open_text(path: Path) -> str:
    if not path.is_file():
        raise FileNotFoundError(f"The file {path} does not exist.")
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as handle:
            return handle.read()
    return path.read_text(encoding="utf-8", errors="replace")


def _sections(lines: list[str]) -> dict[str, list[tuple[int, list[str]]]]:
    """ASF keyword sections (``:root``, ``:bonedata`` ...) -> their (line number, words) lines."""
    sections, current = {}, None
    for number, line in enumerate(lines, start=1):
        words = line.split("#")[0].split()
        if not words:
            continue
        if words[0].startswith(":"):
            current = words[0].lower()
            sections[current] = [(number, words[1:])] if len(words) > 1 else []
        elif current is not None:
            sections[current].append((number, words))
    return sections


def parse_asf(text: str, source: str = "<ASF text>") -> AcclaimSkeleton:
    """Parse ASF ``text``; ``source`` names it in AcclaimError messages."""
    sections = _sections(text.splitlines())
    for needed in (":root", ":bonedata", ":hierarchy"):
        if needed not in sections:
            raise AcclaimError(f"{source}: there is no {needed} section.")
    units = {words[0].lower(): words[1] for _, words in sections.get(":units", []) if len(words) >= 2}
    try:
        metres = INCH / float(units.get("length", "1"))
    except ValueError:
        raise AcclaimError(f"{source}: the length unit is not a number.") from None
    degrees = units.get("angle", "deg").lower().startswith("deg")
    to_radians = np.radians if degrees else np.asarray
    root = {words[0].lower(): words[1:] for _, words in sections[":root"] if words}
    order = tuple(w.upper() for w in root.get("order", ROOT_CHANNELS))
    unknown = [c for c in order if c not in ROOT_CHANNELS]
    if unknown:
        raise AcclaimError(f'{source}: unknown root channel "{unknown[0]}".')
    root_axis = root.get("axis", ["XYZ"])[0].upper()
    orientation = to_radians(np.array([float(v) for v in root.get("orientation", [0, 0, 0])], np.float64))
    names, directions, lengths, axes, dofs = ["root"], [np.zeros(3)], [0.0], [euler_matrices(orientation[None],
                                                                                        root_axis)[0]], [order]
    bone = None
    for number, words in sections[":bonedata"]:
        key = words[0].lower()
        if key == "begin":
            bone = {"line": number}
        elif key == "end":
            names.append(_bone_field(bone, "name", source)[0])
            direction = np.array([float(v) for v in _bone_field(bone, "direction", source)[:3]])
            directions.append(direction / max(np.linalg.norm(direction), 1e-12))
            lengths.append(float(_bone_field(bone, "length", source)[0]))
            axis = _bone_field(bone, "axis", source)
            angles = to_radians(np.array([float(v) for v in axis[:3]]))
            axes.append(euler_matrices(angles[None], axis[3] if len(axis) > 3 else "XYZ")[0])
            bone_dofs = tuple(w.lower() for w in bone.get("dof", ()))
            if any(d not in ROTATION_DOFS for d in bone_dofs):
                raise AcclaimError(f'{source}, line {bone["line"]}: bone "{names[-1]}" has a dof other than '
                                   "rx/ry/rz, which this reader does not support.")
            dofs.append(bone_dofs)
            bone = None
        elif bone is not None:
            bone[key] = words[1:]
    parents = [-1] * len(names)
    for number, words in sections[":hierarchy"]:
        if words[0].lower() in ("begin", "end"):
            continue
        for child in words[1:]:
            if child not in names or words[0] not in names:
                raise AcclaimError(f'{source}, line {number}: the hierarchy names an unknown bone "{child}".')
            parents[names.index(child)] = names.index(words[0])
    orphans = [n for n, p in zip(names[1:], parents[1:], strict=True) if p < 0]
    if orphans:
        raise AcclaimError(f'{source}: bone "{orphans[0]}" is not in the hierarchy.')
    order_index = _topological(parents)
    if order_index != list(range(len(names))):  # parents before children, the root first
        names, directions, lengths, axes, dofs = ([seq[i] for i in order_index]
                                                  for seq in (names, directions, lengths, axes, dofs))
        parents = [order_index.index(parents[i]) if parents[i] >= 0 else -1 for i in order_index]
    position = np.array([float(v) for v in root.get("position", [0, 0, 0])], np.float64)
    return AcclaimSkeleton(source, tuple(names), tuple(parents), np.array(directions), np.array(lengths),
                           np.array(axes), tuple(dofs), position, metres, degrees)


def _bone_field(bone: dict | None, key: str, source: str) -> list[str]:
    if bone is None or key not in bone:
        line = bone["line"] if bone else "?"
        raise AcclaimError(f'{source}, line {line}: a bone lacks its "{key}".')
    return bone[key]


def _topological(parents: list[int]) -> list[int]:
    """Indices ordered so that every parent comes before its children (the root first)."""
    ordered, pending = [0], [i for i in range(1, len(parents))]
    while pending:
        ready = [i for i in pending if parents[i] in ordered]
        if not ready:
            raise AcclaimError("the hierarchy has a cycle.")
        ordered += ready
        pending = [i for i in pending if i not in ready]
    return ordered


def parse_amc(text: str, skeleton: AcclaimSkeleton, source: str = "<AMC text>") -> AcclaimMotion:
    """Parse AMC ``text`` against ``skeleton``. Every frame must give the same bones (CMU's files do);
    bones never mentioned stay at rest. AcclaimError names the file and line of a problem."""
    lines = text.splitlines()
    degrees = skeleton.angles_in_degrees
    start = 0
    for number, line in enumerate(lines):
        stripped = line.strip()
        if stripped.upper() == ":DEGREES":
            degrees = True
        elif stripped.upper() == ":RADIANS":
            degrees = False
        if stripped and not stripped.startswith((":", "#")):
            start = number
            break
    else:
        raise AcclaimError(f"{source}: there are no frames.")
    template = []  # (bone index, value count) in the order of the first frame
    for number in range(start + 1, len(lines)):
        words = lines[number].split()
        if not words:
            continue
        if words[0].lstrip("-").isdigit():
            break
        index = _amc_bone(skeleton, words[0], source, number + 1)
        if len(words) - 1 != len(skeleton.dofs[index]):
            raise AcclaimError(f'{source}, line {number + 1}: bone "{words[0]}" has {len(words) - 1} values '
                               f"where the skeleton gives it {len(skeleton.dofs[index])}.")
        template.append((index, len(words) - 1))
    tokens = np.array(" ".join(lines[start:]).split(), dtype=object)
    width = 1 + sum(1 + count for _, count in template)
    if len(tokens) % width:
        raise AcclaimError(f"{source}: the frames do not all list the same bones with the same number of values.")
    table = tokens.reshape(-1, width)
    column, numeric = 1, []
    for index, count in template:
        if not np.all(table[:, column] == skeleton.names[index]):
            row = int(np.argmax(table[:, column] != skeleton.names[index]))
            raise AcclaimError(f'{source}: frame {row + 1} does not list "{skeleton.names[index]}" where the '
                               "first frame does.")
        numeric.append((index, slice(column + 1, column + 1 + count)))
        column += 1 + count
    try:
        frame_numbers = table[:, 0].astype(np.int64)
        columns = np.concatenate([np.arange(s.start, s.stop) for _, s in numeric]) if numeric else np.zeros(0, int)
        data = np.zeros((len(table), width))
        data[:, columns] = table[:, columns].astype(np.float64)
    except ValueError:
        raise AcclaimError(f"{source}: a value is not a number.") from None
    if np.any(np.diff(frame_numbers) != 1):
        row = int(np.argmax(np.diff(frame_numbers) != 1)) + 1
        raise AcclaimError(f"{source}: frame numbers are not consecutive at frame {row + 1}.")
    values = [np.zeros((len(table), len(d))) for d in skeleton.dofs]
    for index, columns in numeric:
        block = data[:, columns].copy()
        channels = skeleton.dofs[index]
        rotations = [i for i, c in enumerate(channels) if c.lower().startswith("r")]
        if degrees:
            block[:, rotations] = np.radians(block[:, rotations])
        values[index] = block
    return AcclaimMotion(skeleton, tuple(values), source)


def _amc_bone(skeleton: AcclaimSkeleton, name: str, source: str, line: int) -> int:
    if name not in skeleton.names:
        raise AcclaimError(f'{source}, line {line}: "{name}" is not a bone of {skeleton.source}.')
    return skeleton.names.index(name)


def load_asf(path: str | Path) -> AcclaimSkeleton:
    """Read an ASF file (``.asf`` or gzip-compressed ``.asf.gz``)."""
    path = Path(path)
    return parse_asf(_open_text(path), str(path))


def load_amc(path: str | Path, skeleton: AcclaimSkeleton) -> AcclaimMotion:
    """Read an AMC file (``.amc`` or ``.amc.gz``) against ``skeleton``."""
    path = Path(path)
    return parse_amc(_open_text(path), skeleton, str(path))


def _motion_rotation(channels: tuple[str, ...], values: np.ndarray) -> np.ndarray:
    """The product of a point's rotation channels in listed order, first applied first: ``(F, 3, 3)``."""
    out = np.broadcast_to(np.eye(3), (len(values), 3, 3)).copy()
    for column, channel in enumerate(channels):
        if channel.lower().startswith("r"):
            out = axis_rotations(AXES[channel[-1].lower()], np.degrees(values[:, column])) @ out
    return out


def forward_kinematics(motion: AcclaimMotion, frames: slice | np.ndarray | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """World positions ``(F, J, 3)`` in metres of the root and each bone's end, and world rotations
    ``(F, J, 3, 3)`` of each bone (identity at rest), for all frames or the selected ones."""
    skeleton = motion.skeleton
    values = [v if frames is None else v[frames] for v in motion.values]
    count = len(values[0])
    positions = np.zeros((count, len(skeleton.names), 3))
    rotations = np.zeros((count, len(skeleton.names), 3, 3))
    root_channels = skeleton.dofs[0]
    translation = np.zeros((count, 3))
    for column, channel in enumerate(root_channels):
        if channel.startswith("T"):
            translation[:, AXES[channel[1].lower()]] = values[0][:, column]
    axis = skeleton.axes[0]
    rotations[:, 0] = axis @ _motion_rotation(root_channels, values[0]) @ axis.T
    positions[:, 0] = (skeleton.root_position + translation) * skeleton.metres_per_unit
    for joint in range(1, len(skeleton.names)):
        parent, axis = skeleton.parents[joint], skeleton.axes[joint]
        local = axis @ _motion_rotation(skeleton.dofs[joint], values[joint]) @ axis.T
        rotations[:, joint] = rotations[:, parent] @ local
        bone = skeleton.lengths[joint] * skeleton.metres_per_unit * skeleton.directions[joint]
        positions[:, joint] = positions[:, parent] + rotations[:, joint] @ bone
    return positions, rotations


def rest_positions(skeleton: AcclaimSkeleton) -> np.ndarray:
    """Points ``(J, 3)`` in metres with every rotation zero and the root at its ASF position."""
    positions = np.zeros((len(skeleton.names), 3))
    positions[0] = skeleton.root_position * skeleton.metres_per_unit
    for joint in range(1, len(skeleton.names)):
        positions[joint] = (positions[skeleton.parents[joint]]
                            + skeleton.lengths[joint] * skeleton.metres_per_unit * skeleton.directions[joint])
    return positions
