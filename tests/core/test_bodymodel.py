"""The numpy body model against the `smplx` package (test-only reference), the restricted unpickler,
and the loader's messages for wrong files."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from support.bodyfiles import random_model_arrays, write_npz, write_pickle

from pocket_mocap.core import rotations
from pocket_mocap.core.bodymodel.model import load_body_model
from pocket_mocap.core.errors import BodyModelError

torch = pytest.importorskip("torch")
smplx = pytest.importorskip("smplx")


def random_parameters(family: str, frames: int, seed: int):
    rng = np.random.default_rng(seed)
    joints = {"smpl": 24, "smplx": 55}[family]
    poses = rng.normal(0, 0.4, (frames, joints * 3)).astype(np.float32)
    return poses, rng.normal(0, 1, 10).astype(np.float32), rng.normal(0, 1, (frames, 3)).astype(np.float32), \
        rng.normal(0, 1, (frames, 10)).astype(np.float32)


def reference(folder, family: str, poses, betas, trans, expression):
    """Vertices and joints from the smplx package, frame by frame."""
    model = smplx.create(str(folder), model_type=family, gender="neutral", ext="npz" if family == "smplx" else "pkl",
                         num_betas=10, use_pca=False, flat_hand_mean=True, num_expression_coeffs=10)
    vertices, joints = [], []
    count = {"smpl": 24, "smplx": 55}[family]
    for frame in range(len(poses)):
        pose = torch.tensor(poses[frame:frame + 1])
        kwargs = dict(betas=torch.tensor(betas[None]), global_orient=pose[:, :3], body_pose=pose[:, 3:66],
                      transl=torch.tensor(trans[frame:frame + 1]))
        if family == "smpl":
            kwargs["body_pose"] = pose[:, 3:72]
        else:
            kwargs |= dict(jaw_pose=pose[:, 66:69], leye_pose=pose[:, 69:72], reye_pose=pose[:, 72:75],
                           left_hand_pose=pose[:, 75:120], right_hand_pose=pose[:, 120:165],
                           expression=torch.tensor(expression[frame:frame + 1]))
        with torch.no_grad():
            out = model(**kwargs)
        vertices.append(out.vertices[0].numpy())
        joints.append(out.joints[0, :count].numpy())
    return np.stack(vertices), np.stack(joints)


@pytest.mark.parametrize("family, filename", [("smpl", "SMPL_NEUTRAL.pkl"), ("smplx", "SMPLX_NEUTRAL.npz")])
def test_forward_matches_smplx_package(tmp_path, family, filename):
    arrays = random_model_arrays(family, seed=3)
    folder = tmp_path
    (folder / family).mkdir()  # smplx.create looks for <folder>/<family>/<filename>
    path = (write_pickle if filename.endswith(".pkl") else write_npz)(folder / family / filename, arrays)
    model = load_body_model(path, family)
    poses, betas, trans, expression = random_parameters(family, frames=3, seed=5)
    ours = model.pose(poses, betas, trans, expression)
    ref_vertices, ref_joints = reference(folder, family, poses, betas, trans, expression)
    assert np.abs(ours.vertices - ref_vertices).max() <= 1e-5
    assert np.abs(ours.joints - ref_joints).max() <= 1e-5
    assert ours.vertices.dtype == np.float32 and ours.vertices.shape == (3, len(arrays["v_template"]), 3)


def test_zero_pose_gives_the_template():
    arrays = random_model_arrays("smpl", vertices=500, seed=1)
    from pocket_mocap.core.bodymodel.model import body_model_from_arrays

    model = body_model_from_arrays(arrays, "smpl", "test")
    out = model.pose(np.zeros((2, 72)))
    assert np.abs(out.vertices - arrays["v_template"]).max() < 1e-6


def test_rotation_conversions_round_trip():
    rng = np.random.default_rng(0)
    directions = rng.normal(size=(400, 3))
    rotvecs = directions / np.linalg.norm(directions, axis=1, keepdims=True) * rng.uniform(0, 3.14, (400, 1))
    rotvecs[:4] = [[0, 0, 0], [1e-7, 0, 0], [0, 2e-5, -1e-5], [np.pi - 1e-6, 0, 0]]  # at zero, near zero, near pi
    matrices = rotations.axis_angle_to_matrix(rotvecs)
    assert np.allclose(matrices @ np.swapaxes(matrices, -1, -2), np.eye(3), atol=1e-12)
    assert np.abs(rotations.matrix_to_axis_angle(matrices) - rotvecs).max() < 1e-6
    quats = rotations.axis_angle_to_quaternion(rotvecs)
    assert np.allclose(np.linalg.norm(quats, axis=1), 1)
    assert np.abs(rotations.quaternion_to_axis_angle(-quats) - rotvecs).max() < 1e-9
    assert np.abs(rotations.matrix_to_quaternion(matrices) - quats).max() < 1e-6
    from scipy.spatial.transform import Rotation  # independent reference, (x, y, z, w) order

    assert np.allclose(Rotation.from_rotvec(rotvecs).as_matrix(), matrices, atol=1e-12)


def test_continuous_quaternions_take_the_short_way():
    quats = rotations.axis_angle_to_quaternion(np.linspace([0, 0, 3.0], [0, 0, 3.3], 5))
    quats[2:] *= -1
    smooth = rotations.continuous_quaternions(quats[:, None])[:, 0]
    assert np.all(np.sum(smooth[1:] * smooth[:-1], axis=1) > 0)


def test_chumpy_and_sparse_pickles_load_without_chumpy(tmp_path, monkeypatch):
    """An official-style SMPL pickle: shapedirs as a chumpy Ch, J_regressor as a scipy CSC matrix."""
    import sys
    import types

    import scipy.sparse

    fake, parent = types.ModuleType("chumpy.ch"), types.ModuleType("chumpy")

    class Ch:  # pickled as chumpy.ch.Ch with its value under "x", like chumpy does
        def __init__(self, x):
            self.x = x
    Ch.__module__, Ch.__qualname__ = "chumpy.ch", "Ch"
    fake.Ch, parent.ch = Ch, fake
    monkeypatch.setitem(sys.modules, "chumpy", parent)
    monkeypatch.setitem(sys.modules, "chumpy.ch", fake)
    arrays = random_model_arrays("smpl", vertices=300, seed=2)
    official = dict(arrays, shapedirs=Ch(arrays["shapedirs"]),
                    J_regressor=scipy.sparse.csc_matrix(arrays["J_regressor"]))
    path = write_pickle(tmp_path / "basicModel_neutral.pkl", official)
    monkeypatch.delitem(sys.modules, "chumpy.ch")
    monkeypatch.delitem(sys.modules, "chumpy")
    model = load_body_model(path, "smpl")
    assert np.allclose(model.shapedirs, arrays["shapedirs"])
    assert np.allclose(model.J_regressor, arrays["J_regressor"])


class Evil:
    def __reduce__(self):
        import os

        return os.system, ("touch /tmp/pocket_mocap_pwned",)


@pytest.mark.parametrize("payload", [Evil(), {"v_template": Evil()}])
def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path, payload):
    import os

    marker = "/tmp/pocket_mocap_pwned"
    if os.path.exists(marker):
        os.remove(marker)
    path = tmp_path / "SMPL_NEUTRAL.pkl"
    path.write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(BodyModelError, match=r'"SMPL_NEUTRAL.pkl" was refused: .*"(posix|os|nt)\.system"'):
        load_body_model(path, "smpl")
    assert not os.path.exists(marker)


@pytest.mark.parametrize("make, message", [
    (lambda d: write_npz(d / "h.npz", random_model_arrays("smpl", vertices=300) | {
        "weights": np.ones((300, 52)) / 52, "hands_componentsl": np.eye(45)}), "so it is SMPL-H; SMPL-X needs 55"),
    (lambda d: write_npz(d / "x.npz", random_model_arrays("smplx", vertices=300)), "so it is SMPL-X, not SMPL"),
    (lambda d: write_npz(d / "r.npz", {"a": np.ones(3)}), "lacks v_template"),
    (lambda d: write_npz(d / "s.npz", random_model_arrays("smpl", vertices=300) | {"weights": np.ones((299, 24))}),
     "weights has shape"),
    (lambda d: d / "missing.npz", "does not exist"),
], ids=["smplh-as-smplx", "smplx-as-smpl", "random-npz", "wrong-shape", "missing"])
def test_wrong_files_say_what_was_expected(tmp_path, make, message):
    family = "smplx" if "h.npz" in str(make(tmp_path)) else "smpl"
    with pytest.raises(BodyModelError, match=message):
        load_body_model(make(tmp_path), family)


def test_truncated_pickle_is_explained(tmp_path):
    arrays = random_model_arrays("smpl", vertices=300)
    path = write_pickle(tmp_path / "SMPL_MALE.pkl", arrays)
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(BodyModelError, match="damaged or truncated"):
        load_body_model(path, "smpl")


def test_hand_pca_matches_smplx_package(tmp_path):
    arrays = random_model_arrays("smplx", seed=9)
    (tmp_path / "smplx").mkdir()
    path = write_npz(tmp_path / "smplx" / "SMPLX_NEUTRAL.npz", arrays)
    reference = smplx.create(str(tmp_path), model_type="smplx", gender="neutral", ext="npz", num_betas=10,
                             use_pca=True, num_pca_comps=6, flat_hand_mean=False, num_expression_coeffs=10)
    model = load_body_model(path, "smplx")
    rng = np.random.default_rng(1)
    left, right = rng.normal(0, 1, (1, 6)).astype(np.float32), rng.normal(0, 1, (1, 6)).astype(np.float32)
    poses = np.zeros((1, 55, 3), np.float32)
    poses[:, 25:] = model.hand_pose_from_pca(left, right)
    with torch.no_grad():
        out = reference(left_hand_pose=torch.tensor(left), right_hand_pose=torch.tensor(right))
    ours = model.pose(poses.reshape(1, -1))
    assert np.abs(ours.vertices[0] - out.vertices[0].numpy()).max() <= 1e-5
