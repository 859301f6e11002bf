"""Fit a body model to MediaPipe landmarks: shape from bone lengths, pose by analytic IK, then a short
Levenberg-Marquardt refinement of 3D landmark, 2D reprojection, joint-limit and arms-out-of-the-torso terms, and
the learned pose prior (core/prior/) where the fitter is given one.

Everything is in camera space: x right, y down, z forward, metres; the root rotation carries the body
from its Y-up model frame into the camera's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...bodymodel import lbs
from ...bodymodel.model import BodyModel
from ...ik import hybrik
from ...rotations import axis_angle_to_matrix, matrix_to_axis_angle
from .landmarks import JOINT_LANDMARKS, POSE, SURFACE_LANDMARKS, surface_vertices
from .solver import levenberg_marquardt

BODY_JOINTS = 22  # pelvis .. right_wrist: what the body fit solves; hands, jaw, eyes are set apart
MAX_FLEXION = np.radians(150.0)  # of a knee or an elbow
HINGE_SLACK = np.radians(10.0)  # past straight or past MAX_FLEXION: a fitted knee or elbow this far out is bent wrong
OFF_HINGE = np.radians(30.0)  # and so is one turned this far about its other axes
PRIOR_WEIGHT = 0.03  # the pose prior's weight at strength 1 (chosen on renders of held-out clips, docs/lifting.md)
TORSO_RADIUS_M = 0.08  # the spine's distance to the front of the chest or belly, about: arms stay out of it
LIMB_PAIRS = (("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"), ("right_shoulder", "right_elbow"),
              ("right_elbow", "right_wrist"), ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
              ("right_hip", "right_knee"), ("right_knee", "right_ankle"), ("left_shoulder", "left_hip"),
              ("right_shoulder", "right_hip"))


@dataclass(frozen=True)
class Camera:
    """A pinhole camera: ``focal`` and principal point in pixels."""

    focal: float
    cx: float
    cy: float

    @classmethod
    def from_fov(cls, width: int, height: int, fov_degrees: float) -> Camera:
        """Field of view across the longer image side."""
        return cls(max(width, height) / (2 * np.tan(np.radians(fov_degrees) / 2)), width / 2, height / 2)

    def matrix(self) -> np.ndarray:
        return np.array([[self.focal, 0, self.cx], [0, self.focal, self.cy], [0, 0, 1]])

    def project(self, points: np.ndarray) -> np.ndarray:
        """``(..., 3)`` camera-space points -> ``(..., 2)`` pixels."""
        depth = np.maximum(points[..., 2:3], 1e-3)
        return points[..., :2] / depth * self.focal + (self.cx, self.cy)


@dataclass
class Observation:
    """One person in one frame, as MediaPipe saw them."""

    width: int
    height: int
    pose_2d: np.ndarray  # (33, 2) pixels
    visibility: np.ndarray  # (33,) 0..1
    world: np.ndarray  # (33, 3) metres, hip-centred, camera-aligned
    left_hand: np.ndarray | None = None  # (21, 3) pixels (z in the same scale as x)
    right_hand: np.ndarray | None = None
    face: np.ndarray | None = None  # (468, 3) pixels
    segmentation: np.ndarray | None = None  # (height, width) float32 0..1 person mask, when asked for
    measured_world: np.ndarray | None = None  # MediaPipe's own world landmarks, where ``world`` holds a lifter's

    def box(self) -> np.ndarray:
        """The person's box ``(x0, y0, x1, y1)`` from the visible landmarks, in pixels."""
        seen = self.pose_2d[self.visibility > 0.3] if np.any(self.visibility > 0.3) else self.pose_2d
        return np.concatenate([seen.min(axis=0), seen.max(axis=0)])


@dataclass
class BodyFit:
    poses: np.ndarray  # (J*3,) axis-angle, root rotation into camera space
    trans: np.ndarray  # (3,) camera space
    joints: np.ndarray  # (J, 3) camera space
    joints_2d: np.ndarray  # (J, 2) pixels
    confidence: float
    params: np.ndarray  # the solver's vector, to warm-start the next frame


