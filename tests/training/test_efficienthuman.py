"""EfficientHuman against the paper's counts, and the matmul-DFT global filter against torch.fft."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from training.complexity import count_macs, count_parameters  # noqa: E402
from training.efficienthuman import GlobalFilter, efficienthuman, efficienthuman_deploy  # noqa: E402
from training.export import export_onnx, onnx_difference, pad_state_dict  # noqa: E402


@pytest.fixture(scope="module")
def model():
    return efficienthuman().eval()


def within(value: float, paper: float, tolerance: float = 0.02) -> bool:
    return abs(value - paper) <= tolerance * paper


def test_counts_match_the_paper(model):
    image = torch.randn(1, 3, 256, 256)
    backbone = count_parameters(model.backbone)
    whole = count_parameters(model)
    assert within(backbone["total"] / 1e6, 4.66), backbone  # Table IV: MGFENet, spectral filters included
    assert within(whole["without_spectral"] / 1e6, 10.9), whole  # Table II: thop convention
    assert within(whole["total"] / 1e6, 11.98), whole
    assert within(count_macs(model.backbone, image) / 1e9, 0.46)  # Table IV
    assert within(count_macs(model, image) / 1e9, 0.80)  # Table II


def test_outputs_have_the_documented_shapes(model):
    with torch.no_grad():
        out = model(torch.randn(2, 3, 256, 256))
    assert out.uvd.shape == (2, 96, 3) and out.sigma.shape == (2, 96, 3)
    assert out.betas.shape == (2, 10) and out.twist.shape == (2, 23, 2) and out.camera.shape == (2, 3)
    assert torch.all(out.sigma > 0) and torch.all(out.sigma <= 1 + 1e-6)


@pytest.mark.parametrize("height, width", [(128, 128), (8, 8), (16, 9)])
def test_matmul_dft_equals_torch_fft(height, width):
    torch.manual_seed(0)
    layer = GlobalFilter(5, height, width)
    x = torch.randn(2, 5, height, width)
    reference = layer(x)
    layer.use_matmul_dft = True
    assert (layer(x) - reference).abs().max() <= 1e-5


def test_deployment_variant_computes_the_same_function(model):
    deploy = efficienthuman_deploy()
    deploy.load_state_dict(pad_state_dict(model.state_dict(), deploy.state_dict()))
    deploy.eval()
    image = torch.randn(1, 3, 256, 256)
    with torch.no_grad():
        a, b = model(image), deploy(image)
    for x, y in ((a.uvd, b.uvd), (a.betas, b.betas), (a.sigma, b.sigma)):  # equal up to float32 rounding
        assert (x - y).abs().max() <= 1e-6 * max(1.0, x.abs().max().item()) * 10


@pytest.mark.parametrize("deploy", [False, True], ids=["faithful", "deployment"])
def test_onnx_equals_torch(model, tmp_path, deploy):
    pytest.importorskip("onnx")
    subject = model
    if deploy:
        subject = efficienthuman_deploy()
        subject.load_state_dict(pad_state_dict(model.state_dict(), subject.state_dict()))
    path = export_onnx(subject.eval(), tmp_path / "efficienthuman.onnx")
    import onnx

    graph = onnx.load(str(path)).graph
    assert not {node.op_type for node in graph.node} & {"DFT", "STFT"}, "plain ops only"
    differences = onnx_difference(subject, path, torch.randn(1, 3, 256, 256))
    assert max(differences.values()) <= 1e-4, differences
    subject.use_matmul_dft(False)
