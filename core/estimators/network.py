"""What the two network estimators share: reading and checking their ONNX weights files, the onnxruntime session
with the worker's threads, and the parts of the estimator interface that hold no state.

A weights file is usable when its metadata (written by the training exporters) names the network and a training
run; a file with none is refused, so a network never runs with random weights.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import PocketMocapError
from . import posed_joints


def read_metadata(path: Path) -> dict[str, str]:
    import onnxruntime

    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types for broken files
        raise PocketMocapError(f'"{path.name}" could not be loaded as an ONNX network ({exc}).') from None
    return dict(session.get_modelmeta().custom_metadata_map)


def check_weights(path: str, model: str, label: str, missing: str) -> tuple[bool, str, dict[str, str]]:
    """(usable, reason, metadata) of ``path`` for the network ``model`` (its metadata name); ``missing`` is the
    sentence for an empty path."""
    if not path:
        return False, missing, {}
    file = Path(path)
    if not file.is_file():
        return False, f'The {label} weights file "{file}" does not exist.', {}
    metadata = read_metadata(file)
    if metadata.get("pocket_mocap.model") != model:
        return False, f'"{file.name}" is not a {label} network exported by this project.', metadata
    if int(metadata.get("pocket_mocap.trained_steps", "0")) <= 0:
        return False, f'"{file.name}" holds untrained weights; it will not be used.', metadata
    return True, "", metadata


def open_session(path: str):
    """An onnxruntime session on the CPU with the threads the worker was given (``OMP_NUM_THREADS``, set from the
    add-on preference)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = max(1, int(os.environ.get("OMP_NUM_THREADS", "2")))
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def run_session(session, image: np.ndarray) -> dict[str, np.ndarray]:
    """The network's outputs for one ``image`` (no batch axis), by output name, without the batch axis."""
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, (o[0] for o in session.run(names, {"image": image[None]})), strict=True))


class NetworkEstimator:
    """Context management and (empty) tracking state; subclasses set ``detector`` and implement ``observe``,
    ``shape`` and ``fitter``. A network looks at each frame afresh, so there is nothing to resume."""

    detector = None

    def __enter__(self):
        return self

    def __exit__(self, *_exc) -> None:
        self.detector.close()

    def state(self) -> dict:
        return {}

    def restore(self, state: dict) -> None:
        pass


class NetworkFitter:
    """Joints of a fitted pose and (empty) state; subclasses set ``model``, ``rest_joints`` and implement
    ``estimate``."""

    def joints(self, poses: np.ndarray, trans: np.ndarray) -> np.ndarray:
        """Camera-space SMPL-order joints ``(24, 3)``."""
        return posed_joints(self.rest_joints, self.model.parents, self.model.family, poses, trans)

    def state(self) -> dict:
        return {}

    def restore(self, state: dict) -> None:
        pass