def fit_shape(model: BodyModel, observations: list[Observation], regularisation: float = 0.05) -> np.ndarray:
    """Betas ``(B,)`` whose limb lengths match the median MediaPipe world lengths (Gauss-Newton, ridge)."""
    names = model.joint_names
    pairs = [(names.index(a), names.index(b), POSE[a], POSE[b]) for a, b in LIMB_PAIRS]
    observed = np.median([[np.linalg.norm(o.world[la] - o.world[lb]) for _, _, la, lb in pairs]
                          for o in observations], axis=0)
    directions = np.einsum("jv,vcb->jcb", model.J_regressor, model.shapedirs)  # (J, 3, B)
    rest = model.rest_joints()
    betas = np.zeros(model.num_betas)
    for _ in range(4):
        joints = rest + directions @ betas
        residual, jacobian = [], []
        for (ja, jb, _, _), length in zip(pairs, observed, strict=True):
            bone = joints[jb] - joints[ja]
            norm = np.linalg.norm(bone)
            residual.append(norm - length)
            jacobian.append(bone @ (directions[jb] - directions[ja]) / norm)
        jacobian = np.array(jacobian)
        normal = jacobian.T @ jacobian + regularisation * np.eye(len(betas))
        betas = betas - np.linalg.solve(normal, jacobian.T @ np.array(residual) + regularisation * betas)
    return np.clip(betas, -3.0, 3.0).astype(np.float32)


