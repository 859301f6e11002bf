"""The bundled lifter at run time: MediaPipe's landmarks of one frame -> where the body's 33 landmark points and
96 keypoints really are (metres, camera axes; landmarks hip-centred, keypoints pelvis-relative).

The weights are ours, trained on motion capture (``python3 tools/dev.py train-lifter``; training/lifter/), and
travel as ONNX with their training record in the file's metadata. A file without that record is refused: the
extension never runs untrained weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import PocketMocapError
from .features import FEATURES, LANDMARKS, input_features
from .weights import trained_session

BUNDLED = Path(__file__).resolve().parent / "models" / "lifter.onnx"
REQUIRED_METADATA = ("architecture", "trained_steps", "data", "held_out_clips", "validation")


class Lifter:
    """One onnxruntime session of a trained lifter; ``lift(...)`` takes one frame's observation."""

    def __init__(self, path: Path = BUNDLED):
        self.session, record = trained_session(path, "lifter", REQUIRED_METADATA)
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
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
