"""Quick checks of user body-model files, and the catalog built on them."""

from __future__ import annotations

import numpy as np
import pytest

from pocket_mocap.core import catalog
from pocket_mocap.core.bodymodel.files import check_body_file
from pocket_mocap.core.errors import BodyModelError


def fake_model(path, vertices: int, hands: bool = False, drop: str = "") -> str:
    joints = 55 if vertices == 10475 else 24
    arrays = dict(v_template=np.zeros((vertices, 3)), shapedirs=np.zeros((vertices, 3, 10)),
                  J_regressor=np.zeros((joints, vertices)), weights=np.zeros((vertices, joints)),
                  kintree_table=np.zeros((2, joints), np.int64), f=np.zeros((10, 3), np.int64))
    if hands:
        arrays["hands_componentsl"] = np.zeros((45, 45))
    arrays.pop(drop, None)
    np.savez(path, **arrays)
    return str(path)


def test_right_files_pass(tmp_path):
    assert check_body_file("smpl", fake_model(tmp_path / "smpl.npz", 6890)).summary == "SMPL, 6890 vertices"
    assert check_body_file("smplx", fake_model(tmp_path / "smplx.npz", 10475)).summary.startswith("SMPL-X")


@pytest.mark.parametrize("family, make, message", [
    ("smplx", lambda d: fake_model(d / "h.npz", 6890, hands=True), "so it is SMPL-H; a SMPL-X model has 10475"),
    ("smpl", lambda d: fake_model(d / "x.npz", 10475), "so it is SMPL-X; a SMPL model has 6890"),
    ("smpl", lambda d: fake_model(d / "s.npz", 6890, drop="weights"), "lacks weights"),
    ("smpl", lambda d: np.savez(d / "r.npz", a=np.ones(3)) or str(d / "r.npz"), "lacks v_template"),
    ("smpl", lambda d: str(d / "none.pkl"), "does not exist"),
    ("smplx", lambda d: (d / "m.obj").write_text("v 0 0 0") and str(d / "m.obj"), "expected a .pkl or .npz"),
    ("smpl", lambda d: (d / "t.pkl").write_bytes(b"") or str(d / "t.pkl"), "is not a Python pickle"),
    ("smpl", lambda d: (d / "z.npz").write_bytes(b"PK\x03\x04broken") and str(d / "z.npz"), "could not be read"),
], ids=["smplh-as-smplx", "smplx-as-smpl", "missing-array", "random-npz", "missing", "wrong-suffix",
        "empty-pickle", "truncated-npz"])
def test_wrong_files_say_what_was_expected(tmp_path, family, make, message):
    with pytest.raises(BodyModelError, match=message):
        check_body_file(family, make(tmp_path))


def test_catalog_reports_reasons(tmp_path):
    estimators = {c.name: c for c in catalog.estimators()}
    assert set(estimators) == {"keypoints", "efficienthuman", "binaryhpe"}
    assert not estimators["efficienthuman"].available and "no trained weights" in estimators["efficienthuman"].reason
    bodies = {c.name: c for c in catalog.body_models(smpl_path=fake_model(tmp_path / "s.npz", 6890))}
    assert bodies["smpl"].available and bodies["smpl"].reason == ""
    assert not bodies["smplx"].available and "preferences" in bodies["smplx"].reason