class BodyFitter:
    """Fits poses of one body (fixed shape) seen by one camera; reuse it across a video's frames."""

    def __init__(self, model: BodyModel, camera: Camera, betas: np.ndarray | None = None, prior=None):
        self.model, self.camera, self.prior = model, camera, prior  # prior: core/prior's PosePrior or None
        self.betas = np.zeros(model.num_betas, np.float32) if betas is None else np.asarray(betas, np.float32)
        vertices = model.shaped_vertices(self.betas)
        self.rest = model.rest_joints(self.betas).astype(np.float64)
        names = model.joint_names
        surface = surface_vertices(model.v_template, model.weights, names, model.rest_joints())
        self.joint_points = [(POSE[m], names.index(j)) for m, j in JOINT_LANDMARKS.items()]
        self.surface_points = [(POSE[m], surface[m]) for m in SURFACE_LANDMARKS]
        ids = [v for _, v in self.surface_points]
        self.surface_rest = vertices[ids].astype(np.float64)
        self.surface_weights = model.weights[ids].astype(np.float64)
        self.landmarks = np.array([m for m, _ in self.joint_points] + [m for m, _ in self.surface_points])
        self.fixed = np.tile(np.eye(3), (len(model.parents), 1, 1))  # hands, jaw, eyes: set by others
        self._carried: tuple[bytes, np.ndarray] | None = None  # (self.fixed's bytes, carried_surface() for them)
        self._under: np.ndarray | None = None  # _below()
        self.skeleton, self.leaf_rest = self._ik_skeleton(vertices, surface)

    def _ik_skeleton(self, vertices: np.ndarray, surface: dict) -> tuple[hybrik.Skeleton, np.ndarray]:
        """Body joints + leaves (head top, hand centres, toes) for the analytic initialisation."""
        parents = self.model.parents[:BODY_JOINTS]
        leaves = {15: 22, 20: 23, 21: 24, 10: 25, 11: 26}
        skeleton = hybrik.smpl_skeleton(parents, leaves, {9: 12, 0: 3})
        head_top = self.rest[15] + (0.0, 0.12, 0.0)
        hands = [(vertices[surface[f"{s}_index"]] + vertices[surface[f"{s}_pinky"]]) / 2 for s in ("left", "right")]
        toes = [vertices[surface[f"{s}_foot_index"]] for s in ("left", "right")]
        rest = np.vstack([self.rest[:BODY_JOINTS], head_top, *hands, *toes])
        return skeleton, rest

    # -- the model's points for a batch of parameter vectors -------------------------------------------
    def local_rotations(self, params: np.ndarray) -> np.ndarray:
        """``params: (B, 69)`` -> local rotations ``(B, J, 3, 3)`` (non-body joints from ``self.fixed``)."""
        batch = len(params)
        local = np.broadcast_to(self.fixed, (batch, *self.fixed.shape)).copy()
        local[:, :BODY_JOINTS] = rotation_matrices(params[:, :BODY_JOINTS * 3].reshape(batch, BODY_JOINTS, 3))
        return local

    def points(self, params: np.ndarray) -> np.ndarray:
        """Camera-space positions ``(B, K, 3)`` of the landmark points (joints first, then surface)."""
        return self.posed(params)[0]

    def posed(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Camera-space landmark points ``(B, K, 3)`` (joints first, then surface) and the body joints ``(B, 22, 3)``.
        Only the 22 body joints are chained: the others turn by ``self.fixed`` alone, so the surface points they
        move ride on their body ancestor (:meth:`carried_surface`), exactly as full skinning places them."""
        batch = len(params)
        rest = np.broadcast_to(self.rest[:BODY_JOINTS], (batch, BODY_JOINTS, 3))
        rotations = rotation_matrices(params[:, :BODY_JOINTS * 3].reshape(batch, BODY_JOINTS, 3))
        world = lbs.world_transforms(rotations, rest, self.model.parents[:BODY_JOINTS])
        skinning = lbs.skinning_transforms(world, rest)[:, :, :3, :]  # (B, 22, 3, 4)
        translation = params[:, None, BODY_JOINTS * 3:]
        joints = world[:, :, :3, 3] + translation
        carried = self.carried_surface()  # (K, 22, 4)
        by_axis = skinning.transpose(0, 2, 1, 3).reshape(batch, 3, BODY_JOINTS * 4)
        surface = np.matmul(by_axis, carried.reshape(len(carried), -1).T).transpose(0, 2, 1) + translation
        return np.concatenate([joints[:, [j for _, j in self.joint_points]], surface], axis=1), joints

    def stepped(self, params: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`posed` of ``params (69,) + step * I`` (row i changes value i), without chaining every row: a row
        that turns joint j moves j and everything below it by one rigid transform, ``D = W_p L'_j L_j^-1 W_p^-1``
        (``W_p`` the parent's world transform, ``L`` the joint's local one before and after the step), and leaves
        the rest where the unchanged pose has them. The same positions as :meth:`posed` to rounding."""
        rotvecs = params[:BODY_JOINTS * 3].reshape(BODY_JOINTS, 3)
        rotations = axis_angle_to_matrix(rotvecs)
        rest = self.rest[None, :BODY_JOINTS]
        world = lbs.world_transforms(rotations[None], rest, self.model.parents[:BODY_JOINTS])[0]
        skinning = lbs.skinning_transforms(world[None], rest)[0, :, :3, :]  # (22, 3, 4)
        joints = world[:, :3, 3]
        carried = self.carried_surface()  # (K, 22, 4)
        parts = np.einsum("acr,kar->kac", skinning, carried)  # each body joint's share of each surface point
        below = self._below()  # (22, 22): joint j, then j itself and every joint under it
        count = len(carried)
        inside = (below @ parts.transpose(1, 0, 2).reshape(BODY_JOINTS, -1)).reshape(BODY_JOINTS, count, 3)
        weight_inside = below @ carried[:, :, 3].T  # (22, K)
        surface = parts.sum(axis=1)
        # the 66 turned rows: joint j = i // 3 turned about axis i % 3 by step
        turned = rotvecs.repeat(3, axis=0)
        turned[np.arange(len(turned)), np.tile([0, 1, 2], BODY_JOINTS)] += step
        joint = np.arange(len(turned)) // 3
        delta = axis_angle_to_matrix(turned) @ rotations[joint].transpose(0, 2, 1)  # the turn of L'_j L_j^-1
        parents = np.asarray(self.model.parents[:BODY_JOINTS])
        local = self.rest[joint] - np.where(joint[:, None] > 0, self.rest[np.maximum(parents[joint], 0)], 0.0)
        parent_rotation = np.where((joint > 0)[:, None, None], world[np.maximum(parents[joint], 0), :3, :3], np.eye(3))
        parent_origin = np.where((joint > 0)[:, None], world[np.maximum(parents[joint], 0), :3, 3], 0.0)
        turn = parent_rotation @ delta @ parent_rotation.transpose(0, 2, 1)
        shift = (np.einsum("nab,nb->na", parent_rotation, local - np.einsum("nab,nb->na", delta, local))
                 + parent_origin - np.einsum("nab,nb->na", turn, parent_origin))
        moved = joints @ turn.transpose(0, 2, 1) + shift[:, None]
        turned_joints = np.where(below[joint][..., None] > 0, moved, joints)
        carried_by = inside[joint]  # (66, K, 3)
        turned_surface = (surface - carried_by + carried_by @ turn.transpose(0, 2, 1)
                          + shift[:, None] * weight_inside[joint][..., None])
        # the 3 translation rows
        shifted = np.eye(3) * step
        all_joints = np.concatenate([turned_joints, joints + shifted[:, None]]) + params[BODY_JOINTS * 3:]
        all_surface = np.concatenate([turned_surface, surface + shifted[:, None]]) + params[BODY_JOINTS * 3:]
        landmark_joints = [j for _, j in self.joint_points]
        return np.concatenate([all_joints[:, landmark_joints], all_surface], axis=1), all_joints

    def _below(self) -> np.ndarray:
        """``(22, 22)``: 1 where the second joint is the first or under it in the tree."""
        if self._under is None:
            parents = self.model.parents[:BODY_JOINTS]
            below = np.eye(BODY_JOINTS)
            for joint in range(BODY_JOINTS - 1, 0, -1):  # children after parents: fold each into its parent
                below[parents[joint]] = np.maximum(below[parents[joint]], below[joint])
            self._under = below
        return self._under

    def carried_surface(self) -> np.ndarray:
        """``(K, 22, 4)``: each surface point's rest position (homogeneous) carried into the skinning frames of the
        body joints, weighted, so that the posed point is ``sum_a S_a @ q[k, a]`` over the body joints' skinning
        transforms ``S_a``. A joint ``j`` past the body moves as ``S_j = S_a @ G_j @ T(-rest_j)``, ``a`` its body
        ancestor and ``G_j`` the chain of its fixed local transforms from ``T(rest_a)``; kept until ``self.fixed``
        changes (the hands and jaw of the frame before)."""
        key = self.fixed.tobytes()
        if self._carried is not None and self._carried[0] == key:
            return self._carried[1]
        parents, count = self.model.parents, len(self.model.parents)
        owner = list(range(BODY_JOINTS)) + [0] * (count - BODY_JOINTS)
        chain = np.tile(np.eye(4), (count, 1, 1))
        for joint in range(BODY_JOINTS):
            chain[joint, :3, 3] = self.rest[joint]  # G_a = T(rest_a): the body joint's world = S_a @ G_a
        for joint in range(BODY_JOINTS, count):  # parents come before their children
            parent = parents[joint]
            local = np.eye(4)
            local[:3, :3], local[:3, 3] = self.fixed[joint], self.rest[joint] - self.rest[parent]
            chain[joint], owner[joint] = chain[parent] @ local, owner[parent]
        to_skinning = chain.copy()
        to_skinning[:BODY_JOINTS] = np.eye(4)
        to_skinning[BODY_JOINTS:, :3, 3] -= np.einsum("jab,jb->ja", chain[BODY_JOINTS:, :3, :3],
                                                     self.rest[BODY_JOINTS:])
        points = np.column_stack([self.surface_rest, np.ones(len(self.surface_rest))])  # (K, 4)
        moved = np.einsum("jab,kb->kja", to_skinning, points) * self.surface_weights[..., None]  # (K, J, 4)
        carried = np.zeros((len(points), BODY_JOINTS, 4))
        np.add.at(carried, (slice(None), np.asarray(owner)), moved)
        self._carried = (key, carried)
        return carried

    # -- initialisation ----------------------------------------------------------------------------------
    def initial_params(self, obs: Observation) -> np.ndarray:
        """Analytic IK on MediaPipe's world landmarks, then translation from the 2D landmarks."""
        world = obs.world
        rest = self.leaf_rest
        target = np.zeros_like(rest)
        names = self.model.joint_names
        for landmark, joint in self.joint_points:
            target[joint] = world[landmark]
        mid_hip = (world[POSE["left_hip"]] + world[POSE["right_hip"]]) / 2
        mid_shoulder = (world[POSE["left_shoulder"]] + world[POSE["right_shoulder"]]) / 2
        target[0] = mid_hip  # the pelvis joint sits ~2 cm from the hips' midpoint: the refinement settles it
        for joint, fraction in ((3, 0.25), (6, 0.5), (9, 0.75), (12, 1.0), (13, 1.0), (14, 1.0)):
            target[joint] = target[0] + fraction * (mid_shoulder - target[0])
        target[13], target[14] = (target[12] + target[16]) / 2, (target[12] + target[17]) / 2
        ears = (world[POSE["left_ear"]] + world[POSE["right_ear"]]) / 2
        target[15] = ears
        target[22] = ears + (ears - mid_shoulder) / (np.linalg.norm(ears - mid_shoulder) + 1e-9) * 0.12
        for side, hand, toe in (("left", 23, 25), ("right", 24, 26)):
            target[hand] = (world[POSE[f"{side}_index"]] + world[POSE[f"{side}_pinky"]]) / 2
            target[toe] = world[POSE[f"{side}_foot_index"]]
            foot = names.index(f"{side}_foot")
            target[foot] = (world[POSE[f"{side}_heel"]] + 2 * world[POSE[f"{side}_foot_index"]]) / 3
        sides = {
            15: (rest[names.index("left_shoulder")] - rest[names.index("right_shoulder")],
                 world[POSE["left_ear"]] - world[POSE["right_ear"]]),
            20: (np.array([0.0, 0.0, 1.0]), world[POSE["left_index"]] - world[POSE["left_pinky"]]),
            21: (np.array([0.0, 0.0, 1.0]), world[POSE["right_index"]] - world[POSE["right_pinky"]]),
        }
        local = hybrik.inverse_kinematics(self.skeleton, rest, target - target[0], sides=sides)
        params = np.zeros(BODY_JOINTS * 3 + 3)
        params[:BODY_JOINTS * 3] = matrix_to_axis_angle(local).ravel()
        params[BODY_JOINTS * 3:] = self.solve_translation(params, obs)
        return params

    def solve_translation(self, params: np.ndarray, obs: Observation) -> np.ndarray:
        """Least-squares translation putting the model's points on the 2D landmarks (linear in t)."""
        probe = params.copy()
        probe[BODY_JOINTS * 3:] = 0
        points = self.points(probe[None])[0]
        uv = obs.pose_2d[self.landmarks]
        weight = np.sqrt(np.clip(obs.visibility[self.landmarks], 0.05, 1))
        f, cx, cy = self.camera.focal, self.camera.cx, self.camera.cy
        rows, rhs = [], []
        for (x, y, z), (u, v), w in zip(points, uv, weight, strict=True):
            rows += [[w * f, 0, -w * (u - cx)], [0, w * f, -w * (v - cy)]]
            rhs += [w * ((u - cx) * z - f * x), w * ((v - cy) * z - f * y)]
        solution = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0]
        solution[2] = max(solution[2], 0.5)
        return solution

    # -- refinement ------------------------------------------------------------------------------------
    def residuals(self, params: np.ndarray, obs: Observation, previous: np.ndarray | None,
                  weights: FitWeights) -> np.ndarray:
        """``params: (B, 69)`` -> stacked residuals ``(B, M)``: 3D landmarks, 2D reprojection, priors."""
        return self._terms(params, *self.posed(params), obs, previous, weights)

    def stepped_residuals(self, params: np.ndarray, step: float, obs: Observation, previous: np.ndarray | None,
                          weights: FitWeights) -> np.ndarray:
        """:meth:`residuals` of ``params (69,) + step * I``, the solver's finite-difference steps."""
        return self._terms(params + np.eye(len(params)) * step, *self.stepped(params, step), obs, previous, weights)

    def _terms(self, params: np.ndarray, points: np.ndarray, joints: np.ndarray, obs: Observation,
               previous: np.ndarray | None, weights: FitWeights) -> np.ndarray:
        visibility = np.sqrt(np.clip(obs.visibility[self.landmarks], 0.0, 1.0))
        mid_hip = (points[:, 6] + points[:, 7]) / 2  # left_hip, right_hip: JOINT_LANDMARKS order
        relative = points - mid_hip[:, None]
        three_d = (relative - obs.world[self.landmarks]) * visibility[:, None] * weights.landmarks_3d
        pixels_per_metre = max(np.ptp(obs.pose_2d[self.landmarks, 1]), 50.0) / 1.6
        two_d = (self.camera.project(points) - obs.pose_2d[self.landmarks]) / pixels_per_metre
        two_d = two_d * visibility[:, None] * weights.landmarks_2d
        terms = [three_d.reshape(len(params), -1), two_d.reshape(len(params), -1),
                 self.joint_limits(params) * weights.joint_limits, arms_in_torso(joints) * weights.torso]
        if self.prior is not None and weights.prior > 0:  # the learned prior: how likely joints 1..21's pose is
            terms.append(self.prior.residuals(params[:, 3:BODY_JOINTS * 3]) * weights.prior)
        if previous is not None:
            terms.append((params - previous) * weights.temporal)
        return np.concatenate(terms, axis=1)

    def joint_limits(self, params: np.ndarray) -> np.ndarray:
        """Knees and elbows bend one way about one axis, up to MAX_FLEXION; the spine, neck and wrists prefer rest."""
        pose = params[:, :BODY_JOINTS * 3].reshape(len(params), BODY_JOINTS, 3)
        knees, elbows = pose[:, [4, 5]], pose[:, [18, 19]]
        terms = [
            knees[..., 1:].reshape(len(params), -1),  # off-hinge knee rotation
            np.minimum(knees[..., 0], 0.0),  # knee hyperextension
            elbows[..., [0, 2]].reshape(len(params), -1),  # off-hinge elbow rotation
            np.maximum(elbows[:, 0, 1], 0.0)[:, None], np.minimum(elbows[:, 1, 1], 0.0)[:, None],  # elbow overextension
            np.maximum(knees[..., 0] - MAX_FLEXION, 0.0),  # folded further than a knee or an elbow goes
            np.maximum(-elbows[:, 0, 1] - MAX_FLEXION, 0.0)[:, None],
            np.maximum(elbows[:, 1, 1] - MAX_FLEXION, 0.0)[:, None],
            0.3 * pose[:, [3, 6, 9, 12, 15]].reshape(len(params), -1),  # spine and neck
        ]
        if self.prior is None:
            terms.append(0.1 * pose[:, 1:].reshape(len(params), -1))  # everything, weakly, towards rest
        return np.concatenate(terms, axis=1)

    def fit(self, obs: Observation, previous: np.ndarray | None = None, weights: FitWeights | None = None,
            iterations: int = 10, start: np.ndarray | None = None) -> BodyFit:
        """Fit one frame; ``previous`` (the last frame's params) adds a temporal term and warm-starts it, unless
        ``start`` (params) is given."""
        weights = weights or FitWeights()
        if start is None:
            start = previous if previous is not None else self.initial_params(obs)
        params = levenberg_marquardt(lambda p: self.residuals(p, obs, previous, weights), start, iterations,
                                     stepped=lambda p, step: self.stepped_residuals(p, step, obs, previous, weights))
        return self.result(params, obs)

    def world_rotations(self, params: np.ndarray) -> np.ndarray:
        """Camera-space rotation of every joint's frame ``(J, 3, 3)`` for one parameter vector."""
        local = self.local_rotations(params[None])[0]
        world = np.empty_like(local)
        for joint, parent in enumerate(self.model.parents):
            world[joint] = local[joint] if parent < 0 else world[parent] @ local[joint]
        return world

    def result(self, params: np.ndarray, obs: Observation) -> BodyFit:
        local = self.local_rotations(params[None])[0]
        rest = self.rest[None]
        world = lbs.world_transforms(local[None], rest, self.model.parents)[0]
        joints = world[:, :3, 3] + params[BODY_JOINTS * 3:]
        poses = matrix_to_axis_angle(local).ravel()
        visible = obs.visibility[self.landmarks]
        error = np.linalg.norm(self.camera.project(self.points(params[None])[0]) - obs.pose_2d[self.landmarks], axis=1)
        scale = max(np.ptp(obs.pose_2d[self.landmarks, 1]), 50.0)
        agreement = float(np.exp(-np.average(error, weights=visible + 1e-6) / (0.05 * scale)))
        return BodyFit(poses.astype(np.float32), params[BODY_JOINTS * 3:].astype(np.float32),
                       joints.astype(np.float32), self.camera.project(joints).astype(np.float32),
                       float(np.mean(visible)) * agreement, params)


