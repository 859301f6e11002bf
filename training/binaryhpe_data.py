"""Training samples for BinaryHPE / Hand4Whole: the interface, a generator for smoke tests, augmentation.

A sample is a dict of numpy arrays (camera space: x right, y down, z forward, metres; the crop's virtual
camera has focal ``CROP_FOCAL`` px and its principal point at the crop centre, MODELS.md B.2):

- ``image (C, 512, 384)`` float32: RGB in [0, 1] (no mean/std), or another ``C``-channel input;
- ``pose (55, 3)`` SMPL-X axis-angle (root in camera space; hands absolute, not relative to a mean hand);
- ``betas (10,)``, ``expression (E,)`` (the body model's expression space);
- ``trans (3,)``: the body model's translation, so that camera-space points = model points + trans;
  ``pelvis (3,)``: the rest root joint for these betas (the root rotates about it);
- ``points_3d (65, 3)`` camera space and ``points_2d (65, 2)`` crop pixels: the 55 SMPL-X joints then the
  10 fingertips (``FINGERTIPS``); ``visible (65,)``;
- ``boxes (3, 4)``: tight left-hand, right-hand and face boxes (x0, y0, x1, y1) in crop pixels.

Any ``Sequence`` of such dicts is a data source.
"""

from __future__ import annotations

import cv2
import numpy as np

from core.bodymodel.joints import FINGERS, SMPLX_NAMES
from core.bodymodel.model import BodyModel
from core.rotations import axis_angle_to_matrix, matrix_to_axis_angle

from .binaryhpe import CAMERA_CENTRE, CAMERA_FOCAL, CROP_SIZE

CROP_FOCAL = 2 * CAMERA_FOCAL  # the 512x384 crop is the 256x192 body image at twice the size
CROP_CENTRE = np.array(CAMERA_CENTRE) * 2  # (x, y) = (192, 256)
BODY_POINTS = tuple(range(25))  # SMPL-X joints 0-21, jaw, left eye, right eye: the body PositionNet's 25
FIRST_FINGER = {"left": SMPLX_NAMES.index("left_index1"), "right": SMPLX_NAMES.index("right_index1")}
TIP_ORDER = ("thumb", "index", "middle", "ring", "pinky")  # Hand4Whole's order: MCP joints at 4, 8, 12, 16


def hand_points(side: str) -> tuple[int, ...]:
    """Indices (into the 65 points) of a hand's 20 points: per finger in TIP_ORDER, joints 1-3 then the tip."""
    tips = 55 + (0 if side == "left" else 5)
    order = []
    for finger in TIP_ORDER:
        base = FIRST_FINGER[side] + 3 * FINGERS.index(finger)
        order += [base, base + 1, base + 2, tips + TIP_ORDER.index(finger)]
    return tuple(order)


HAND_POINTS = {"left": hand_points("left"), "right": hand_points("right")}
WRIST = {"left": SMPLX_NAMES.index("left_wrist"), "right": SMPLX_NAMES.index("right_wrist")}
NECK, FACE_POINTS = SMPLX_NAMES.index("neck"), (22, 23, 24)  # jaw and eyes, relative to the neck


def fingertip_vertices(model: BodyModel) -> np.ndarray:
    """``(10,)`` vertex ids: left then right fingertips in TIP_ORDER; the vertex of each finger's last
    segment farthest from its joint on the rest mesh."""
    owner = np.argmax(model.weights, axis=1)
    joints, vertices = model.rest_joints(), model.v_template
    found = []
    for side in ("left", "right"):
        for finger in TIP_ORDER:
            last = FIRST_FINGER[side] + 3 * FINGERS.index(finger) + 2
            candidates = np.flatnonzero(owner == last)
            if len(candidates) == 0:
                raise ValueError(f'"{model.name}" has no vertex on its {side} {finger} tip; use the full mesh.')
            found.append(candidates[np.argmax(np.linalg.norm(vertices[candidates] - joints[last], axis=1))])
    return np.asarray(found)


def face_vertices(model: BodyModel) -> np.ndarray:
    """Vertex ids of the face: head vertices in front of the head joint and below its top (for the box)."""
    owner = np.asarray(SMPLX_NAMES)[np.argmax(model.weights, axis=1)]
    head = np.flatnonzero(np.isin(owner, ("head", "jaw", "left_eye_smplhf", "right_eye_smplhf")))
    centre = model.rest_joints()[SMPLX_NAMES.index("head")]
    return head[model.v_template[head, 2] > centre[2] + 0.03]


def project(points: np.ndarray) -> np.ndarray:
    """Camera-space ``(..., 3)`` -> crop pixels ``(..., 2)``."""
    return points[..., :2] / points[..., 2:] * CROP_FOCAL + CROP_CENTRE


def tight_box(pixels: np.ndarray) -> np.ndarray:
    return np.concatenate([pixels.min(axis=0), pixels.max(axis=0)]).astype(np.float32)


