"""Reference networks for benchmarks: MobileNetV3-Large (Howard et al., 2019), defined here because
torchvision has no CPU build to install. Only its speed is used, never its (random) weights."""

from __future__ import annotations

import torch
from torch import nn

from .efficienthuman import SqueezeExcite, activation, conv_bn


def make_divisible(value: float, divisor: int = 8) -> int:
    return max(divisor, int(value + divisor / 2) // divisor * divisor)


class InvertedResidual(nn.Module):
    def __init__(self, in_ch: int, kernel: int, mid: int, out_ch: int, se: bool, act: str, stride: int):
        super().__init__()
        layers = [] if mid == in_ch else [conv_bn(in_ch, mid, 1, act=act)]
        layers.append(conv_bn(mid, mid, kernel, stride, groups=mid, act=act))
        if se:
            layers.append(SqueezeExcite(mid))
        layers.append(conv_bn(mid, out_ch, 1))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) if self.residual else self.body(x)


# (in, kernel, mid, out, SE, act, stride): the paper's Table 1.
MOBILENET_V3_LARGE = (
    (16, 3, 16, 16, False, "relu", 1), (16, 3, 64, 24, False, "relu", 2), (24, 3, 72, 24, False, "relu", 1),
    (24, 5, 72, 40, True, "relu", 2), (40, 5, 120, 40, True, "relu", 1), (40, 5, 120, 40, True, "relu", 1),
    (40, 3, 240, 80, False, "hswish", 2), (80, 3, 200, 80, False, "hswish", 1),
    (80, 3, 184, 80, False, "hswish", 1), (80, 3, 184, 80, False, "hswish", 1),
    (80, 3, 480, 112, True, "hswish", 1), (112, 3, 672, 112, True, "hswish", 1),
    (112, 5, 672, 160, True, "hswish", 2), (160, 5, 960, 160, True, "hswish", 1),
    (160, 5, 960, 160, True, "hswish", 1),
)


class MobileNetV3Large(nn.Module):
    def __init__(self, classes: int = 1000):
        super().__init__()
        self.features = nn.Sequential(conv_bn(3, 16, 3, 2, act="hswish"),
                                      *(InvertedResidual(*row) for row in MOBILENET_V3_LARGE),
                                      conv_bn(160, 960, 1, act="hswish"))
        self.classifier = nn.Sequential(nn.Linear(960, 1280), activation("hswish"), nn.Linear(1280, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).mean((2, 3)))