def bent_wrong(poses: np.ndarray) -> bool:
    """Whether a fitted pose (axis-angle ``(J*3,)``, the model's joint frames) bends a knee or an elbow backwards,
    folds it past its limit or turns it off its hinge, by more than the fit's soft limits let through."""
    pose = np.asarray(poses, np.float64)[:BODY_JOINTS * 3].reshape(BODY_JOINTS, 3)
    flexion = np.array([pose[4, 0], pose[5, 0], -pose[18, 1], pose[19, 1]])  # knees about +x, elbows about -y / +y
    off = np.abs(np.concatenate([pose[4, 1:], pose[5, 1:], pose[18, [0, 2]], pose[19, [0, 2]]]))
    return bool(flexion.min() < -HINGE_SLACK or flexion.max() > MAX_FLEXION + HINGE_SLACK or off.max() > OFF_HINGE)


def rotation_matrices(rotvecs: np.ndarray) -> np.ndarray:
    """``axis_angle_to_matrix`` of ``rotvecs (B, J, 3)``, where each row is converted only where it differs from
    the first: a finite-difference batch changes one joint a row, and the conversion works number by number, so
    the matrices are the same as converting every row."""
    if len(rotvecs) == 1:
        return axis_angle_to_matrix(rotvecs)
    changed = np.any(rotvecs != rotvecs[:1], axis=2)  # (B, J)
    matrices = np.broadcast_to(axis_angle_to_matrix(rotvecs[0]), (*rotvecs.shape, 3)).copy()
    matrices[changed] = axis_angle_to_matrix(rotvecs[changed])
    return matrices