class GeneratedWholeBody:
    """Posed SMPL-X-layout bodies seen by the crop's virtual camera, drawn as joint blobs and bones on noise.
    Deterministic given the seed. A smoke source for the training loop, not training data (issue 7's
    synthetic renders are that)."""

    def __init__(self, model: BodyModel, count: int, seed: int = 0):
        if model.family != "smplx":
            raise ValueError("BinaryHPE predicts SMPL-X parameters: give an SMPL-X-layout body model.")
        self.model, self.count, self.seed = model, count, seed
        self.tips, self.face = fingertip_vertices(model), face_vertices(model)
        self.colours = np.random.default_rng(7).uniform(0.3, 1.0, (65, 3))

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> dict:
        rng = np.random.default_rng(self.seed * 100_003 + index)
        pose = rng.normal(0, 0.2, (55, 3))
        pose[0] = (np.pi + rng.normal(0, 0.15), rng.normal(0, 0.4), rng.normal(0, 0.1))  # upright, facing us
        pose[23:25] = 0.0  # eyes are not predicted
        pose[25:] = rng.normal(0, 0.3, (30, 3))
        betas = rng.normal(0, 0.5, 10).astype(np.float32)
        expressions = self.model.exprdirs.shape[2]
        expression = rng.uniform(0, 1, expressions) * (rng.random(expressions) < 0.2)
        trans = np.array([rng.normal(0, 0.15), rng.normal(0, 0.15), rng.uniform(38.0, 48.0)])
        posed = self.model.pose(pose.ravel()[None].astype(np.float32), betas, trans[None], expression[None])
        points = np.vstack([posed.joints[0], posed.vertices[0][self.tips]]).astype(np.float64)
        pixels = project(points)
        face = project(posed.vertices[0][self.face].astype(np.float64))
        boxes = np.stack([tight_box(pixels[[WRIST["left"], *HAND_POINTS["left"]]]),
                          tight_box(pixels[[WRIST["right"], *HAND_POINTS["right"]]]), tight_box(face)])
        return {"image": self._draw(pixels, rng), "pose": pose.astype(np.float32), "betas": betas,
                "expression": expression.astype(np.float32), "trans": trans.astype(np.float32),
                "pelvis": self.model.rest_joints(betas)[0].astype(np.float32),
                "points_3d": points.astype(np.float32), "points_2d": pixels.astype(np.float32),
                "visible": np.ones(65, np.float32), "boxes": boxes}

    def _draw(self, pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        height, width = CROP_SIZE
        image = rng.uniform(0, 0.25, (height, width, 3)).astype(np.float32)
        for child, parent in enumerate(self.model.parents):
            if parent >= 0:
                cv2.line(image, _pixel(pixels[parent]), _pixel(pixels[child]), (0.6, 0.6, 0.6), 2)
        for pixel, colour in zip(pixels, self.colours, strict=True):
            cv2.circle(image, _pixel(pixel), 4, tuple(float(c) for c in colour), -1)
        return image.transpose(2, 0, 1).copy()


def _pixel(point: np.ndarray) -> tuple[int, int]:
    return int(round(float(point[0]))), int(round(float(point[1])))


def augment(sample: dict, rng: np.random.Generator) -> dict:
    """B.1's augmentation without the flip: scale N(1, 0.25) clipped to [0.7, 1.3] and rotation ±30° about
    the crop centre, colour gain 0.8-1.2. Targets move with the image: a rotation about the optical axis
    turns the 3D points, the root and the translation; a zoom is a change of depth."""
    sample = dict(sample)
    scale, angle = float(np.clip(rng.normal(1, 0.25), 0.7, 1.3)), rng.uniform(-30, 30)
    height, width = CROP_SIZE
    matrix = cv2.getRotationMatrix2D((float(CROP_CENTRE[0]), float(CROP_CENTRE[1])), angle, scale)
    image = cv2.warpAffine(sample["image"].transpose(1, 2, 0), matrix, (width, height), flags=cv2.INTER_LINEAR)
    image = image.reshape(height, width, -1) * rng.uniform(0.8, 1.2, sample["image"].shape[0]).astype(np.float32)
    sample["image"] = np.clip(image, 0, 1).transpose(2, 0, 1).astype(np.float32)
    turn = axis_angle_to_matrix(np.array([0.0, 0.0, -np.radians(angle)]))  # the image turn, about the axis
    points = sample["points_3d"].astype(np.float64) @ turn.T
    depth = points[:, 2].mean()
    shift = np.array([0.0, 0.0, depth / scale - depth])  # moved rigidly to 1/scale of its depth: scale x larger
    sample["points_3d"] = (points + shift).astype(np.float32)
    pelvis = sample["pelvis"].astype(np.float64)  # the root turns about the rest pelvis, not the origin
    sample["trans"] = ((sample["trans"] + pelvis) @ turn.T + shift - pelvis).astype(np.float32)
    pose = sample["pose"].copy()
    pose[0] = matrix_to_axis_angle(turn @ axis_angle_to_matrix(pose[0].astype(np.float64)))
    sample["pose"] = pose.astype(np.float32)
    moved = sample["points_2d"] @ matrix[:, :2].T + matrix[:, 2]
    sample["points_2d"] = moved.astype(np.float32)
    x0, y0, x1, y1 = sample["boxes"].T
    corners = np.stack([np.stack([x0, y0], -1), np.stack([x1, y0], -1), np.stack([x0, y1], -1),
                        np.stack([x1, y1], -1)], 1) @ matrix[:, :2].T + matrix[:, 2]
    sample["boxes"] = np.concatenate([corners.min(1), corners.max(1)], -1).astype(np.float32)
    inside = np.all((moved >= 0) & (moved < [width, height]), axis=1)
    sample["visible"] = (sample["visible"] * inside).astype(np.float32)
    return sample
