"""BinaryHPE at run time: the person crop (MODELS.md B.1: the detection box extended to 3:4 and x1.25, 512x384,
RGB in [0, 1]), one onnxruntime session for the whole cascade (body -> boxes -> hand and face crops, the left
hand mirrored inside the graph; binary convolutions as exact ±1 integer arithmetic on bit-packed weights),
then 3x3 rotations -> SMPL-X axis-angle and the virtual camera -> a camera-space translation.

The network only runs from a weights file that says it was trained (ONNX metadata written by
``training/binaryhpe_train.py``): never with random weights.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..bodymodel.model import BodyModel
from ..errors import PocketMocapError
from ..rotations import matrix_to_axis_angle
from .keypoints.detect import LandmarkDetector, detect_anywhere
from .keypoints.fit import Camera
from .network import NetworkEstimator, NetworkFitter, check_weights, open_session, read_metadata, run_session

CROP_HEIGHT, CROP_WIDTH, CROP_SCALE = 512, 384, 1.25
CROP_FOCAL, CROP_CENTRE = 10000.0, np.array([192.0, 256.0])  # the 256x192 body image's camera, at crop size
# The network's size, measured by training/binaryhpe.py (count_parameters / count_ops; a test keeps these equal).
# Paper convention (MODELS.md B.7): Params = P_full + P_binary / 32, OPs = MAC_full + MAC_binary / 64, MACs at
# one 256x192 body, two 256x256 hands and one 192x192 face. The paper states 17.22 M and 2.50 G OPs; its OPs
# are not reproducible under any single convention (MODELS.md B.7).
NETWORK = {"parameters_paper": 17_216_336, "parameters_full": 15_254_096, "parameters_binary": 62_791_680,
           "ops_paper": 3_240_632_124, "macs_full": 3_008_762_684, "macs_binary": 14_839_644_160,
           "paper_states": "17.22 M parameters, 2.50 G OPs",
           "convention": "Params = full + binary/32; OPs = MAC_full + MAC_binary/64"}


def weights_status(path: str) -> tuple[bool, str]:
    """(usable, reason): a trained BinaryHPE ONNX file is usable; anything else says why not."""
    usable, reason, metadata = check_weights(
        path, "binaryhpe", "BinaryHPE",
        "Not installed: no trained weights exist for it yet (the authors published none). Train them "
        "(training/README.md) and set the ONNX file in the add-on preferences.")
    if usable and metadata.get("pocket_mocap.input", "rgb") != "rgb":
        return False, f'"{Path(path).name}" takes silhouette inputs; this version runs BinaryHPE on photos (RGB) only.'
    return usable, reason


def weights_details(path: str) -> dict:
    """File sizes of a usable weights file: the whole ONNX file and its bit-packed binary weights (with what
    they would take as float32), from the metadata the exporter writes."""
    metadata = read_metadata(Path(path))
    details = {"weights_file_bytes": Path(path).stat().st_size,
               "trained_steps": int(metadata.get("pocket_mocap.trained_steps", "0")),
               "training_data": metadata.get("pocket_mocap.training_data", "")}
    for key in ("binary_packed_bytes", "binary_float32_bytes"):
        if f"pocket_mocap.{key}" in metadata:
            details[key] = int(metadata[f"pocket_mocap.{key}"])
    return details


def crop_box(box: np.ndarray) -> tuple[float, float, float, float]:
    """``(x0, y0, width, height)``: ``box (x0, y0, x1, y1)`` extended to the 3:4 aspect, then x1.25."""
    centre = (box[:2] + box[2:]) / 2
    width, height = box[2] - box[0], box[3] - box[1]
    aspect = CROP_WIDTH / CROP_HEIGHT
    width, height = max(width, height * aspect), max(height, width / aspect)
    width, height = width * CROP_SCALE, height * CROP_SCALE
    return float(centre[0] - width / 2), float(centre[1] - height / 2), float(width), float(height)


def crop(rgb: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """``(3, 512, 384) float32`` in [0, 1]: the box warped to the network's input (zeros outside the image)."""
    import cv2

    x0, y0, width, _ = box
    scale = CROP_WIDTH / width
    matrix = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]])
    patch = cv2.warpAffine(rgb, matrix, (CROP_WIDTH, CROP_HEIGHT), flags=cv2.INTER_LINEAR)
    return (patch.astype(np.float32) / 255.0).transpose(2, 0, 1).copy()


