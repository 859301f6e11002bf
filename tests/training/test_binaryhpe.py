"""BinaryHPE / Hand4Whole against the paper's parameter counts, and the binary layers' behaviour."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from training.binaryhpe import (  # noqa: E402
    BinaryConv2d,
    Hand4Whole,
    binarize_activation,
    count_ops,
    count_parameters,
)


@pytest.mark.parametrize("variant, paper", [("hand4whole", 77.84), ("bnn", 21.61), ("binaryhpe", 17.22)])
def test_parameter_counts_match_the_paper(variant, paper):
    params = count_parameters(Hand4Whole(variant))["paper"] / 1e6  # Params = P_full + P_binary / 32
    assert abs(params - paper) <= 0.01 * paper, params


def test_ops_are_counted_under_the_stated_convention():
    float_ops = count_ops(Hand4Whole("hand4whole"))
    binary_ops = count_ops(Hand4Whole("binaryhpe"))
    assert float_ops["binary"] == 0 and 17.0e9 < float_ops["full"] < 18.5e9  # B.7: 17.85 GMAC
    assert 2.9e9 < binary_ops["paper"] < 3.6e9  # B.7: 3.24 G with deconv 3 full precision (paper: 2.50 G)


def test_binary_conv_uses_plus_minus_one_and_the_surrogate_gradient():
    conv = BinaryConv2d(4, 3, 3, padding=1, bias=False)
    x = torch.randn(1, 4, 5, 5, requires_grad=True)
    out = conv(x)
    alpha = conv.weight.abs().mean(dim=(1, 2, 3))
    signs = torch.where(x >= 0, 1.0, -1.0)
    weights = torch.where(conv.weight >= 0, 1.0, -1.0) * alpha[:, None, None, None]
    assert torch.allclose(out, torch.nn.functional.conv2d(signs, weights, padding=1), atol=1e-5)
    out.sum().backward()
    assert conv.weight.grad is not None and x.grad.abs().sum() > 0
    a = torch.tensor([-1.5, -0.5, 0.0, 0.5, 1.5], requires_grad=True)
    binarize_activation(a).sum().backward()
    assert torch.allclose(a.grad, torch.tensor([0.0, 1.0, 2.0, 1.0, 0.0]))
