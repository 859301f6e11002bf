"""Checks of the user's SMPL / SMPL-X files: a quick one when a path is typed in, a complete one when a model
is loaded, and reading a file's arrays within fixed limits.

The quick check opens ``.npz`` files without pickles and reads only the arrays' headers (shape and type), so a
damaged or hostile file is refused before any memory is spent on it; ``.pkl`` headers are only sniffed (their
contents are read by the restricted unpickler, never here). The complete check runs on every array before a
model is built: shapes against each other, types, finite values, index ranges, joint and direction counts.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BodyModelError
from ..fileio import path_problem
from .joints import PARENTS
from .model import LABELS, REQUIRED, VERTEX_COUNTS
from .unpickle import NOT_AN_ARRAY, load_model_pickle

MAX_FILE_BYTES = 2 << 30  # official files: SMPL 37-250 MB, SMPL-X 100-600 MB
MAX_ARRAY_BYTES = 1 << 30
MAX_TOTAL_BYTES = 3 << 30
MAX_MEMBERS = 1000
MAX_VERTICES = 1_000_000
MAX_DIRECTIONS = 1000  # shape + expression directions (SMPL-X files have 400 at most)
HAND_COMPONENTS = 45
NUMBERS = "biuf"


@dataclass(frozen=True)
class BodyFileCheck:
    family: str
    path: Path
    summary: str


def check_body_file(family: str, path: str | Path) -> BodyFileCheck:
    """Raise :class:`BodyModelError` unless ``path`` looks like a ``family`` ("smpl"/"smplx") model."""
    path = Path(path)
    label = LABELS[family]
    _check_path(path, label)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _check_npz(family, path)
    if suffix == ".pkl":
        return _check_pickle_header(family, path)
    raise BodyModelError(f'"{path.name}" is not a {label} model file: expected a .pkl or .npz file.')


def _check_path(path: Path, label: str) -> None:
    problem = path_problem(path, f"{label} file")
    if "does not exist" in problem and "link" not in problem:
        problem = (f'The {label} file "{path}" does not exist. Pick the model file you downloaded from the {label} '
                   "website.")
    if problem:
        raise BodyModelError(problem)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise BodyModelError(f'"{path.name}" is {size / 1e9:.1f} GB, larger than any {label} model file '
                             f"({MAX_FILE_BYTES / 1e9:.1f} GB at most). Pick the model file you downloaded.")


def _check_npz(family: str, path: Path) -> BodyFileCheck:
    label = LABELS[family]
    headers = npz_headers(path)
    names = set(headers)
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise BodyModelError(f'"{path.name}" is not a {label} model: it lacks {", ".join(missing)}.')
    vertices = headers["v_template"][0][0] if headers["v_template"][0] else 0
    if vertices != VERTEX_COUNTS[family]:
        raise BodyModelError(_wrong_vertex_count(family, path, vertices, names))
    check_model_shapes(headers, family, path.name)
    return BodyFileCheck(family, path, f"{label}, {vertices} vertices")


def npz_headers(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """``{name: (shape, dtype)}`` of every array in an ``.npz``, read from the headers only; refuses arrays
    larger than the limits and files that are not ``.npz`` archives."""
    headers, total = {}, 0
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > MAX_MEMBERS:
                raise BodyModelError(f'"{path.name}" holds {len(members)} arrays; a model file holds a few dozen.')
            for member in members:
                with archive.open(member) as handle:
                    shape, dtype = _npy_header(handle)
                name = member.filename[:-4] if member.filename.endswith(".npy") else member.filename
                size = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
                total += size
                if size > MAX_ARRAY_BYTES or total > MAX_TOTAL_BYTES:
                    raise BodyModelError(f'"{path.name}": {name} would take {size / 1e9:.1f} GB of memory '
                                         f"(shape {shape}), more than any model needs. Download the model again.")
                headers[name] = (shape, dtype)
    except BodyModelError:
        raise
    except (OSError, ValueError, SyntaxError, TypeError, zipfile.BadZipFile, EOFError, RuntimeError) as exc:
        reason = "it is not a zip archive" if isinstance(exc, zipfile.BadZipFile) else "an array header is damaged"
        raise BodyModelError(f'"{path.name}" could not be read as an .npz model file ({reason}). '
                             "Download it again.") from None
    return headers


def _npy_header(handle) -> tuple[tuple[int, ...], np.dtype]:
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        shape, _fortran, dtype = np.lib.format.read_array_header_1_0(handle)
    elif version in ((2, 0), (3, 0)):
        shape, _fortran, dtype = np.lib.format.read_array_header_2_0(handle)
    else:
        raise ValueError("unknown .npy version")
    if not all(isinstance(n, int) and n >= 0 for n in shape):
        raise ValueError("bad shape")
    return tuple(shape), np.dtype(dtype)


def read_model_file(path: Path) -> dict:
    """The arrays of a model file (``.npz`` without pickles after its headers pass, ``.pkl`` through the
    restricted unpickler), within the size limits."""
    _check_path(path, "body-model")
    suffix = path.suffix.lower()
    if suffix == ".pkl":
        return load_model_pickle(path)
    if suffix != ".npz":
        raise BodyModelError(f'"{path.name}" is not a body-model file: expected .pkl or .npz.')
    headers = npz_headers(path)
    try:
        with np.load(path, allow_pickle=False) as data:  # object arrays (SMPL-X's joint2num) are not read:
            return {name: NOT_AN_ARRAY if headers[name][1].hasobject else data[name] for name in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "it is damaged or truncated"
        raise BodyModelError(f'"{path.name}" could not be read as an .npz model ({reason}). Download it again.') \
            from None
    except MemoryError:
        raise BodyModelError(f'"{path.name}" needs more memory than this computer has free. Close other programs, '
                             "or use a smaller model file.") from None


def _wrong_vertex_count(family: str, path: Path, vertices: int, names: set[str]) -> str:
    label = LABELS[family]
    guess = {6890: "SMPL or SMPL-H", 10475: "SMPL-X"}.get(vertices, "an unknown body")
    if vertices == 6890 and "hands_componentsl" in names:
        guess = "SMPL-H"
    return (f'"{path.name}" has {vertices} vertices, so it is {guess}; a {label} model has '
            f'{VERTEX_COUNTS[family]}. Pick the {label} file instead.')


def _check_pickle_header(family: str, path: Path) -> BodyFileCheck:
    with open(path, "rb") as handle:
        head = handle.read(2)
    if len(head) < 2 or head[0] != 0x80:
        raise BodyModelError(f'"{path.name}" is not a Python pickle, so it cannot be a {LABELS[family]} .pkl '
                             'model. Download the model again.')
    return BodyFileCheck(family, path, f"{LABELS[family]} pickle (contents checked when first used)")


def check_model_shapes(arrays: dict, family: str, name: str) -> None:
    """Shapes and types of a model's arrays against each other and the ``family``'s joints; ``arrays`` holds
    arrays or ``(shape, dtype)`` pairs. Raises :class:`BodyModelError` with the first problem."""
    label = LABELS[family]
    joints = len(PARENTS[family])
    missing = [key for key in REQUIRED if key not in arrays]
    if missing:
        raise BodyModelError(f'"{name}" is not a {label} model: it lacks {", ".join(missing)}.')
    shape = {key: _shape_of(value) for key, value in arrays.items()}
    for key in (*REQUIRED, "posedirs", "hands_componentsl", "hands_componentsr", "hands_meanl", "hands_meanr",
                "arkit_dirs", "vertex_ids"):
        if key in arrays and shape[key][1].kind not in NUMBERS:
            raise BodyModelError(f'"{name}": {key} holds {_kind_words(shape[key][1])}, not numbers. Download the '
                                 "model again.")
    vertices = _expect(name, "v_template", shape["v_template"][0], (None, 3), "(vertices, 3)")
    if not 3 <= vertices <= MAX_VERTICES:
        raise BodyModelError(f'"{name}": v_template has {vertices} vertices; a body has a few thousand.')
    if shape["f"][1].kind not in "iu":
        raise BodyModelError(f'"{name}": its faces (f) are {shape["f"][1].name} numbers; faces are vertex indices, '
                             "whole numbers. Download the model again.")
    _expect(name, "f", shape["f"][0], (None, 3), "(faces, 3)")
    directions = _expect(name, "shapedirs", shape["shapedirs"][0], (vertices, 3, None), "(vertices, 3, directions)")
    if not 1 <= directions <= MAX_DIRECTIONS:
        raise BodyModelError(f'"{name}": shapedirs has {directions} shape directions; a model has 10 to '
                             f"{MAX_DIRECTIONS}.")
    found_joints = _expect(name, "weights", shape["weights"][0], (vertices, None), "(vertices, joints)")
    _check_joint_count(name, family, found_joints)
    rows = _expect(name, "J_regressor", shape["J_regressor"][0], (None, vertices), "(joints, vertices)")
    if rows < joints:
        raise BodyModelError(f'"{name}": J_regressor gives {rows} joints; {label} needs {joints}.')
    tree = _expect(name, "kintree_table", shape["kintree_table"][0], (2, None), "(2, joints)")
    if tree < joints:
        raise BodyModelError(f'"{name}": kintree_table has {tree} joints; {label} needs {joints}.')
    if "posedirs" in arrays:
        _expect(name, "posedirs", shape["posedirs"][0], (vertices, 3, 9 * (found_joints - 1)),
                f"(vertices, 3, {9 * (found_joints - 1)}): 9 numbers for each of the {found_joints - 1} joints "
                "below the root")
    for side in "lr":
        if f"hands_components{side}" in arrays:
            _expect(name, f"hands_components{side}", shape[f"hands_components{side}"][0], (None, HAND_COMPONENTS),
                    f"(components, {HAND_COMPONENTS})")
            _expect(name, f"hands_mean{side}", shape.get(f"hands_mean{side}", ((), None))[0], (HAND_COMPONENTS,),
                    f"({HAND_COMPONENTS},)")
    if "arkit_dirs" in arrays:
        count = _expect(name, "arkit_dirs", shape["arkit_dirs"][0], (vertices, 3, None), "(vertices, 3, shapes)")
        _expect(name, "arkit_names", shape.get("arkit_names", ((), None))[0], (count,), f"({count},)")
    if "vertex_ids" in arrays:
        count = _expect(name, "vertex_ids", shape["vertex_ids"][0], (None,), "(points,)")
        _expect(name, "vertex_ids_names", shape.get("vertex_ids_names", ((), None))[0], (count,), f"({count},)")


def _shape_of(value) -> tuple[tuple[int, ...], np.dtype]:
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], np.dtype):
        return value
    array = np.asarray(value) if isinstance(value, np.ndarray | np.generic) else None
    if array is None:
        return (), np.dtype(object)
    return array.shape, array.dtype


def _kind_words(dtype: np.dtype) -> str:
    return {"U": "text", "S": "text", "O": "Python objects", "b": "true/false values", "c": "complex numbers",
            "V": "raw bytes", "M": "dates", "m": "time spans"}.get(dtype.kind, f"{dtype.name} values")


def _expect(name: str, key: str, shape: tuple, pattern: tuple, described: str) -> int:
    """Check ``shape`` against ``pattern`` (``None``: any size); return the first free size (or the first)."""
    if len(shape) != len(pattern) or any(p is not None and p != s for p, s in zip(pattern, shape, strict=True)):
        raise BodyModelError(f'"{name}": {key} has shape {shape}, expected {described}. Download the model again.')
    free = [s for p, s in zip(pattern, shape, strict=True) if p is None]
    return free[0] if free else (shape[0] if shape else 0)


def _check_joint_count(name: str, family: str, found_joints: int) -> None:
    label = LABELS[family]
    joints = len(PARENTS[family])
    if found_joints < joints:
        kind = {24: "SMPL", 52: "SMPL-H", 55: "SMPL-X"}.get(found_joints, f"a {found_joints}-joint model")
        raise BodyModelError(f'"{name}" has {found_joints} joints, so it is {kind}; {label} needs {joints}.')
    if family == "smpl" and found_joints != 24:
        kind = {52: "SMPL-H", 55: "SMPL-X"}.get(found_joints, f"a {found_joints}-joint model")
        raise BodyModelError(f'"{name}" has {found_joints} joints, so it is {kind}, not SMPL.')


def check_model_arrays(arrays: dict, family: str, name: str) -> None:
    """The complete check before a model is built: shapes and types (:func:`check_model_shapes`), then every
    number finite, faces and vertex ids inside the mesh, skinning weights summing to 1, a template in metres."""
    check_model_shapes(arrays, family, name)
    for key in (*REQUIRED, "posedirs", "hands_componentsl", "hands_componentsr", "hands_meanl", "hands_meanr",
                "arkit_dirs"):
        if key in arrays and arrays[key].dtype.kind == "f" and not np.all(np.isfinite(arrays[key])):
            raise BodyModelError(f'"{name}": {key} holds NaN or infinite numbers. Download the model again.')
    vertices = len(arrays["v_template"])
    for key in ("f", "vertex_ids"):
        if key in arrays and arrays[key].size and (arrays[key].min() < 0 or arrays[key].max() >= vertices):
            raise BodyModelError(f'"{name}": {key} points at vertices outside the mesh ({int(arrays[key].min())} '
                                 f"to {int(arrays[key].max())}; it has {vertices}). Download the model again.")
    reach = float(np.abs(arrays["v_template"]).max())
    if reach > 100:
        raise BodyModelError(f'"{name}": its vertices reach {reach:g} from the origin; a body in metres is about '
                             "2 across. Use a model file in metres.")
    joints = len(PARENTS[family])
    sums = np.asarray(arrays["weights"], np.float64)[:, :joints].sum(axis=1)
    if np.any(np.abs(sums - 1) > 0.01):
        worst = int(np.argmax(np.abs(sums - 1)))
        raise BodyModelError(f'"{name}": the skinning weights of vertex {worst} sum to {sums[worst]:.3g}, not 1. '
                             "Download the model again.")

