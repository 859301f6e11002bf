"""The bundled lifter at run time: MediaPipe's landmarks of one frame -> where the body's 33 landmark points and
96 keypoints really are (metres, camera axes; landmarks hip-centred, keypoints pelvis-relative).

The weights are ours, trained on motion capture (``python3 tools/dev.py train-lifter``; training/lifter/), and
travel as ONNX with their training record in the file's metadata. A file without that record is refused: the
extension never runs untrained weights.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..errors import PocketMocapError
from .features import FEATURES, LANDMARKS, input_features

BUNDLED = Path(__file__).resolve().parent / "models" / "lifter.onnx"
REQUIRED_METADATA = ("architecture", "trained_steps", "data", "held_out_clips", "validation")


class Lifter:
    """One onnxruntime session of a trained lifter; ``lift(...)`` takes one frame's observation."""

    def __init__(self, path: Path = BUNDLED):
        import onnxruntime

        if not path.is_file():
            raise PocketMocapError(f"The lifter's weights {path.name} are missing from the extension. Reinstall it.")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = max(1, int(os.environ.get("OMP_NUM_THREADS", "2")))
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types for broken files
            raise PocketMocapError(f"The lifter's weights {path.name} cannot be read ({type(exc).__name__}). "
                                   "Reinstall the extension.") from None
        record = {key.removeprefix("pocket_mocap."): value
                  for key, value in self.session.get_modelmeta().custom_metadata_map.items()}
        missing = [key for key in REQUIRED_METADATA if key not in record]
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if missing or int(record.get("trained_steps", "0") or 0) <= 0:
            raise PocketMocapError(f"{path.name} has no record of a training run ({', '.join(missing) or 'no steps'}"
                                   "), so it is not used: only trained lifter weights run.")
        if len(inputs) != 1 or inputs[0].shape[-1] != FEATURES or len(outputs) != 1:
            raise PocketMocapError(f"{path.name} is not a lifter this version can run (it expects {FEATURES} "
                                   "input features and gives one set of points).")
        self.record = record
        self.validation = json.loads(record["validation"])

    def lift(self, pixels: np.ndarray, visibility: np.ndarray, world: np.ndarray, focal: float,
             centre: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
        """``pixels (33, 2)``, ``visibility (33,)``, MediaPipe's ``world (33, 3)`` and the camera -> landmark
        points ``(33, 3)`` (hip-centred) and keypoints ``(96, 3)`` (pelvis-relative), float64 metres."""
        features = input_features(pixels[None], visibility[None], world[None], np.array([focal]),
                                  np.asarray(centre, np.float64)[None]).astype(np.float32)
        points = self.session.run(None, {self.session.get_inputs()[0].name: features})[0][0].astype(np.float64)
        return points[:LANDMARKS], points[LANDMARKS:]
