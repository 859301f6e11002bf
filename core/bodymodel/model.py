"""`BodyModel`: an SMPL or SMPL-X body as plain arrays, loaded from the user's files or the open body,
and its forward pass (shape, expression, pose correctives, skinning, translation)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import BodyModelError
from ..rotations import axis_angle_to_matrix
from . import lbs
from .joints import JOINT_NAMES, PARENTS

VERTEX_COUNTS = {"smpl": 6890, "smplx": 10475}
LABELS = {"smpl": "SMPL", "smplx": "SMPL-X"}
REQUIRED = ("v_template", "shapedirs", "J_regressor", "weights", "kintree_table", "f")


@dataclass(frozen=True)
class BodyPose:
    """A posed body. ``vertices: (F, V, 3)``, ``joints: (F, J, 3)``, float32, metres, model frame (Y up)."""

    vertices: np.ndarray
    joints: np.ndarray


@dataclass(frozen=True)
class BodyModel:
    """Arrays of one body model. V vertices, J joints, B shape and E expression directions."""

    family: str  # "smpl" or "smplx": the joint layout
    name: str  # for messages, e.g. "SMPLX_NEUTRAL.npz" or "open body"
    v_template: np.ndarray  # (V, 3)
    faces: np.ndarray  # (T, 3) int
    shapedirs: np.ndarray  # (V, 3, B)
    exprdirs: np.ndarray  # (V, 3, E); E = 0 for SMPL
    posedirs: np.ndarray | None  # (9 (J - 1), V * 3) or None when the model has no pose correctives
    J_regressor: np.ndarray  # (J, V)
    weights: np.ndarray  # (V, J)
    expression_names: tuple[str, ...] = ()
    hands_components: tuple[np.ndarray, np.ndarray] | None = None  # (45, 45) left, right
    hands_mean: tuple[np.ndarray, np.ndarray] | None = None  # (45,) left, right
    extras: dict = field(default_factory=dict)  # other arrays of the file (vertex ids, markers, ...)

    @property
    def joint_names(self) -> tuple[str, ...]:
        return JOINT_NAMES[self.family]

    @property
    def parents(self) -> tuple[int, ...]:
        return PARENTS[self.family]

    @property
    def num_betas(self) -> int:
        return self.shapedirs.shape[2]

    def rest_joints(self, betas: np.ndarray | None = None, expression: np.ndarray | None = None) -> np.ndarray:
        """Joints of the shaped body at rest: ``betas: (B',)`` (B' <= B), ``expression: (E',)`` -> ``(J, 3)``.

        Expression moves the regressed joints a little (as in SMPL-X); a rig's bones keep the
        expression they were built with.
        """
        shaped = self.shaped_vertices(betas, expression)
        return lbs.regress_joints(self.J_regressor, shaped[None])[0]

    def shaped_vertices(self, betas: np.ndarray | None = None, expression: np.ndarray | None = None) -> np.ndarray:
        """The rest mesh with shape (and expression) applied: ``(V, 3)``."""
        offsets = self.v_template.copy()
        if betas is not None and len(betas):
            betas = np.asarray(betas, np.float32)[: self.num_betas]
            offsets += lbs.blend_shapes(betas[None], self.shapedirs[:, :, : len(betas)])[0]
        if expression is not None and len(expression) and self.exprdirs.shape[2]:
            expression = np.asarray(expression, np.float32)[: self.exprdirs.shape[2]]
            offsets += lbs.blend_shapes(expression[None], self.exprdirs[:, :, : len(expression)])[0]
        return offsets

    def pose(self, poses: np.ndarray, betas: np.ndarray | None = None, trans: np.ndarray | None = None,
             expression: np.ndarray | None = None, pose_correctives: bool = True) -> BodyPose:
        """Forward pass for F frames.

        ``poses: (F, J*3)`` axis-angle per joint (SMPL-X hands as full joint rotations, no PCA),
        ``betas: (B',)`` shared by all frames, ``trans: (F, 3)``, ``expression: (F, E')`` or ``(E',)``.
        """
        poses = np.asarray(poses, np.float32).reshape(-1, len(self.parents), 3)
        frames = poses.shape[0]
        rest = np.broadcast_to(self.shaped_vertices(betas), (frames, *self.v_template.shape)).copy()
        if expression is not None and len(expression) and self.exprdirs.shape[2]:
            expression = np.asarray(expression, np.float32).reshape(-1, np.shape(expression)[-1])
            count = min(expression.shape[1], self.exprdirs.shape[2])
            rest += lbs.blend_shapes(np.broadcast_to(expression[:, :count], (frames, count)),
                                     self.exprdirs[:, :, :count])
        joints = lbs.regress_joints(self.J_regressor, rest)
        rotations = axis_angle_to_matrix(poses)
        if pose_correctives and self.posedirs is not None:
            rest += (lbs.pose_feature(rotations) @ self.posedirs).reshape(rest.shape)
        world = lbs.world_transforms(rotations, joints, self.parents)
        vertices = lbs.skin(rest, self.weights, lbs.skinning_transforms(world, joints))
        posed_joints = world[:, :, :3, 3].copy()
        if trans is not None:
            offset = np.asarray(trans, np.float32).reshape(-1, 1, 3)
            vertices += offset
            posed_joints += offset
        return BodyPose(vertices.astype(np.float32), posed_joints.astype(np.float32))

    def hand_pose_from_pca(self, left: np.ndarray, right: np.ndarray, add_mean: bool = True) -> np.ndarray:
        """Hand PCA coefficients ``(F, K)`` per side -> finger rotations ``(F, 30, 3)`` (left then right)."""
        if self.hands_components is None:
            raise BodyModelError(f"{self.name} has no hand PCA components.")
        sides = []
        for coeffs, components, mean in zip((left, right), self.hands_components, self.hands_mean, strict=True):
            coeffs = np.atleast_2d(np.asarray(coeffs, np.float32))
            pose = coeffs @ components[: coeffs.shape[1]] + (mean if add_mean else 0)
            sides.append(pose.reshape(-1, 15, 3))
        return np.concatenate(sides, axis=1)


def read_arrays(path: Path) -> dict:
    """The arrays of a model file (``.npz`` without pickles, ``.pkl`` through the restricted unpickler), within
    the size limits of ``files.py``."""
    from .files import read_model_file  # not at the top: files.py imports this module's constants

    return read_model_file(path)


def load_body_model(path: str | Path, family: str, name: str | None = None) -> BodyModel:
    """Load an SMPL (``family="smpl"``) or SMPL-X (``"smplx"``) file, checking it is what it claims."""
    path = Path(path)
    try:
        return body_model_from_arrays(read_arrays(path), family, name or path.name)
    except MemoryError:  # said of the model file, not of the photo or video being worked on
        raise BodyModelError(f'"{path.name}" needs more memory than this computer has free. Close other programs, '
                             "or use a smaller model file.") from None


def body_model_from_arrays(arrays: dict, family: str, name: str) -> BodyModel:
    _check_arrays(arrays, family, name)
    joints = len(PARENTS[family])
    v_template = np.asarray(arrays["v_template"], np.float32)
    shapedirs, exprdirs, expression_names = _shape_and_expression(arrays, family)
    posedirs = arrays.get("posedirs")
    if posedirs is not None:
        posedirs = np.asarray(posedirs, np.float32).reshape(len(v_template) * 3, -1).T.copy()
        if not np.any(posedirs):
            posedirs = None  # all-zero correctives cost time and change nothing
    hands = None, None
    if family == "smplx" and "hands_componentsl" in arrays:
        hands = ((np.asarray(arrays["hands_componentsl"], np.float32), np.asarray(arrays["hands_componentsr"],
                                                                                   np.float32)),
                 (np.asarray(arrays["hands_meanl"], np.float32).ravel(), np.asarray(arrays["hands_meanr"],
                                                                                     np.float32).ravel()))
    known = set(REQUIRED) | {"posedirs", "hands_componentsl", "hands_componentsr", "hands_meanl", "hands_meanr",
                             "arkit_dirs", "arkit_names"}
    return BodyModel(
        family=family, name=name, v_template=v_template, faces=np.asarray(arrays["f"], np.int64),
        shapedirs=shapedirs, exprdirs=exprdirs, posedirs=posedirs,
        J_regressor=np.asarray(arrays["J_regressor"], np.float32)[:joints],
        weights=np.asarray(arrays["weights"], np.float32)[:, :joints], expression_names=expression_names,
        hands_components=hands[0], hands_mean=hands[1],
        extras={key: value for key, value in arrays.items() if key not in known})


def _shape_and_expression(arrays: dict, family: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Split SMPL-X's shapedirs into shape and expression the way the official files lay them out:
    400 directions = 300 shape + 100 expression; 20 = 10 + 10. The open body keeps ARKit shapes apart."""
    shapedirs = np.asarray(arrays["shapedirs"], np.float32)
    vertices = shapedirs.shape[0]
    empty = np.zeros((vertices, 3, 0), np.float32)
    if "arkit_dirs" in arrays:
        names = tuple(str(n) for n in arrays["arkit_names"])
        return shapedirs, np.asarray(arrays["arkit_dirs"], np.float32), names
    if family != "smplx":
        return shapedirs, empty, ()
    total = shapedirs.shape[2]
    split = 300 if total >= 400 else 10 if total >= 20 else total
    expression = shapedirs[:, :, split:split + 100]
    names = tuple(f"Exp{index:03d}" for index in range(expression.shape[2]))
    return shapedirs[:, :, :split], expression, names


def _check_arrays(arrays: dict, family: str, name: str) -> None:
    """Every array checked (shapes, types, finite values, index ranges) before a model is built from them."""
    from .files import check_model_arrays  # not at the top: files.py imports this module's constants

    check_model_arrays(arrays, family, name)
