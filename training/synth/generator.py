"""The synthetic sample generator (issue 7): an open body with a random shape, a pose from the bank and a random
camera, framed the way the estimators crop, and every ground truth EfficientHuman and the whole-body network need.

Frames. The open body is Y up, faces +Z, its left is +X (metres). Camera space is x right, y down, z forward
(training/data.py, MediaPipe). A camera placed in front of the body at elevation e looks back along -Z; for
e = 0 its rotation is diag(1, -1, -1), so world +X (the body's left) shows on the image's right, as it should
for a person facing us. The generator never builds a world scene: it composes that camera rotation into the
root joint's rotation, so posing the body with the sample's ``smplx_pose`` and ``root`` gives camera-space
points directly.

Framing. The person box is that of the 33 MediaPipe-equivalent landmarks (``Observation.box()``), made square
and enlarged 1.25 times (``efficienthuman.crop_box``), then jittered like a detector's error. The crop is a
pinhole camera ``intrinsics = (focal, cx, cy)`` in crop pixels; its principal point is off the crop centre
whenever the person is off the optical axis.

Determinism: sample ``index`` of ``seed`` depends on nothing else (its own ``default_rng([seed, index])``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.bodymodel import lbs
from core.bodymodel.library import load_body
from core.estimators.keypoints.landmarks import landmark_points
from core.ik import hybrik
from core.rotations import axis_angle_to_matrix, matrix_to_axis_angle, matrix_to_quaternion

from ..data import DEPTH, FOCAL, SIZE
from ..markers import LEAF_PARENTS
from . import raster
from .bank import PoseBank
from .open_markers import keypoint_vertices

GENERATOR_VERSION = 2  # 2: landmarks_3d
CROP_SCALE = 1.25
SMPL_HANDS = {22: (20, (25, 28, 31, 34), 28), 23: (21, (40, 43, 46, 49), 43)}  # wrist, finger bases, middle1
HAND_LEAF = {22: 25, 23: 26}  # middle fingertip among the 29 points
LEFT_FINGERS, RIGHT_FINGERS = range(25, 40), range(40, 55)

# The generator's sample: key -> (shape, dtype). The first eight are training/data.py's sample layout.
SAMPLE_SHAPES = {
    "uvd": ((96, 3), "float32"),  # u, v = crop pixel / 256 - 0.5; d = (z - z_root) / 2.2 m
    "xyz": ((96, 3), "float32"),  # (camera-space point - root) / 2.2 m
    "visible": ((96,), "float32"),  # 1: inside the crop and not occluded
    "theta": ((24, 3), "float32"),  # SMPL axis-angle, root rotation into camera space
    "betas": ((10,), "float32"),
    "twist": ((23, 2), "float32"),  # (cos, sin) of joints 1..23's twist
    "camera": ((3,), "float32"),  # (s, tx, ty) of MODELS.md A.5, least-squares fit (fit_crop_camera)
    "keypoints_2d": ((96, 2), "float32"),  # crop pixels (x, y)
    "keypoints_3d": ((96, 3), "float32"),  # camera space, metres
    "joints_2d": ((55, 2), "float32"),  # SMPL-X joints, crop pixels
    "joints_3d": ((55, 3), "float32"),  # SMPL-X joints, camera space, metres
    "intrinsics": ((3,), "float32"),  # crop camera (focal, cx, cy), pixels
    "root": ((3,), "float32"),  # pelvis joint, camera space, metres
    "smplx_pose": ((55, 3), "float32"),  # SMPL-X axis-angle, root rotation into camera space
    "expression": ((52,), "float32"),  # ARKit values
    "pose_index": ((), "int64"),  # row of the pose bank
    "landmarks_2d": ((33, 2), "float32"),  # MediaPipe-equivalent pose landmarks, crop pixels
    "landmark_visible": ((33,), "float32"),  # inside the crop and not occluded
    "landmark_present": ((33,), "float32"),  # inside the crop (what MediaPipe reports, occluded or not)
    "landmarks_3d": ((33, 3), "float32"),  # the same points, camera space, metres
    "silhouette": ((256, 256), "uint8"),  # 1 = body
    "parts": ((256, 256), "uint8"),  # 0 background, 1 + SMPL-X joint index of the dominant skinning joint
}


@dataclass(frozen=True)
class Ranges:
    """What the generator samples from. Angles in degrees, lengths in metres."""

    beta_clip: float = 3.0  # betas ~ N(0, 1) clipped to ±this (the open body's PCA is scaled to unit variance)
    fov: tuple[float, float] = (40.0, 75.0)  # camera field of view across the long side
    distance: tuple[float, float] = (2.5, 9.0)  # camera to the pelvis (plus the aim's offset)
    elevation: tuple[float, float] = (-10.0, 35.0)  # camera height angle: positive looks down on the person
    roll_sd: float = 4.0
    roll_clip: float = 12.0
    off_axis: float = 0.6  # the person's direction, as a fraction of the half field of view
    aim_sd: float = 0.1  # the camera aims at the pelvis plus this much noise (per axis)
    centre_jitter: float = 0.04  # crop centre error, standard deviation as a fraction of the crop side
    scale_jitter: float = 0.06  # crop side error, standard deviation of its logarithm
    scale_clip: tuple[float, float] = (0.85, 1.2)


@dataclass(frozen=True)
class Scene:
    """The sampled parameters of one sample (camera space: x right, y down, z forward)."""

    seed: int
    index: int
    pose_index: int
    betas: np.ndarray  # (10,)
    pose: np.ndarray  # (55, 3) SMPL-X axis-angle, root rotation into camera space
    expression: np.ndarray  # (52,) ARKit
    root: np.ndarray  # (3,) the pelvis joint in camera space, metres
    camera: raster.CropCamera


class OpenBodyKit:
    """The open body reduced to what the generator evaluates per sample: joints as linear maps of shape and
    expression, the few full-resolution vertices that carry keypoints and landmarks, and the 1,229-vertex LOD
    for silhouettes, part masks and visibility (skinned with the full body's joints, so both are one body)."""

    def __init__(self):
        self.body = load_body("open", "smplx")
        self.smpl = load_body("open", "smpl")
        lowres = load_body("open", "smplx", lowres=True)
        self.parents = self.body.parents
        self.keypoint_ids = keypoint_vertices(self.body)  # (72,) 5 leaves then 67 markers
        rest = self.body.rest_joints()
        self.landmark_joint, landmark_vertex = landmark_points(self.body.v_template, self.body.weights,
                                                               self.body.joint_names, rest)
        self.ids = np.concatenate([self.keypoint_ids, landmark_vertex[landmark_vertex >= 0]])
        self.landmark_vertex = _position(self.ids, landmark_vertex)  # into self.ids, -1 for joints
        regressor = self.body.J_regressor
        self.joint_template = regressor @ self.body.v_template
        self.joint_shape = np.einsum("jv,vcb->jcb", regressor, self.body.shapedirs)
        self.joint_expression = np.einsum("jv,vcb->jcb", regressor, self.body.exprdirs)
        self.points = _Surface(self.body, self.ids)
        self.lowres = _Surface(lowres, np.arange(len(lowres.v_template)))
        self.faces = lowres.faces
        self.face_parts = raster.face_parts(lowres.faces, lowres.weights)

    def joints(self, betas: np.ndarray, expression: np.ndarray) -> np.ndarray:
        """Rest joints ``(55, 3)`` of the shaped body with its expression (as BodyModel.pose regresses them)."""
        return (self.joint_template + self.joint_shape @ betas + self.joint_expression @ expression).astype(
            np.float32)

    def transforms(self, scene: Scene) -> tuple[np.ndarray, np.ndarray]:
        """Skinning transforms ``(55, 4, 4)`` (translation to ``scene.root`` included) and posed joints ``(55, 3)``,
        camera space."""
        rest = self.joints(scene.betas, scene.expression)[None]
        world = lbs.world_transforms(axis_angle_to_matrix(scene.pose[None].astype(np.float32)), rest, self.parents)
        skinning = lbs.skinning_transforms(world, rest)[0]
        offset = scene.root - rest[0, 0]
        skinning[:, :3, 3] += offset
        return skinning, world[0, :, :3, 3] + offset


class _Surface:
    """Selected vertices of a body model, shaped and skinned on their own."""

    def __init__(self, model, ids: np.ndarray):
        self.template = model.v_template[ids]
        self.shape = model.shapedirs[ids]
        self.expression = model.exprdirs[ids]
        self.weights = model.weights[ids]

    def pose(self, betas: np.ndarray, expression: np.ndarray, skinning: np.ndarray) -> np.ndarray:
        rest = self.template + self.shape @ betas + self.expression @ expression
        return lbs.skin(rest[None], self.weights, skinning[None])[0]


def _position(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Index in ``ids`` of each wanted vertex id (first occurrence); -1 stays -1."""
    first = {int(v): k for k, v in reversed(list(enumerate(ids)))}
    return np.array([first.get(int(v), -1) for v in wanted])


class SyntheticGenerator:
    """``sample(seed, index) -> dict`` of ground truth for one synthetic crop (keys in docs/synth_generator.md)."""

    def __init__(self, bank: PoseBank, ranges: Ranges | None = None, kit: OpenBodyKit | None = None):
        self.bank, self.ranges = bank, ranges or Ranges()
        self.kit = kit or OpenBodyKit()
        self.skeleton = hybrik.smpl_skeleton(self.kit.smpl.parents, LEAF_PARENTS, {9: 12, 0: 3})
        self.neighbours = _joint_neighbours(self.kit.parents)

    # --- sampling -------------------------------------------------------------------------------------------
    def scene(self, seed: int, index: int) -> Scene:
        rng = np.random.default_rng([seed, index])
        r = self.ranges
        betas = rng.normal(0.0, 1.0, 10).clip(-r.beta_clip, r.beta_clip).astype(np.float32)
        pose_index = int(rng.integers(len(self.bank)))
        pose = self.bank.poses[pose_index].astype(np.float64).copy()
        turn = axis_angle_to_matrix(np.array([0.0, rng.uniform(-np.pi, np.pi), 0.0]))  # about the vertical
        view, root = _camera_view(rng, r)
        pose[0] = matrix_to_axis_angle(view @ turn @ axis_angle_to_matrix(pose[0]))
        expression = self.bank.expressions[pose_index].astype(np.float32)
        unframed = Scene(seed, index, pose_index, betas, pose.astype(np.float32), expression, root,
                         raster.CropCamera(1.0, 0.0, 0.0))
        camera = self._framing(unframed, rng)
        return Scene(seed, index, pose_index, betas, unframed.pose, expression, root, camera)

    def _framing(self, scene: Scene, rng: np.random.Generator) -> raster.CropCamera:
        """Crop camera from the landmark box in normalised image coordinates (x/z, y/z), jittered."""
        skinning, joints = self.kit.transforms(scene)
        points = self.kit.points.pose(scene.betas, scene.expression, skinning)
        landmarks = self._landmarks_3d(joints, points)
        seen = landmarks[:, :2] / landmarks[:, 2:]
        low, high = seen.min(axis=0), seen.max(axis=0)
        side = float(np.max(high - low)) * CROP_SCALE
        r = self.ranges
        centre = (low + high) / 2 + rng.normal(0.0, r.centre_jitter, 2).clip(-2.5 * r.centre_jitter,
                                                                              2.5 * r.centre_jitter) * side
        side *= float(np.exp(rng.normal(0.0, r.scale_jitter)).clip(*r.scale_clip))
        focal = SIZE / side
        return raster.CropCamera(focal, SIZE / 2 - centre[0] * focal, SIZE / 2 - centre[1] * focal)

    def _landmarks_3d(self, joints: np.ndarray, points: np.ndarray) -> np.ndarray:
        joint, vertex = self.kit.landmark_joint, self.kit.landmark_vertex
        return np.where((joint >= 0)[:, None], joints[np.maximum(joint, 0)], points[np.maximum(vertex, 0)])

    # --- ground truth -----------------------------------------------------------------------------------------
    def sample(self, seed: int, index: int) -> dict:
        """Ground truth of sample ``index``: see docs/synth_generator.md for keys, shapes and units."""
        scene = self.scene(seed, index)
        kit, camera = self.kit, scene.camera
        skinning, joints = kit.transforms(scene)
        points = kit.points.pose(scene.betas, scene.expression, skinning)
        mesh = kit.lowres.pose(scene.betas, scene.expression, skinning)
        front = raster.front_faces(mesh, kit.faces, camera)
        smpl_joints = joints[:24].copy()
        for hand, (_, bases, _) in SMPL_HANDS.items():
            smpl_joints[hand] = joints[list(bases)].mean(axis=0)
        keypoints = np.vstack([smpl_joints, points[:len(kit.keypoint_ids)]])  # (96, 3)
        pixels = camera.project(keypoints)
        visible = np.concatenate([self._joints_visible(front, smpl_joints, camera, smpl=True),
                                  raster.visible_points(front, mesh, kit.faces, camera, keypoints[24:])])
        landmarks = self._landmarks_3d(joints, points)
        landmark_visible = np.where(kit.landmark_joint >= 0,
                                    self._joints_visible(front, landmarks, camera, joint_ids=kit.landmark_joint),
                                    raster.visible_points(front, mesh, kit.faces, camera, landmarks))
        landmark_pixels = camera.project(landmarks)
        rest = self._rest_points(scene.betas)
        theta = self._smpl_theta(scene, skinning, keypoints, rest)
        return _compact({
            "uvd": np.column_stack([pixels / SIZE - 0.5, (keypoints[:, 2] - keypoints[0, 2]) / DEPTH]),
            "xyz": (keypoints - keypoints[0]) / DEPTH, "visible": visible, "theta": theta, "betas": scene.betas,
            "twist": self._twist(theta, rest), "camera": fit_crop_camera(keypoints, pixels),
            "keypoints_2d": pixels, "keypoints_3d": keypoints, "joints_2d": camera.project(joints),
            "joints_3d": joints, "intrinsics": camera.as_array(), "root": scene.root,
            "smplx_pose": scene.pose, "expression": scene.expression, "pose_index": scene.pose_index,
            "landmarks_2d": landmark_pixels, "landmark_visible": landmark_visible,
            "landmark_present": np.all((landmark_pixels >= -0.5) & (landmark_pixels < SIZE - 0.5), axis=1),
            "landmarks_3d": landmarks,
            "silhouette": (front >= 0).astype(np.uint8), "parts": raster.part_mask(front, kit.face_parts),
        })

    def full_vertices(self, scene: Scene) -> np.ndarray:
        """All 13,718 vertices of the sample's body, camera space ``(V, 3)`` (for rendering)."""
        skinning, _ = self.kit.transforms(scene)
        surface = _Surface(self.kit.body, np.arange(len(self.kit.body.v_template)))
        return surface.pose(scene.betas, scene.expression, skinning)

    def _joints_visible(self, front, joints, camera, smpl=False, joint_ids=None) -> np.ndarray:
        """A joint (inside the body) is visible when the surface in front of it at its pixel belongs to it, its
        parent or a child (its own limb), not to another limb passing in front."""
        parts = raster.part_at(front, self.kit.face_parts, camera.project(joints))
        ids = range(len(joints)) if smpl else joint_ids
        out = np.zeros(len(joints), bool)
        for k, joint in enumerate(ids):
            allowed = self.neighbours[joint] if not smpl or joint < 22 else \
                {SMPL_HANDS[joint][0], *(LEFT_FINGERS if joint == 22 else RIGHT_FINGERS)}
            out[k] = parts[k] in allowed
        return out

    def _smpl_theta(self, scene: Scene, skinning: np.ndarray, keypoints: np.ndarray, rest: np.ndarray
                    ) -> np.ndarray:
        """SMPL's 24 rotations: SMPL-X's body joints, and for each hand the rotation (in the wrist's frame) that
        swings the rest hand -> middle-fingertip bone onto the posed one, with the middle finger base's twist."""
        theta = np.zeros((24, 3))
        theta[:22] = scene.pose[:22]
        for hand, (wrist, _, middle) in SMPL_HANDS.items():
            bone = rest[HAND_LEAF[hand]] - rest[hand]
            wanted = skinning[wrist, :3, :3].T @ (keypoints[HAND_LEAF[hand]] - keypoints[hand])
            axis = bone / np.linalg.norm(bone)
            twist = hybrik.twist_angle(axis_angle_to_matrix(scene.pose[middle].astype(np.float64)), axis)
            local = hybrik.swing_rotation(bone, wanted) @ axis_angle_to_matrix(axis * twist)
            theta[hand] = matrix_to_axis_angle(local)
        return theta.astype(np.float32)

    def _rest_points(self, betas: np.ndarray) -> np.ndarray:
        """The 29 rest points (24 SMPL joints, 5 leaves) of the shaped open body without expression, metres.
        The open SMPL file's joints are the SMPL-X ones, its hand joint the mean of the four finger bases."""
        joints = self.kit.joints(betas, np.zeros(self.kit.joint_expression.shape[2], np.float32))
        hands = [joints[list(bases)].mean(axis=0) for _, bases, _ in SMPL_HANDS.values()]
        leaves = self.kit.points.template[:5] + self.kit.points.shape[:5] @ betas
        return np.vstack([joints[:22], hands, leaves]).astype(np.float64)

    def _twist(self, theta: np.ndarray, rest: np.ndarray) -> np.ndarray:
        """(cos, sin) of joints 1..23's twists about ``rest (29, 3)``'s bones: the angles of
        ``hybrik.twist_angles`` (as training/data.py's GeneratedSamples._twist, with the open body's leaves),
        vectorised through quaternions: the twist of q = (w, v) about unit axis a is 2 atan2(v·a, w)."""
        joints = np.arange(1, 24)
        bones = rest[np.asarray(self.skeleton.child)[joints]] - rest[joints]
        axes = bones / np.linalg.norm(bones, axis=1, keepdims=True)
        quaternions = matrix_to_quaternion(axis_angle_to_matrix(theta[joints].astype(np.float64)))
        angles = 2 * np.arctan2(np.einsum("jc,jc->j", quaternions[:, 1:], axes), quaternions[:, 0])
        return np.column_stack([np.cos(angles), np.sin(angles)]).astype(np.float32)


def _compact(sample: dict) -> dict:
    """Floats as float32, flags as float32 0/1 (training/data.py's ``visible``), masks stay uint8."""
    out = {}
    for key, value in sample.items():
        value = np.asarray(value)
        if value.dtype == bool or value.dtype.kind == "f":
            value = value.astype(np.float32)
        out[key] = value
    return out


def _camera_view(rng: np.random.Generator, r: Ranges) -> tuple[np.ndarray, np.ndarray]:
    """Rotation from the body's (world) frame into camera space, and the pelvis's camera-space position.

    The pelvis is the world origin. The camera stands at ``distance`` along (0, sin e, cos e) from a point near
    the pelvis, aims at it, turns off-axis so the person sits away from the image centre, and rolls."""
    elevation = np.radians(rng.uniform(*r.elevation))
    aim = rng.normal(0.0, r.aim_sd, 3)
    eye = aim + rng.uniform(*r.distance) * np.array([0.0, np.sin(elevation), np.cos(elevation)])
    forward = (aim - eye) / np.linalg.norm(aim - eye)
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    look = np.stack([right, np.cross(forward, right), forward])  # rows: camera x (right), y (down), z
    half_fov = np.radians(rng.uniform(*r.fov)) / 2
    tangent = np.tan(half_fov) * r.off_axis * rng.uniform(-1.0, 1.0, 2) * (1.0, 0.7)  # images are wider
    off_axis = hybrik.swing_rotation(np.array([0.0, 0.0, 1.0]), np.array([*tangent, 1.0]))
    roll = np.radians(np.clip(rng.normal(0.0, r.roll_sd), -r.roll_clip, r.roll_clip))
    view = axis_angle_to_matrix(np.array([0.0, 0.0, roll])) @ off_axis @ look
    return view, (view @ -eye).astype(np.float32)


def _joint_neighbours(parents: tuple[int, ...]) -> list[set[int]]:
    """Each joint with its parent and children: the parts whose surface may cover it and still show it."""
    near = [{joint} for joint in range(len(parents))]
    for joint, parent in enumerate(parents):
        if parent >= 0:
            near[joint].add(parent)
            near[parent].add(joint)
    return near


def fit_crop_camera(points: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """EfficientHuman's camera target ``(s, tx, ty)`` (MODELS.md A.5): least squares over all keypoints of
    ``(pixel - 128)(z - z_root + d) = 1000 (x - x_root + t)`` for the network's virtual crop camera
    (focal 1000 px, centred), ``s = 1000 / (256 d)``. ``points (K, 3)`` camera metres (root first), ``pixels
    (K, 2)`` crop pixels. With the true crop focal equal to 1000 px and a centred principal point, (tx, ty) is
    the root's camera-space (x, y) and d its depth."""
    relative = points - points[0]
    centred = pixels - SIZE / 2
    rows = np.zeros((2 * len(points), 3))
    rows[0::2, 0], rows[0::2, 1] = centred[:, 0], -FOCAL
    rows[1::2, 0], rows[1::2, 2] = centred[:, 1], -FOCAL
    rhs = (FOCAL * relative[:, :2] - centred * relative[:, 2:]).ravel()
    depth, tx, ty = np.linalg.lstsq(rows, rhs, rcond=None)[0]
    return np.array([FOCAL / (SIZE * depth), tx, ty], np.float32)
