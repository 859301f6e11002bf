"""The learned pose prior (core/prior/): the bundled file and its training record, refusal of files without one,
held-out motion capture ranked above the same poses corrupted, and the fit's residual matching the energy."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ROOT

from pocket_mocap.core.errors import PocketMocapError
from pocket_mocap.core.prior.gmm import BUNDLED, DIMENSIONS, PosePrior

MOCAP = ROOT.parent / "shared" / "mocap" / "bvh"
HELD_OUT = ("007/007_08", "005/005_03", "002/002_10")  # validation trials of the pose bank: never fitted


@pytest.fixture(scope="module")
def prior():
    return PosePrior()


def test_bundled_prior_carries_its_fit_record(prior):
    record = prior.record
    assert record["components"] == len(prior.means) >= 4 and record["iterations"] >= 20
    assert "pose bank" in record["data"] and record["command"].startswith("python -m training.prior.fit")
    assert record["held_out_clips"] >= 10 and record["held_out_poses"] >= 1000
    assert record["validation_log_likelihood"] > record["train_log_likelihood"] - 10  # it generalises
    assert record["held_out_ranked_above_corrupted"] >= 0.95
    assert BUNDLED.stat().st_size < 1e6


def test_files_without_a_fit_record_are_refused(tmp_path):
    plain = tmp_path / "plain.npz"
    np.savez(plain, means=np.zeros((2, DIMENSIONS)))
    with pytest.raises(PocketMocapError, match="not a trained pose prior"):
        PosePrior(plain)
    unfitted = tmp_path / "unfitted.npz"
    np.savez(unfitted, means=np.zeros((2, DIMENSIONS)), precision_cholesky=np.tile(np.eye(DIMENSIONS), (2, 1, 1)),
             log_weights=np.log([0.5, 0.5]), record=json.dumps({"iterations": 0}))
    with pytest.raises(PocketMocapError, match="no record of a fit"):
        PosePrior(unfitted)
    with pytest.raises(PocketMocapError, match="missing"):
        PosePrior(tmp_path / "absent.npz")


def test_residual_norm_is_the_energy(prior):
    poses = np.random.default_rng(0).normal(0.0, 0.2, (16, DIMENSIONS))
    residual = prior.residuals(poses)
    np.testing.assert_allclose(0.5 * (residual ** 2).sum(axis=1), prior.energy(poses) - prior.floor, rtol=1e-6)


def _broken(poses: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Knees bent forwards, an elbow bent backwards, the spine twisted: what a bad fit of a floor pose does."""
    out = poses.reshape(len(poses), 21, 3).copy()
    joint = rng.choice([3, 4, 17, 18, 2, 5], len(poses))  # knees, elbows, spine (joint index - 1)
    out[np.arange(len(poses)), joint] += rng.choice([-1.0, 1.0], (len(poses), 1)) * [1.0, 0.4, 0.4]
    return out.reshape(len(poses), DIMENSIONS)


@pytest.mark.skipif(not (MOCAP / "002").is_dir(), reason="../shared/mocap (the CC_Base clips) is not beside the repo")
def test_held_out_motion_capture_ranks_above_its_corruption(prior):
    from pocket_mocap.core.bodymodel.library import load_body
    from training.synth.sequences import clip_sequence

    body = load_body("open", "smplx", "", "neutral")
    poses = np.concatenate([clip_sequence(MOCAP / f"{name}.bvh", body, seconds=10).poses for name in HELD_OUT])
    body_poses = poses.reshape(len(poses), -1, 3)[:, 1:22].reshape(len(poses), DIMENSIONS)
    rng = np.random.default_rng(1)
    clean, broken = prior.energy(body_poses), prior.energy(_broken(body_poses, rng))
    assert np.mean(clean < broken) >= 0.95
    rest = prior.energy(np.zeros((1, DIMENSIONS)))[0]
    assert np.median(clean) < rest + 60  # real poses are not far less likely than standing at rest
