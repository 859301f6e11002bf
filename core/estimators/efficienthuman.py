"""EfficientHuman at run time: crop (the authors' preprocessing), onnxruntime, back-projection (A.5),
analytic IK with the predicted twist -> body-model pose, shape and camera-space translation.

The network only runs from a weights file that says it was trained (ONNX metadata written by
``training/export.py`` from a checkpoint): never with random weights. The file's ``pocket_mocap.input`` says
which input it takes: ``rgb`` (the normalised crop) or ``silhouette`` (MediaPipe's person mask and pose
landmarks in the same crop, core/estimators/silhouette_input.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..bodymodel.joints import SMPL_PARENTS
from ..bodymodel.model import BodyModel
from ..errors import PocketMocapError
from ..ik import hybrik
from ..rotations import matrix_to_axis_angle
from .keypoints.detect import LandmarkDetector, detect_anywhere
from .keypoints.fit import Camera
from .network import NetworkEstimator, NetworkFitter, check_weights, open_session, run_session
from .silhouette_input import observation_input

MEAN, STD = np.array([0.406, 0.457, 0.480]), np.array([0.225, 0.224, 0.229])
SIZE, CROP_FOCAL, DEPTH_M, CROP_SCALE = 256, 1000.0, 2.2, 1.25
LEAF_PARENTS = {15: 24, 22: 25, 23: 26, 10: 27, 11: 28}
SMPL_LEAF_VERTICES = (411, 2445, 5905, 3216, 6617)  # head top, middle fingertips, big toes (SMPL topology)
OPEN_LEAF_NAMES = (None, "lmiddle", "rmiddle", "LBigToe", "RBigToe")  # the open body's vertex_ids names
INPUT_KINDS = ("rgb", "silhouette")  # ONNX metadata "pocket_mocap.input"; files without it are RGB networks


def weights_status(path: str) -> tuple[bool, str]:
    """(usable, reason): a trained EfficientHuman ONNX file is usable; anything else says why not."""
    usable, reason, metadata = check_weights(
        path, "efficienthuman", "EfficientHuman",
        "Not installed: no trained weights exist for it yet (none are published). Train them (training/README.md) "
        "and set the ONNX file in the add-on preferences.")
    if usable and input_kind(metadata) not in INPUT_KINDS:
        return False, (f'"{Path(path).name}" takes a "{input_kind(metadata)}" input, which this version cannot '
                       "build; update the extension.")
    return usable, reason


def input_kind(metadata: dict[str, str]) -> str:
    return metadata.get("pocket_mocap.input", "rgb")


def crop_box(box: np.ndarray) -> tuple[float, float, float]:
    """Square box (centre x, centre y, side) around ``box (x0, y0, x1, y1)``, enlarged 1.25 times."""
    centre = (box[:2] + box[2:]) / 2
    return float(centre[0]), float(centre[1]), float(max(box[2] - box[0], box[3] - box[1]) * CROP_SCALE)


def crop(rgb: np.ndarray, square: tuple[float, float, float]) -> np.ndarray:
    """``(3, 256, 256) float32``: the square warped to the network's input and normalised."""
    import cv2

    cx, cy, side = square
    scale = SIZE / side
    matrix = np.array([[scale, 0, SIZE / 2 - cx * scale], [0, scale, SIZE / 2 - cy * scale]])
    patch = cv2.warpAffine(rgb, matrix, (SIZE, SIZE), flags=cv2.INTER_LINEAR).astype(np.float32) / 255.0
    return ((patch - MEAN) / STD).transpose(2, 0, 1).astype(np.float32)


class EfficientHumanEstimator(NetworkEstimator):
    """MediaPipe finds the person's box; the network does the rest. Same interface as the default."""

    def __init__(self, settings, model: BodyModel, camera: Camera, video: bool):
        usable, reason = weights_status(settings.weights)
        if not usable:
            raise PocketMocapError(reason)
        self.session = open_session(settings.weights)
        self.input = input_kind(dict(self.session.get_modelmeta().custom_metadata_map))
        self.detector = LandmarkDetector(video=video, hands_and_face=False, segmentation=self.input == "silhouette")
        self.model, self.camera = model, camera
        # The network's 24 joints are SMPL's whatever the body family (SMPL-X's 22 and 23 are the jaw and an eye).
        self.skeleton = hybrik.smpl_skeleton(SMPL_PARENTS, LEAF_PARENTS, {9: 12, 0: 3})

    def observe(self, rgb: np.ndarray, search: bool = False) -> dict | None:
        obs = detect_anywhere(self.detector, rgb) if search else self.detector.detect(rgb)
        if obs is None:
            return None
        square = crop_box(obs.box())
        image = observation_input(obs, square) if self.input == "silhouette" else crop(rgb, square)
        return {"square": square, "outputs": run_session(self.session, image), "box": obs.box()}

    def shape(self, items: list) -> np.ndarray:
        betas = [item["outputs"]["betas"] for item in items if item is not None]
        return np.median(betas, axis=0).astype(np.float32)[: self.model.num_betas] if betas else \
            np.zeros(self.model.num_betas, np.float32)

    def fitter(self, betas: np.ndarray, temporal: float = 0.0) -> EfficientHumanFitter:
        return EfficientHumanFitter(self, betas)


