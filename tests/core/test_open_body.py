"""The shipped open body: well-formed, licensed, and posed by our numpy model exactly as by `smplx`."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from pocket_mocap.core.bodymodel.library import DATA, load_body, open_body_path

torch = pytest.importorskip("torch")
smplx = pytest.importorskip("smplx")


@pytest.mark.parametrize("family, joints", [("smpl", 24), ("smplx", 55)])
@pytest.mark.parametrize("lowres, vertices", [(False, 13718), (True, 1229)])
def test_open_body_is_well_formed(family, joints, lowres, vertices):
    model = load_body("open", family, lowres=lowres)
    assert model.v_template.shape == (vertices, 3) and model.J_regressor.shape == (joints, vertices)
    assert np.abs(model.weights.sum(axis=1) - 1).max() < 1e-5
    assert model.shapedirs.shape[2] == 10 and model.posedirs is None
    height = np.ptp(model.v_template[:, 1])
    assert 1.6 < height < 1.8, "mean adult, Y up, metres"
    joints_at_rest = model.rest_joints()
    left, right = model.joint_names.index("left_wrist"), model.joint_names.index("right_wrist")
    assert joints_at_rest[left, 0] > 0.5 and joints_at_rest[right, 0] < -0.5, "T-pose: wrists out along +-X"
    if family == "smplx":
        assert len(model.expression_names) == 52 and "jawOpen" in model.expression_names
    assert (DATA / "LICENSE-open-body.txt").read_text().count("Apache License") >= 1


def test_open_body_matches_smplx_package(tmp_path):
    """SMPL layout, full resolution: smplx loads the arrays (zero pose correctives added) and must agree."""
    arrays = dict(np.load(open_body_path("smpl")))
    vertices = len(arrays["v_template"])
    struct = {key: arrays[key] for key in ("v_template", "f", "shapedirs", "J_regressor", "weights", "kintree_table")}
    struct["posedirs"] = np.zeros((vertices, 3, 207), np.float32)
    (tmp_path / "smpl").mkdir()
    with open(tmp_path / "smpl" / "SMPL_NEUTRAL.pkl", "wb") as handle:
        pickle.dump(struct, handle)
    reference = smplx.create(str(tmp_path), model_type="smpl", gender="neutral", num_betas=10)
    model = load_body("open", "smpl")
    rng = np.random.default_rng(4)
    poses = rng.normal(0, 0.4, (2, 72)).astype(np.float32)
    betas = rng.normal(0, 1, 10).astype(np.float32)
    trans = rng.normal(0, 1, (2, 3)).astype(np.float32)
    ours = model.pose(poses, betas, trans)
    for frame in range(2):
        pose = torch.tensor(poses[frame:frame + 1])
        with torch.no_grad():
            out = reference(betas=torch.tensor(betas[None]), global_orient=pose[:, :3], body_pose=pose[:, 3:],
                            transl=torch.tensor(trans[frame:frame + 1]))
        assert np.abs(ours.vertices[frame] - out.vertices[0].numpy()).max() <= 1e-5
        assert np.abs(ours.joints[frame] - out.joints[0, :24].numpy()).max() <= 1e-5
