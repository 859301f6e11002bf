"""BinaryHPE's cascade pieces, its training data and losses, and the packed ONNX export of binary layers."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from core.bodymodel.library import load_body  # noqa: E402
from core.estimators.binaryhpe import NETWORK  # noqa: E402
from core.rotations import axis_angle_to_matrix as numpy_rotation  # noqa: E402
from training.binary_runtime import encoder_onnx  # noqa: E402
from training.binaryhpe import (  # noqa: E402
    BinaryConvTranspose2d,
    BinaryLinear,
    Hand4Whole,
    ResNet,
    count_ops,
    count_parameters,
    crop_patches,
    mirror_rotations,
    restore_boxes,
    rotation_6d,
)
from training.binaryhpe_data import GeneratedWholeBody, augment, project  # noqa: E402
from training.binaryhpe_train import TorchBody, axis_angle_to_matrix, matrix_to_axis_angle  # noqa: E402


@pytest.fixture(scope="module")
def body():
    return load_body("open", "smplx")


def run_onnx(module: torch.nn.Module, inputs: torch.Tensor, path) -> np.ndarray:
    import onnxruntime

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (inputs,), str(path), opset_version=17, input_names=["x"], dynamo=False)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": inputs.numpy()})[0]


def test_catalog_figures_are_the_measured_counts():
    params, ops = count_parameters(Hand4Whole("binaryhpe")), count_ops(Hand4Whole("binaryhpe"))
    assert (NETWORK["parameters_full"], NETWORK["parameters_binary"]) == (params["full"], params["binary"])
    assert (NETWORK["macs_full"], NETWORK["macs_binary"]) == (ops["full"], ops["binary"])
    assert NETWORK["parameters_paper"] == round(params["paper"]) and NETWORK["ops_paper"] == round(ops["paper"])


def test_expression_count_and_silhouette_input_are_options():
    model = Hand4Whole("binaryhpe", expressions=52, in_channels=34)
    assert model.face.expression.out_features == 52
    assert all(e.stem[0].in_channels == 34 for e in (model.body_encoder, model.hand_encoder, model.face_encoder))
    extra = 42 * 513 + 31 * 64 * 7 * 7 * 3  # 42 more expression outputs, 31 more input channels in three stems
    assert count_parameters(model)["paper"] == NETWORK["parameters_paper"] + extra


def test_rotation_6d_gives_rotations_and_the_mirror_negates_y_and_z():
    matrices = rotation_6d(torch.randn(50, 6, dtype=torch.float64))
    eye = torch.eye(3, dtype=torch.float64).expand(50, 3, 3)
    assert torch.allclose(matrices.transpose(1, 2) @ matrices, eye, atol=1e-10)
    assert torch.allclose(torch.linalg.det(matrices), torch.ones(50, dtype=torch.float64))
    axis_angle = matrix_to_axis_angle(matrices)
    mirrored = matrix_to_axis_angle(mirror_rotations(matrices))
    assert torch.allclose(mirrored, axis_angle * torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64), atol=1e-6)
    assert torch.allclose(axis_angle_to_matrix(axis_angle), matrices, atol=1e-6)


def test_crops_take_the_box_and_restore_follows_hand4whole():
    image = torch.arange(2 * 16 * 12, dtype=torch.float32).reshape(1, 2, 16, 12)
    patch = crop_patches(image, torch.tensor([[4.0, 2.0, 8.0, 6.0]]), 4)  # a box on the pixel grid, 1 px a sample
    assert torch.allclose(patch, image[:, :, 2:6, 4:8])
    boxes = restore_boxes(torch.tensor([[[3.0, 4.0], [3.0, 4.0], [3.0, 4.0]]]), torch.tensor([[[1.0, 0.5]] * 3]))
    side = torch.tensor([2.0, 2.0, 1.5]) * 64  # longer side 1 unit = 32 body px = 64 crop px, x2.0 / x1.5
    assert torch.allclose(boxes[0, :, 2] - boxes[0, :, 0], side)
    assert torch.allclose(boxes[0, :, 3] - boxes[0, :, 1], side)
    assert torch.allclose((boxes[0, :, :2] + boxes[0, :, 2:]) / 2, torch.tensor([192.0, 256.0]).expand(3, 2))


def test_torch_body_equals_the_numpy_model(body):
    sample = GeneratedWholeBody(body, 1)[0]
    rotations = torch.tensor(numpy_rotation(sample["pose"].astype(np.float64)), dtype=torch.float32)[None]
    points = TorchBody(body)(rotations, torch.tensor(sample["betas"])[None], torch.tensor(sample["expression"])[None])
    assert np.abs(points[0].numpy() + sample["trans"] - sample["points_3d"]).max() < 1e-5


def test_generated_samples_and_their_augmentation_are_self_consistent(body):
    source = GeneratedWholeBody(body, 3, seed=4)
    torch_body = TorchBody(body)
    for index in range(3):
        sample = augment(source[index], np.random.default_rng(index))
        assert sample["image"].shape == (3, 512, 384) and 0 <= sample["image"].min() <= sample["image"].max() <= 1
        rotations = torch.tensor(numpy_rotation(sample["pose"].astype(np.float64)), dtype=torch.float32)[None]
        points = torch_body(rotations, torch.tensor(sample["betas"])[None], torch.tensor(sample["expression"])[None])
        assert np.abs(points[0].numpy() + sample["trans"] - sample["points_3d"]).max() < 1e-4
        # a zoom is approximated by a rigid move in depth: under a pixel at 40 m
        assert np.abs(project(sample["points_3d"].astype(np.float64)) - sample["points_2d"]).max() < 1.5
        hand = sample["points_2d"][[20, 25, 30]]
        x0, y0, x1, y1 = sample["boxes"][0]
        assert np.all((hand >= [x0 - 1, y0 - 1]) & (hand <= [x1 + 1, y1 + 1]))
    assert np.array_equal(source[1]["image"], GeneratedWholeBody(body, 3, seed=4)[1]["image"])


def test_exported_binary_convolutions_equal_the_tested_integer_graph(tmp_path):
    """The whole-model export emits binary convolutions exactly as ``encoder_onnx`` does (whose parity with
    the float64 simulation tests/training/test_binary_runtime.py checks), from packed bits."""
    import onnx
    import onnxruntime

    torch.manual_seed(3)
    encoder = ResNet(18, binary=True).eval()
    image = torch.randn(1, 3, 64, 48)
    exported = run_onnx(encoder, image, tmp_path / "encoder.onnx")
    builder = onnxruntime.InferenceSession(encoder_onnx(encoder, (1, 3, 64, 48), True).SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    assert np.array_equal(exported, builder.run(None, {"image": image.numpy()})[0])
    graph = onnx.load(str(tmp_path / "encoder.onnx"))
    kinds = {node.op_type for node in graph.graph.node}
    assert "ConvInteger" in kinds and "BitShift" in kinds
    float_bytes = sum(m.weight.numel() * 4 for m in encoder.modules() if getattr(m, "one_bit", False))
    assert (tmp_path / "encoder.onnx").stat().st_size * 20 < float_bytes + 20 * 5e6  # packed: bits, not floats


@pytest.mark.parametrize("layer", ["deconv", "linear"])
def test_exported_binary_deconv_and_linear_equal_the_float64_simulation(layer, tmp_path):
    torch.manual_seed(5)
    module = BinaryConvTranspose2d(64, 32, 4, 2, 1, bias=False) if layer == "deconv" else BinaryLinear(96, 40)
    inputs = torch.randn(1, 64, 6, 5) if layer == "deconv" else torch.randn(3, 96)
    found = run_onnx(module, inputs, tmp_path / "layer.onnx")
    with torch.no_grad():
        expected = copy.deepcopy(module).double()(inputs.double()).numpy()
    assert np.abs(found - expected).max() <= 1e-4 * max(1.0, np.abs(expected).max())