class EfficientHumanFitter(NetworkFitter):
    """Network outputs of one frame -> body-model parameters in camera space."""

    def __init__(self, estimator: EfficientHumanEstimator, betas: np.ndarray):
        self.estimator, self.model = estimator, estimator.model
        self.rest_joints = self.model.rest_joints(betas).astype(np.float64)
        vertices = self.model.shaped_vertices(betas)
        self.rest = np.vstack([self._smpl_layout(self.rest_joints), vertices[self._leaf_vertices()]])

    def _smpl_layout(self, joints: np.ndarray) -> np.ndarray:
        """The network's 24 joints: SMPL's, or for SMPL-X its 22 body joints and, as SMPL's hand joint, the mean
        of each hand's four finger bases (how the open SMPL file and the synthetic data define it)."""
        if self.model.family != "smplx":
            return joints[:24]
        names = list(self.model.joint_names)
        hands = [joints[[names.index(f"{side}_{finger}1") for finger in ("index", "middle", "ring", "pinky")]]
                 .mean(axis=0) for side in ("left", "right")]
        return np.vstack([joints[:22], hands])

    def _leaf_vertices(self) -> list[int]:
        if len(self.model.v_template) == 6890:
            return list(SMPL_LEAF_VERTICES)
        ids = dict(zip((str(n) for n in self.model.extras.get("vertex_ids_names", [])),
                       self.model.extras.get("vertex_ids", []), strict=False))
        head = self.model.shaped_vertices()[:, 1].argmax()  # the top of the head
        return [int(head)] + [int(ids.get(name, head)) for name in OPEN_LEAF_NAMES[1:]]

    def estimate(self, item: dict, iterations: int | None = None) -> dict:
        out = item["outputs"]
        uvd, camera = out["uvd"][:29].astype(np.float64), out["camera"].astype(np.float64)
        depth = CROP_FOCAL / (SIZE * camera[0] + 1e-9)
        z = uvd[:, 2] * DEPTH_M + depth
        xy = uvd[:, :2] * SIZE / CROP_FOCAL * z[:, None]
        points = np.column_stack([xy, z])
        twist = np.arctan2(out["twist"][:, 1], out["twist"][:, 0])
        local = hybrik.inverse_kinematics(self.skeleton, self.rest - self.rest[0], points - points[0],
                                          np.concatenate([[0.0], twist]))
        poses = np.zeros((len(self.model.parents), 3))
        poses[:24 if self.model.family == "smpl" else 22] = matrix_to_axis_angle(local)[
            :24 if self.model.family == "smpl" else 22]
        trans = self._root_position(item, uvd[0], depth) - self.rest_joints[0]
        joints = self.joints(poses.ravel(), trans)
        confidence = float(np.mean(1 - out["sigma"][:29]))
        return {"poses": poses.ravel().astype(np.float32), "trans": trans.astype(np.float32), "joints": joints,
                "joints_2d": self.estimator.camera.project(joints), "confidence": confidence,
                "person_box": item["box"]}

    @property
    def skeleton(self) -> hybrik.Skeleton:
        return self.estimator.skeleton

    def _root_position(self, item: dict, uvd_root: np.ndarray, crop_depth: float) -> np.ndarray:
        """Where the root is in the full image's camera: the crop's depth rescaled to our focal length."""
        cx, cy, side = item["square"]
        camera = self.estimator.camera
        pixel = np.array([cx, cy]) + uvd_root[:2] * side
        depth = crop_depth * camera.focal / (CROP_FOCAL * side / SIZE)
        return np.array([(pixel[0] - camera.cx) / camera.focal * depth, (pixel[1] - camera.cy) / camera.focal * depth,
                         depth])