def arms_in_torso(joints: np.ndarray) -> np.ndarray:
    """How deep ``(B, 8)`` the elbows, wrists and the middles of the arm bones are inside the torso, taken as the
    spine (pelvis to neck) thickened to TORSO_RADIUS_M; 0 outside. ``joints (B, J, 3)`` in the model's order."""
    pelvis, neck = joints[:, 0], joints[:, 12]
    arms = np.stack([joints[:, 18], joints[:, 19], joints[:, 20], joints[:, 21], (joints[:, 16] + joints[:, 18]) / 2,
                     (joints[:, 17] + joints[:, 19]) / 2, (joints[:, 18] + joints[:, 20]) / 2,
                     (joints[:, 19] + joints[:, 21]) / 2], axis=1)
    spine = (neck - pelvis)[:, None]
    along = np.clip(np.sum((arms - pelvis[:, None]) * spine, axis=-1) / np.sum(spine * spine, axis=-1), 0.0, 1.0)
    distance = np.linalg.norm(arms - (pelvis[:, None] + along[..., None] * spine), axis=-1)
    return np.maximum(TORSO_RADIUS_M - distance, 0.0)


@dataclass(frozen=True)
class FitWeights:
    landmarks_3d: float = 1.0
    landmarks_2d: float = 1.0
    joint_limits: float = 0.3
    torso: float = 3.0
    temporal: float = 0.0
    prior: float = 0.0  # weight of the learned pose prior's residual (its squared norm / 2 is a log likelihood)
