"""BinaryHPE smoke-trained with Eq. 12 on generated samples, exported whole with packed binary layers, and run
through the CLI on a real photo; untrained files are refused."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from conftest import SHARED_MEDIA

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
PHOTO = SHARED_MEDIA / "images" / "single" / "s03_yoga_treepose__tfexamples_image3.jpeg"


def test_smoke_training_lowers_the_loss_and_resumes(binaryhpe_smoke, tmp_path):
    import shutil

    from core.bodymodel.library import load_body
    from training.binaryhpe_data import GeneratedWholeBody
    from training.binaryhpe_train import train

    losses = binaryhpe_smoke["losses"]
    assert len(losses) == 16 and np.all(np.isfinite(losses))
    # 16 steps on two samples: the loss falls on every machine, by 7-15 % depending on the CPU's float kernels.
    assert np.mean(losses[-4:]) < 0.97 * np.mean(losses[:4]), losses
    checkpoint = shutil.copy(binaryhpe_smoke["checkpoint"], tmp_path / "resume.pt")
    body = load_body("open", "smplx")
    more = train(GeneratedWholeBody(body, 2), body, 17, tmp_path / "resume.pt", batch_size=1, lr=1e-3, resume=True,
                 augmented=False)
    assert len(more) == 1 and torch.load(checkpoint, weights_only=True)["step"] == 17


def test_exported_network_equals_the_float64_simulation_on_the_body_path(binaryhpe_smoke):
    """The body encoder, PositionNet, BoxNet (binary deconvs and linears) and the body RotationNet's shape and
    camera come out of onnxruntime as the float64 torch simulation computes them, within 1e-4. (Hand and face
    outputs see crops whose float32 sampling positions differ in the 5th digit; one sign that flips near zero
    inside a binary encoder then changes them, so they are compared in test_binary_runtime / cascade tests.)"""
    import onnxruntime

    from core.bodymodel.library import load_body
    from training.binaryhpe import OUTPUTS
    from training.binaryhpe_data import GeneratedWholeBody
    from training.binaryhpe_train import load_checkpoint

    model, _ = load_checkpoint(binaryhpe_smoke["checkpoint"])
    image = GeneratedWholeBody(load_body("open", "smplx"), 1, seed=9)[0]["image"][None]
    session = onnxruntime.InferenceSession(str(binaryhpe_smoke["weights"]), providers=["CPUExecutionProvider"])
    found = dict(zip(OUTPUTS, session.run(list(OUTPUTS), {"image": image}), strict=True))
    with torch.no_grad():
        expected = copy.deepcopy(model).double()(torch.tensor(image, dtype=torch.float64))
    for name in ("joints", "boxes", "betas"):
        scale = max(1.0, float(expected[name].abs().max()))
        assert np.abs(found[name] - expected[name].numpy()).max() <= 1e-4 * scale, name
    kinds = {node.op_type for node in __import__("onnx").load(str(binaryhpe_smoke["weights"])).graph.node}
    assert {"ConvInteger", "GridSample", "BitShift"} <= kinds


def test_weights_file_is_packed_and_untrained_files_are_refused(binaryhpe_smoke, tmp_path):
    from pocket_mocap.core import catalog
    from pocket_mocap.core.estimators.binaryhpe import NETWORK, weights_status
    from training.binaryhpe import Hand4Whole
    from training.binaryhpe_train import export_onnx

    choice = catalog.find(catalog.estimators("", str(binaryhpe_smoke["weights"])), "binaryhpe")
    details = choice.details
    assert choice.available and details["weights_installed"] and details["trained_steps"] == 16
    assert details["binary_packed_bytes"] * 20 <= details["binary_float32_bytes"]  # ≥ 20x smaller on disk
    float_file = (NETWORK["parameters_full"] + 42 * 513) * 4 + details["binary_float32_bytes"]
    assert details["weights_file_bytes"] < 0.3 * float_file  # 71 MB against 313 MB with float binary weights
    assert "17.22 M" in choice.parameters and "3.24 G OPs" in choice.parameters
    untrained = export_onnx(Hand4Whole("binaryhpe", 52), tmp_path / "random.onnx", 0, "")
    assert weights_status(str(untrained)) == (False, '"random.onnx" holds untrained weights; it will not be used.')
    assert not catalog.find(catalog.estimators(), "binaryhpe").available


@pytest.mark.skipif(not PHOTO.is_file(), reason="../shared/media is absent: no real people")
def test_cli_reconstructs_smplx_with_hands_and_face(binaryhpe_smoke, tmp_path):
    from test_cli import pocket_mocap

    weights = str(binaryhpe_smoke["weights"])
    common = ["--estimator", "binaryhpe", "--weights", weights, "--cache", str(tmp_path / "cache"), "--quiet"]
    done = pocket_mocap("reconstruct", str(PHOTO), "-o", str(tmp_path / "bh.npz"), *common)
    assert done.returncode == 0, done.stderr
    with np.load(tmp_path / "bh.npz") as result:
        assert str(result["estimator"]) == "binaryhpe" and str(result["surface_model_type"]) == "smplx"
        assert result["poses"].shape == (1, 165) and np.all(np.isfinite(result["poses"]))
        assert np.abs(result["poses"][0, 25 * 3:]).sum() > 0  # fingers are predicted
        assert result["expression"].shape == (1, 52) and result["trans"][0, 2] > 0
    done = pocket_mocap("reconstruct", str(PHOTO), "-o", str(tmp_path / "bh.fbx"), *common)
    fbx = (tmp_path / "bh.fbx").read_bytes()
    assert done.returncode == 0 and b"left_index1" in fbx and b"jawOpen" in fbx
    done = pocket_mocap("reconstruct", str(PHOTO), "-o", str(tmp_path / "x.npz"), *common, "--no-hands")
    assert done.returncode == 1 and "SMPL-X" in done.stderr
    info = json.loads(pocket_mocap("info", "--json", "--weights", weights).stdout)
    binary = next(item for item in info["estimators"] if item["name"] == "binaryhpe")
    assert binary["available"] and binary["details"]["parameters_paper"] == 17_216_336


def test_cli_without_binaryhpe_weights_says_how_to_get_them(tmp_path):
    from conftest import write_test_photo
    from test_cli import pocket_mocap

    photo = write_test_photo(tmp_path / "in.png")  # a readable input, so that the missing weights are what stops it
    done = pocket_mocap("reconstruct", str(photo), "-o", str(tmp_path / "x.npz"), "--estimator", "binaryhpe",
                        "--cache", str(tmp_path / "cache"), "--quiet")
    assert done.returncode == 1 and "no trained weights" in done.stderr
    info = json.loads(pocket_mocap("info", "--json").stdout)
    binary = next(item for item in info["estimators"] if item["name"] == "binaryhpe")
    assert not binary["available"] and not binary["details"]["weights_installed"]


@pytest.mark.skipif(not PHOTO.is_file(), reason="../shared/media is absent: no real people")
def test_cli_animates_a_video_with_expressions(binaryhpe_smoke, tmp_path):
    """A three-frame video (the photo, moved a little each frame): chunks, smoothing and the result carry the
    expression; the .blend has the face keys keyed per frame."""
    import cv2
    from test_cli import pocket_mocap

    photo = cv2.imread(str(PHOTO))
    height, width = photo.shape[:2]
    writer = cv2.VideoWriter(str(tmp_path / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 24.0, (width, height))
    for shift in (0, 4, 8):
        writer.write(np.roll(photo, shift, axis=1))
    writer.release()
    common = ["--estimator", "binaryhpe", "--weights", str(binaryhpe_smoke["weights"]), "--cache",
              str(tmp_path / "cache"), "--quiet"]
    done = pocket_mocap("reconstruct", str(tmp_path / "clip.avi"), "-o", str(tmp_path / "clip.npz"), *common)
    assert done.returncode == 0, done.stderr
    with np.load(tmp_path / "clip.npz") as result:
        assert result["poses"].shape == (3, 165) and result["expression"].shape == (3, 52)
        assert np.all(result["confidence"] > 0)
    done = pocket_mocap("reconstruct", str(tmp_path / "clip.avi"), "-o", str(tmp_path / "clip.fbx"), *common)
    assert done.returncode == 0 and b"jawOpen" in (tmp_path / "clip.fbx").read_bytes()
