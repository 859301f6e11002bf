"""Random but well-formed SMPL / SMPL-X model arrays, written in the official files' layouts."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from pocket_mocap.core.bodymodel.joints import PARENTS


def grid_faces(vertices: int) -> np.ndarray:
    """Triangles of a rows x cols lattice of ``vertices`` points: a valid mesh of any size."""
    rows = max(d for d in range(1, int(vertices**0.5) + 1) if vertices % d == 0)
    cols = vertices // rows
    index = np.arange(vertices).reshape(rows, cols)
    a, b, c, d = index[:-1, :-1], index[:-1, 1:], index[1:, :-1], index[1:, 1:]
    return np.concatenate([np.stack([a, b, d], -1).reshape(-1, 3), np.stack([a, d, c], -1).reshape(-1, 3)])


def random_model_arrays(family: str, vertices: int | None = None, seed: int = 0, shape_dirs: int = 10,
                        expression_dirs: int = 10) -> dict:
    """Arrays with the keys and shapes of SMPL (``family="smpl"``) or SMPL-X model files."""
    rng = np.random.default_rng(seed)
    parents = PARENTS[family]
    joints = len(parents)
    vertices = vertices or {"smpl": 6890, "smplx": 10475}[family]
    v_template = rng.normal(0, 0.3, (vertices, 3))
    regressor = np.zeros((joints, vertices))
    for joint in range(joints):
        chosen = rng.choice(vertices, 12, replace=False)
        regressor[joint, chosen] = rng.dirichlet(np.ones(12))
    weights = np.zeros((vertices, joints))
    for vertex in range(vertices):
        chosen = rng.choice(joints, 4, replace=False)
        weights[vertex, chosen] = rng.dirichlet(np.ones(4))
    kintree = np.array([[4294967295 if p < 0 else p for p in parents], list(range(joints))], np.int64)
    total = shape_dirs + (expression_dirs if family == "smplx" else 0)
    arrays = {
        "v_template": v_template, "f": grid_faces(vertices).astype(np.uint32),
        "shapedirs": rng.normal(0, 0.01, (vertices, 3, total)),
        "posedirs": rng.normal(0, 0.002, (vertices, 3, 9 * (joints - 1))),
        "J_regressor": regressor, "weights": weights, "kintree_table": kintree,
    }
    if family == "smplx":
        arrays |= {"hands_componentsl": np.linalg.qr(rng.normal(size=(45, 45)))[0],
                   "hands_componentsr": np.linalg.qr(rng.normal(size=(45, 45)))[0],
                   "hands_meanl": rng.normal(0, 0.1, 45), "hands_meanr": rng.normal(0, 0.1, 45),
                   "lmk_faces_idx": np.zeros(51, np.int64), "lmk_bary_coords": np.full((51, 3), 1 / 3)}
    return arrays


def write_npz(path: Path, arrays: dict) -> Path:
    np.savez(path, **arrays)
    return path


def write_pickle(path: Path, arrays: dict) -> Path:
    with open(path, "wb") as handle:
        pickle.dump(arrays, handle, protocol=2)
    return path
