"""Find and load the body model the user chose: the open body shipped in ``data/``, or their own
SMPL / SMPL-X files (gendered siblings found next to the file they set). Loaded models are cached."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from ..errors import BodyModelError
from .model import BodyModel, load_body_model

DATA = Path(__file__).resolve().parent / "data"
GENDERS = ("neutral", "female", "male")
# SMPLX_FEMALE.npz, SMPL_NEUTRAL.pkl, basicModel_f_lbs_10_207_0_v1.0.0.pkl, basicmodel_neutral_lbs_...
_GENDER_PATTERN = re.compile(r"(?<=[_\-])(NEUTRAL|FEMALE|MALE|neutral|female|male|f|m)(?=[_\-.])")


def open_body_path(family: str, lowres: bool = False) -> Path:
    return DATA / f"open_{family}{'_lowres' if lowres else ''}.npz"


def open_body_available() -> bool:
    return open_body_path("smpl").is_file() and open_body_path("smplx").is_file()


def gendered_path(path: Path, gender: str) -> Path:
    """The sibling of ``path`` for ``gender`` (SMPLX_NEUTRAL.npz -> SMPLX_FEMALE.npz), or ``path`` itself."""
    match = _GENDER_PATTERN.search(path.name)
    if match is None:
        return path
    found = match.group(1)
    if found.isupper():
        token = gender.upper()
    elif found in ("f", "m") or path.name.lower().startswith("basicmodel"):
        token = {"neutral": "neutral", "female": "f", "male": "m"}[gender]  # the official SMPL pickles' names
    else:
        token = gender
    return path.with_name(path.name[:match.start()] + token + path.name[match.end():])


def load_body(name: str, family: str, user_path: str = "", gender: str = "neutral", lowres: bool = False
              ) -> BodyModel:
    """``name``: "open", "smpl" or "smplx"; ``family``: the joint layout wanted ("smpl"/"smplx")."""
    if name == "open":
        path = open_body_path(family, lowres)
        if not path.is_file():
            raise BodyModelError("The open body's data is missing from this installation. Reinstall the extension.")
        return _cached(str(path), path.stat().st_mtime, family, "open body")
    if not user_path:
        raise BodyModelError(f"Set the {name.upper()} model file in the add-on preferences first.")
    path = gendered_path(Path(user_path), gender)
    if not path.is_file():
        raise BodyModelError(f'There is no {gender} model next to "{Path(user_path).name}" (looked for '
                             f'"{path.name}"). Put it in the same folder, or choose another gender.')
    return _cached(str(path), path.stat().st_mtime, family, path.name)


@functools.lru_cache(maxsize=4)
def _cached(path: str, _mtime: float, family: str, label: str) -> BodyModel:
    return load_body_model(path, family, label)
