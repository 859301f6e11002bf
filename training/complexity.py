"""Parameter and multiply-accumulate counts, thop-style: convolutions and linear layers (and the GAU's
two attention products) count, an affine BatchNorm counts 2 per output element (as thop does), and the
FFTs of the global filters do not count (no tool counts them). Parameters owned directly by custom modules
(the spectral filters) are reported apart, as the paper's Table II omits them and Table IV includes them."""

from __future__ import annotations

import torch
from torch import nn


def count_parameters(model: nn.Module) -> dict[str, int]:
    spectral = sum(m.weight.numel() for m in model.modules() if type(m).__name__ == "GlobalFilter")
    total = sum(p.numel() for p in model.parameters())
    return {"total": total, "spectral": spectral, "without_spectral": total - spectral}


def count_macs(model: nn.Module, example: torch.Tensor) -> int:
    """MACs of one forward pass of ``example`` (batch 1), from hooks on Conv2d, Linear and the GAU."""
    macs = [0]
    hooks = []

    def conv(module: nn.Conv2d, _inputs, output) -> None:
        per_output = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
        macs[0] += output.numel() * per_output

    def linear(module: nn.Linear, _inputs, output) -> None:
        macs[0] += output.numel() * module.in_features

    def batch_norm(_module, _inputs, output) -> None:
        macs[0] += 2 * output.numel()

    def attention(module, inputs, _output) -> None:  # Q K^T and A V
        tokens = inputs[0].shape[-2]
        macs[0] += tokens * tokens * (module.key + module.expansion)

    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            hooks.append(module.register_forward_hook(conv))
        elif isinstance(module, nn.Linear):
            hooks.append(module.register_forward_hook(linear))
        elif isinstance(module, nn.BatchNorm2d):
            hooks.append(module.register_forward_hook(batch_norm))
        elif type(module).__name__ == "GatedAttentionUnit":
            hooks.append(module.register_forward_hook(attention))
    with torch.no_grad():
        model.eval()(example)
    for hook in hooks:
        hook.remove()
    return macs[0]