class BinaryHPEEstimator(NetworkEstimator):
    """MediaPipe finds the person's box; the network does the rest. Same interface as the default."""

    def __init__(self, settings, model: BodyModel, camera: Camera, video: bool):
        usable, reason = weights_status(settings.weights)
        if not usable:
            raise PocketMocapError(reason)
        if model.family != "smplx":
            raise PocketMocapError("BinaryHPE predicts SMPL-X (body, hands and face): choose the open body with "
                                   "hands and face, or an SMPL-X model file.")
        metadata = read_metadata(Path(settings.weights))
        # Shape and expression live in the training body's spaces: they apply to that body only.
        self.same_body = metadata.get("pocket_mocap.body", "open") == "open" and settings.body_model == "open"
        self.session = open_session(settings.weights)
        self.detector = LandmarkDetector(video=video, hands_and_face=False)
        self.model, self.camera = model, camera

    def observe(self, rgb: np.ndarray, search: bool = False) -> dict | None:
        obs = detect_anywhere(self.detector, rgb) if search else self.detector.detect(rgb)
        if obs is None:
            return None
        box = crop_box(obs.box())
        return {"crop": box, "outputs": run_session(self.session, crop(rgb, box)), "box": obs.box(),
                "visibility": float(np.mean(obs.visibility))}

    def shape(self, items: list) -> np.ndarray:
        betas = [item["outputs"]["betas"] for item in items if item is not None]
        if not betas or not self.same_body:
            return np.zeros(self.model.num_betas, np.float32)
        found = np.median(betas, axis=0).astype(np.float32)
        return np.pad(found, (0, max(0, self.model.num_betas - len(found))))[: self.model.num_betas]

    def fitter(self, betas: np.ndarray, temporal: float = 0.0) -> BinaryHPEFitter:
        return BinaryHPEFitter(self, betas)


class BinaryHPEFitter(NetworkFitter):
    """Network outputs of one frame -> SMPL-X parameters in the full image's camera space."""

    def __init__(self, estimator: BinaryHPEEstimator, betas: np.ndarray):
        self.estimator, self.model = estimator, estimator.model
        self.rest_joints = self.model.rest_joints(betas).astype(np.float64)
        self.expressions = self.model.exprdirs.shape[2]

    def estimate(self, item: dict, iterations: int | None = None) -> dict:
        out = item["outputs"]
        eye = np.eye(3)[None]
        rotations = np.concatenate([out["root"][None], out["body_pose"], out["jaw"][None], eye, eye,
                                    out["left_hand"], out["right_hand"]]).astype(np.float64)
        poses = matrix_to_axis_angle(rotations).astype(np.float32)
        trans = self._translation(item, out["camera"].astype(np.float64))
        joints = self.joints(poses.ravel(), trans)
        expression = np.zeros(self.expressions, np.float32)
        if self.estimator.same_body:
            count = min(self.expressions, len(out["expression"]))
            expression[:count] = out["expression"][:count]
        return {"poses": poses.ravel(), "trans": trans.astype(np.float32), "joints": joints,
                "joints_2d": self.estimator.camera.project(joints), "confidence": item["visibility"],
                "person_box": item["box"], "expression": expression}

    def _translation(self, item: dict, camera: np.ndarray) -> np.ndarray:
        """The root seen by the crop's virtual camera (focal 10,000 px), moved to the full image's camera: the
        same pixel, the depth rescaled by the ratio of focal lengths in image pixels."""
        x0, y0, width, _ = item["crop"]
        scale = width / CROP_WIDTH  # image pixels per crop pixel
        root = self.rest_joints[0] + camera
        pixel = np.array([x0, y0]) + (root[:2] / root[2] * CROP_FOCAL + CROP_CENTRE) * scale
        full = self.estimator.camera
        depth = root[2] * full.focal / (CROP_FOCAL * scale)
        position = np.array([(pixel[0] - full.cx) / full.focal * depth, (pixel[1] - full.cy) / full.focal * depth,
                             depth])
        return position - self.rest_joints[0]
