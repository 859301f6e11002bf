"""Quick checks of the user's SMPL / SMPL-X files, cheap enough to run when a path is typed in.

They open ``.npz`` files without pickles and only sniff ``.pkl`` headers: a pickle's contents are
read later, by the restricted unpickler, never here.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BodyModelError
from .model import LABELS, REQUIRED, VERTEX_COUNTS


@dataclass(frozen=True)
class BodyFileCheck:
    family: str
    path: Path
    summary: str


def check_body_file(family: str, path: str | Path) -> BodyFileCheck:
    """Raise :class:`BodyModelError` unless ``path`` looks like a ``family`` ("smpl"/"smplx") model."""
    path = Path(path)
    label = LABELS[family]
    if not path.is_file():
        raise BodyModelError(f'The {label} file "{path}" does not exist. Pick the model file you downloaded '
                             f'from the {label} website.')
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _check_npz(family, path)
    if suffix == ".pkl":
        return _check_pickle_header(family, path)
    raise BodyModelError(f'"{path.name}" is not a {label} model file: expected a .pkl or .npz file.')


def _check_npz(family: str, path: Path) -> BodyFileCheck:
    label = LABELS[family]
    try:
        with np.load(path, allow_pickle=False) as data:
            names = set(data.files)
            missing = [name for name in REQUIRED if name not in names]
            if missing:
                raise BodyModelError(f'"{path.name}" is not a {label} model: it lacks {", ".join(missing)}.')
            vertices = data["v_template"].shape[0]
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise BodyModelError(f'"{path.name}" could not be read as an .npz model file ({exc}). '
                             'Download it again.') from exc
    expected = VERTEX_COUNTS[family]
    if vertices != expected:
        raise BodyModelError(_wrong_vertex_count(family, path, vertices, names))
    return BodyFileCheck(family, path, f"{label}, {vertices} vertices")


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
