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
from ..fileio import path_problem
from . import posed_joints
from .onnx_file import FLOAT, OnnxOutline, read_outline

# What each network's weights file must take and give (names from the training exporters): dims are sizes,
# ``None`` any size; the batch dimension may also be named. Checked before onnxruntime opens a file.
INPUT_SIZE = {"efficienthuman": (256, 256), "binaryhpe": (512, 384)}
INPUT_CHANNELS = {"rgb": 3, "silhouette": 34}
OUTPUTS = {
    "efficienthuman": {"uvd": (1, None, 3), "sigma": (1, None, None), "betas": (1, None), "twist": (1, 23, 2),
                       "camera": (1, 3)},
    "binaryhpe": {"root": (1, 3, 3), "body_pose": (1, 21, 3, 3), "left_hand": (1, 15, 3, 3),
                  "right_hand": (1, 15, 3, 3), "jaw": (1, 3, 3), "betas": (1, None), "expression": (1, None),
                  "camera": (1, 3)},
}
MIN_KEYPOINTS = 29  # EfficientHuman's uvd and sigma: the 24 joints and 5 leaves at least


def read_metadata(path: Path) -> dict[str, str]:
    """The metadata of an ONNX file, read from its bytes (onnxruntime is not involved)."""
    return read_outline(path).metadata


def check_weights(path: str, model: str, label: str, missing: str) -> tuple[bool, str, dict[str, str]]:
    """(usable, reason, metadata) of ``path`` for the network ``model`` (its metadata name); ``missing`` is the
    sentence for an empty path. The whole file is judged from its bytes: regular file, not empty, an ONNX graph
    with no external data, metadata naming ``model`` and a training run, and the inputs and outputs the estimator
    feeds and reads."""
    if not path:
        return False, missing, {}
    file = Path(path)
    problem = path_problem(file, f"{label} weights file")
    if problem:
        return False, problem, {}
    try:
        outline = read_outline(file, label)
    except PocketMocapError as exc:
        return False, str(exc), {}
    metadata = outline.metadata
    if metadata.get("pocket_mocap.model") != model:
        return False, f'"{file.name}" is not {_a(label)} network exported by this project.', metadata
    steps = metadata.get("pocket_mocap.trained_steps", "0")
    if not steps.strip().isdigit():
        return False, (f'"{file.name}" records {steps[:30]!r} training steps, which is not a count; it is not a '
                       "file this project exported."), metadata
    if int(steps) <= 0:
        return False, f'"{file.name}" holds untrained weights; it will not be used.', metadata
    problem = graph_problem(outline, model, label, file.name)
    return (False, problem, metadata) if problem else (True, "", metadata)


def graph_problem(outline: OnnxOutline, model: str, label: str, name: str) -> str:
    """Why the graph's inputs and outputs are not what the ``model`` estimator feeds and reads, or ""."""
    channels = INPUT_CHANNELS.get(outline.metadata.get("pocket_mocap.input", "rgb"), 3)
    wanted = {"image": (FLOAT, (1, channels, *INPUT_SIZE[model]))}
    for edge, found, expected in (("input", outline.inputs, wanted),
                                  ("output", outline.outputs, {k: (FLOAT, v) for k, v in OUTPUTS[model].items()})):
        absent = [key for key in expected if key not in found]
        if absent:
            return (f'"{name}" is not {_a(label)} network: it has no {edge} {", ".join(absent)}. Export it again '
                    "with this project's exporter.")
        for key, (kind, dims) in expected.items():
            if found[key][0] != kind or not _dims_fit(found[key][1], dims):
                shown = "x".join("?" if d is None else str(d) for d in found[key][1]) or "unknown"
                return (f'"{name}" is not {_a(label)} network: its {edge} {key} has shape {shown}, not what the '
                        "estimator uses. Export it again with this project's exporter.")
    if model == "efficienthuman" and any((outline.outputs[key][1][1] or MIN_KEYPOINTS) < MIN_KEYPOINTS
                                         for key in ("uvd", "sigma")):
        return f'"{name}" is not {_a(label)} network: it predicts fewer than {MIN_KEYPOINTS} keypoints.'
    return ""


def _a(label: str) -> str:
    return f"{'an' if label[0] in 'AEIOU' else 'a'} {label}"


def _dims_fit(found: tuple, expected: tuple) -> bool:
    if len(found) != len(expected):
        return False
    return all(want is None or have == want or (index == 0 and have is None)
               for index, (have, want) in enumerate(zip(found, expected, strict=True)))


def open_session(path: str):
    """An onnxruntime session on the CPU with the threads the worker was given (``OMP_NUM_THREADS``, set from the
    add-on preference). Call after :func:`check_weights`; onnxruntime's own refusal becomes a sentence."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = max(1, int(os.environ.get("OMP_NUM_THREADS", "2")))
    try:
        return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    except Exception:  # noqa: BLE001 - onnxruntime raises its own types, with C++ text
        raise PocketMocapError(f'onnxruntime could not load "{Path(path).name}" (an operator or a tensor it '
                               "cannot run). Export the network again with this project's exporter.") from None


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
