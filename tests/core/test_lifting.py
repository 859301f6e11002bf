"""The learned 3D stage (core/lifting): its input layout, the bundled weights and their training record, refusal of
untrained files, and accuracy on held-out motion capture."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT
from support.onnx_files import assert_untrained_refused, save_graph

from pocket_mocap.core.lifting.features import FEATURES, input_features, person_box
from pocket_mocap.core.lifting.lifter import BUNDLED, REQUIRED_METADATA, Lifter

MOCAP = ROOT.parent / "shared" / "mocap"
needs_weights = pytest.mark.skipif(not BUNDLED.is_file(), reason="no lifter weights in this build (they are not "
                                   "bundled until they beat the default; python3 tools/dev.py train-lifter makes them)")


def test_person_box_uses_the_landmarks_seen():
    pixels = np.zeros((1, 33, 2))
    pixels[0, :, 0] = np.linspace(100, 200, 33)
    pixels[0, :, 1] = np.linspace(50, 450, 33)
    visibility = np.ones((1, 33))
    visibility[0, 30:] = 0.1  # the last three are hidden and do not stretch the box
    centre, side = person_box(pixels, visibility)
    np.testing.assert_allclose(side, [pixels[0, 29, 1] - 50])
    np.testing.assert_allclose(centre, [[(100 + pixels[0, 29, 0]) / 2, (50 + pixels[0, 29, 1]) / 2]])


def test_features_layout():
    pixels = np.random.default_rng(0).uniform(0, 500, (2, 33, 2))
    features = input_features(pixels, np.ones((2, 33)), np.zeros((2, 33, 3)), np.array([600.0, 600.0]),
                              np.array([[320.0, 240.0]] * 2))
    assert features.shape == (2, FEATURES)
    assert np.abs(features[:, :66]).max() <= 0.5 + 1e-9  # box-relative, the longer side is 1
    np.testing.assert_allclose(features[:, 66:99], 1.0)


@needs_weights
def test_bundled_lifter_carries_its_training_record():
    lifter = Lifter()
    record = lifter.record
    assert int(record["trained_steps"]) > 1000 and record["held_out_clips"]
    assert "pose bank" in record["data"] and record["command"].startswith("python")
    assert lifter.validation["pa_mpjpe_mm"] < 60  # held-out clips, synthetic MediaPipe-like input
    assert json.loads(record["validation_input_world"])["pa_mpjpe_mm"] > lifter.validation["pa_mpjpe_mm"]
    assert BUNDLED.stat().st_size < 16e6


def _untrained_onnx(path: Path, metadata: dict[str, str]) -> Path:
    from onnx import TensorProto, helper

    weight = helper.make_tensor("w", TensorProto.FLOAT, (FEATURES, 129 * 3), np.zeros(FEATURES * 387).tolist())
    graph = helper.make_graph([helper.make_node("MatMul", ["features", "w"], ["points"])], "lifter",
                              [helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, FEATURES])],
                              [helper.make_tensor_value_info("points", TensorProto.FLOAT, [1, 387])], [weight])
    return save_graph(graph, path, metadata)


def test_weights_without_a_training_record_are_refused(tmp_path):
    assert_untrained_refused(Lifter, _untrained_onnx, tmp_path, {key: "x" for key in REQUIRED_METADATA})


def test_onnx_export_equals_torch(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    import onnxruntime

    from training.lifter.model import ARCHITECTURES
    from training.lifter.train import export

    for name, architecture in ARCHITECTURES.items():
        torch.manual_seed(0)
        model = architecture().eval()
        export(model, tmp_path / f"{name}.onnx", {"architecture": name})
        features = torch.randn(3, FEATURES)
        with torch.no_grad():
            expected = model(features).numpy()
        session = onnxruntime.InferenceSession(str(tmp_path / f"{name}.onnx"), providers=["CPUExecutionProvider"])
        got = session.run(None, {"features": features.numpy()})[0]
        assert np.abs(got - expected).max() < 1e-4, name


def test_token_lifter_classifies_coordinates_and_learns_with_rle():
    """The paper's module: soft-argmax over bins keeps the points inside the bins' reach, sigma is positive, and the
    RLE loss (through the flow too) falls on a fixed batch."""
    torch = pytest.importorskip("torch")
    from training.lifter.model import REACH, TokenLifter
    from training.lifter.train import point_loss
    from training.losses import RLELoss

    torch.manual_seed(0)
    model, rle = TokenLifter(dim=32, layers=1, bins=32), RLELoss(dim=3)
    features = torch.randn(8, FEATURES)
    targets = torch.rand(8, 129, 3) * 1.6 - 0.8
    points, sigma = model.points_and_sigma(features)
    assert points.shape == (8, 129, 3) and points.abs().max() <= REACH and (sigma > 0).all()
    assert torch.equal(model(features), points)
    optimiser = torch.optim.Adam(list(model.parameters()) + list(rle.parameters()), lr=3e-3)
    first = point_loss(model, rle, features, targets, torch.ones(1, 129, 1))
    for _ in range(30):
        optimiser.zero_grad()
        loss = point_loss(model, rle, features, targets, torch.ones(1, 129, 1))
        loss.backward()
        optimiser.step()
    assert all(p.grad is not None for p in rle.flow.parameters())
    assert loss.item() < first.item() - 0.5, (first.item(), loss.item())


@needs_weights
@pytest.mark.skipif(not (MOCAP / "bvh").is_dir(), reason="../shared/mocap is absent: no held-out clips")
def test_lifter_on_held_out_clips_beats_its_corrupted_input():
    """Synthetic MediaPipe-like observations of bodies posed from clips the lifter never saw."""
    from training.lifter.data import LifterSampler
    from training.lifter.train import LIMBS, pa_error
    from training.synth.bank import make_bank
    from training.synth.poses import build_pose_bank, find_clips

    lifter = Lifter()
    held = lifter.record["held_out_clips"].split(",")[:2]
    poses = build_pose_bank(find_clips(MOCAP, held))["poses"]
    sampler = LifterSampler(make_bank(poses, None, "held-out clips"))
    rng = np.random.default_rng(5)
    joints, points, _ = sampler.bodies(rng, 200)
    landmarks = sampler.landmarks(joints, points)
    observed = sampler.observe(rng, landmarks)
    truth = landmarks - landmarks[:, [23, 24]].mean(axis=1, keepdims=True)
    lifted = np.stack([lifter.lift(observed["pixels"][i], observed["visibility"][i], observed["world"][i],
                                   observed["focal"][i], observed["centre"][i])[0] for i in range(200)])
    ours = pa_error(lifted[:, LIMBS], truth[:, LIMBS]).mean() * 1000
    theirs = pa_error(observed["world"][:, LIMBS], truth[:, LIMBS]).mean() * 1000
    assert ours < 70 and ours < 0.8 * theirs, (ours, theirs)

