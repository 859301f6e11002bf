"""The bundled landmark networks: MediaPipe 0.10.14's Apache-2.0 models converted to ONNX
(``tools/convert_landmark_models.py``; licence and notice beside them in ``models/``), run by onnxruntime.

Each network takes and gives exactly what its ``.tflite`` original does: one ``(1, H, W, 3)`` float32 image
tensor in, the original's output tensors out, in the original's order and NHWC layout. Except that
pose_landmark_full's person mask is a model of its own, pose_segmentation: the landmark model gives, after its
other outputs, the two feature maps that model reads (run only when a mask is asked for: it was more than half of
the landmark model's time).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import PocketMocapError

MODEL_DIR = Path(__file__).resolve().parent / "models"
NETWORKS = ("pose_detection", "pose_landmark_full", "pose_segmentation", "hand_recrop", "hand_landmark_full",
            "face_detection_short_range", "face_landmark")  # what the Holistic graph runs


class Network:
    """One converted model in an onnxruntime session on the worker's threads."""

    def __init__(self, name: str, threads: int | None = None):
        import onnxruntime

        path = MODEL_DIR / f"{name}.onnx"
        if not path.is_file():
            raise PocketMocapError(f"The landmark model {path.name} is missing from the extension. Reinstall it.")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or max(1, int(os.environ.get("OMP_NUM_THREADS", "2")))
        options.inter_op_num_threads = 1
        # Six sessions take turns on few cores: idle pools that spin starve the busy one (5x slower under load).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.input_size = tuple(self.session.get_inputs()[0].shape[1:3])  # (height, width)

    def __call__(self, tensor: np.ndarray) -> list[np.ndarray]:
        return self.session.run(None, {self.input_name: np.ascontiguousarray(tensor, np.float32)})

    def run_features(self, features: list[np.ndarray]) -> list[np.ndarray]:
        """A head's outputs from the feature maps its main model gave (pose_segmentation after
        pose_landmark_full), in the order of its inputs."""
        inputs = self.session.get_inputs()
        return self.session.run(None, {i.name: f for i, f in zip(inputs, features, strict=True)})
