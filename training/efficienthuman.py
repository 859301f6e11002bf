"""EfficientHuman: MGFENet (``big_7x7``) + 3DKEM + shape/twist/camera heads, as in
../shared/design/MODELS.md part A (paper: "Keypoints-guided Lightweight Network for Single-view 3D Human
Reconstruction"; structure read from the authors' code).

File order (as timm's): blocks, the model, a builder, default configs, registered entry points.

Paper-vs-code choices taken (MODELS.md A.11):
1. 96 keypoints = 29 HybrIK joints (24 SMPL + 5 leaves) + 67 markers: the IK needs the leaves.
2. Each axis is regressed by one linear unit (no SimCC bins), trained with RLE; sigma per axis.
3. The "mapping matrix" is the code's 7x7 conv 960->96 (one map per keypoint) + ScaleNorm + Linear 64->256.
4. GAU with U, V 512-d and Z 128-d (the code), not all s-d (the paper).
5. The shape feature is GAP(F) (960) + the mean of the 67 marker tokens (256) = 1216.
6. No activation between fc1 and fc2 (inherited from HybrIK).
7. Parameter convention: Table II's 10.9 M excludes the 1.08 M spectral filters, Table IV's MGFENet 4.66 M
   includes them; ``count_parameters`` reports both.
The global filter can run as ``torch.fft`` (training) or as an exact matmul-DFT (``use_matmul_dft``) so the
graph exports to ONNX with plain MatMul/Mul/Add.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

# -- blocks -------------------------------------------------------------------------------------------


class HardSwish(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * F.relu6(x + 3.0) / 6.0


def activation(name: str) -> nn.Module:
    return nn.ReLU(inplace=True) if name == "relu" else HardSwish()


class GlobalFilter(nn.Module):
    """``y = x + irfft2(K * rfft2(x))`` (orthonormal) with a learnable complex K of ``C x H x (W/2+1)``."""

    def __init__(self, channels: int, height: int, width: int):
        super().__init__()
        self.height, self.width = height, width
        self.weight = nn.Parameter(torch.randn(channels, height, width // 2 + 1, 2) * 0.02)
        self.use_matmul_dft = False
        self._dft_ready = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_matmul_dft:
            return x + self._filter_matmul(x)
        spectrum = torch.fft.rfft2(x.float(), dim=(2, 3), norm="ortho")
        filtered = spectrum * torch.view_as_complex(self.weight.contiguous())  # channels_last models too
        return x + torch.fft.irfft2(filtered, s=(self.height, self.width), dim=(2, 3), norm="ortho")

    def _dft_matrices(self, device, dtype) -> None:
        """Constant cos/sin matrices: rDFT along W (W -> W/2+1), DFT along H, and their inverses."""
        h, w, half = self.height, self.width, self.width // 2 + 1
        n_w, k_w = torch.arange(w, dtype=torch.float64), torch.arange(half, dtype=torch.float64)
        n_h = torch.arange(h, dtype=torch.float64)
        angle_w = 2 * math.pi * n_w[:, None] * k_w[None] / w  # (W, half)
        angle_h = 2 * math.pi * n_h[:, None] * n_h[None] / h  # (H, H)
        scale = 1.0 / (h * w)  # both orthonormal transforms, 1/sqrt(HW) each, applied once here
        # Hermitian weights of the inverse rDFT: bins 1..W/2-1 count twice (DC and Nyquist once).
        weights = torch.full((half,), 2.0, dtype=torch.float64)
        weights[0] = 1.0
        if w % 2 == 0:
            weights[-1] = 1.0
        buffers = {
            "cw": torch.cos(angle_w), "sw": -torch.sin(angle_w),  # forward along W
            "ch": torch.cos(angle_h), "sh": -torch.sin(angle_h),  # forward along H (and inverse: sin sign flips)
            "icw": (torch.cos(angle_w) * weights).T * scale, "isw": (-torch.sin(angle_w) * weights).T * scale,
        }
        for name, value in buffers.items():
            self.register_buffer(f"_{name}", value.to(device=device, dtype=dtype), persistent=False)
        self._dft_ready = True

    def _filter_matmul(self, x: torch.Tensor) -> torch.Tensor:
        if not self._dft_ready:
            self._dft_matrices(x.device, x.dtype)
        real_w, imag_w = x @ self._cw, x @ self._sw  # (B, C, H, half)
        # DFT along H: (ch + i sh) applied on the left.
        real = self._ch @ real_w - self._sh @ imag_w
        imag = self._ch @ imag_w + self._sh @ real_w
        k_real, k_imag = self.weight[..., 0], self.weight[..., 1]
        real, imag = real * k_real - imag * k_imag, real * k_imag + imag * k_real
        # Inverse DFT along H: (ch - i sh).
        real_h = self._ch @ real + self._sh @ imag
        imag_h = self._ch @ imag - self._sh @ real
        # Hermitian inverse along W: Re(sum X e^{+i...}) = real*cos - imag*sin.
        return real_h @ self._icw + imag_h @ self._isw


def conv_bn(in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1, act: str | None = None
            ) -> nn.Sequential:
    layers = [nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2, groups=groups, bias=False),
              nn.BatchNorm2d(out_ch)]
    if act:
        layers.append(activation(act))
    return nn.Sequential(*layers)


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        squeezed = channels // 4
        self.reduce = nn.Conv2d(channels, squeezed, 1)
        self.expand = nn.Conv2d(squeezed, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.expand(F.relu(self.reduce(x.mean((2, 3), keepdim=True))))
        return x * torch.clamp((scale + 1) / 2, 0, 1)


@dataclass(frozen=True)
class BlockSpec:
    in_ch: int
    mid: int
    out_ch: int
    stride: int
    se: bool
    act: str
    resolution: int  # input height = width


class MGFEBlock(nn.Module):
    """Global filter -> expand -> (concat cascade map) -> depthwise 7x7 -> SE -> project (+ residual)."""

    def __init__(self, spec: BlockSpec, cascade_channels: int, kernel: int = 7, pad_to: int = 1):
        super().__init__()
        self.spec = spec
        self.filter = GlobalFilter(spec.in_ch, spec.resolution, spec.resolution)
        self.expand = conv_bn(spec.in_ch, spec.mid, 1, act=spec.act)
        self.uses_cascade = spec.stride == 1
        depthwise = spec.mid + (cascade_channels if self.uses_cascade else 0)
        self.pad = (-depthwise) % pad_to  # zero channels so onnxruntime's depthwise fast path applies
        depthwise += self.pad
        self.depthwise = conv_bn(depthwise, depthwise, kernel, spec.stride, groups=depthwise, act=spec.act)
        self.se = SqueezeExcite(depthwise) if spec.se else nn.Identity()
        self.project = conv_bn(depthwise, spec.out_ch, 1)
        self.residual = spec.stride == 1 and spec.in_ch == spec.out_ch

    def forward(self, x: torch.Tensor, cascade: torch.Tensor) -> torch.Tensor:
        out = self.expand(self.filter(x))
        if self.uses_cascade:
            out = torch.cat([out, cascade], dim=1)
        if self.pad:
            out = F.pad(out, (0, 0, 0, 0, 0, self.pad))
        out = self.project(self.se(self.depthwise(out)))
        return x + out if self.residual else out


# (in, mid, out, stride, SE, act, input resolution): MODELS.md A.2's table.
MGFENET_BIG_7X7 = (
    BlockSpec(16, 16, 16, 1, False, "relu", 128), BlockSpec(16, 64, 24, 2, False, "relu", 128),
    BlockSpec(24, 72, 24, 1, False, "relu", 64), BlockSpec(24, 72, 40, 2, True, "relu", 64),
    BlockSpec(40, 120, 40, 1, True, "relu", 32), BlockSpec(40, 120, 40, 1, True, "relu", 32),
    BlockSpec(40, 240, 80, 2, False, "hswish", 32), BlockSpec(80, 200, 80, 1, False, "hswish", 16),
    BlockSpec(80, 184, 80, 1, False, "hswish", 16), BlockSpec(80, 184, 80, 1, False, "hswish", 16),
    BlockSpec(80, 480, 112, 1, True, "hswish", 16), BlockSpec(112, 672, 112, 1, True, "hswish", 16),
    BlockSpec(112, 672, 160, 1, True, "hswish", 16), BlockSpec(160, 672, 160, 2, True, "hswish", 16),
    BlockSpec(160, 960, 160, 1, True, "hswish", 8),
)


class MGFENet(nn.Module):
    """The backbone: a 256x256 input -> F (960 x 8 x 8). ``pad_to=8`` is the deployment variant.

    ``in_channels`` 3 is the RGB crop; 34 the domain-robust input (silhouette + 33 landmark heatmaps of
    core/estimators/silhouette_input.py). The pooled input feeds the cascade map, so its channels run through
    every block's cascade concat."""

    def __init__(self, specs: tuple[BlockSpec, ...] = MGFENET_BIG_7X7, pad_to: int = 1, in_channels: int = 3):
        super().__init__()
        self.in_channels = in_channels
        self.stem = conv_bn(in_channels, 16, 3, 2, act="hswish")
        cascade = in_channels
        blocks = []
        for spec in specs:
            if spec.stride == 2:
                cascade += spec.in_ch  # pooled concat of the cascade map and the block's input
            blocks.append(MGFEBlock(spec, cascade, pad_to=pad_to))
        self.blocks = nn.ModuleList(blocks)
        self.fuse = nn.Conv2d(cascade + specs[-1].out_ch, 960, 1, bias=False)
        self.out_channels = 960

    @staticmethod
    def _pool(x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, 3, 2, 1, count_include_pad=True)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        cascade = self._pool(image)
        x = self.stem(image)
        for block in self.blocks:
            if block.spec.stride == 2:
                cascade = self._pool(torch.cat([cascade, x], dim=1))
            x = block(x, cascade)
        return F.relu(self.fuse(torch.cat([cascade, x], dim=1)))


class ScaleNorm(nn.Module):
    """``g * x / max(|x| / sqrt(d), 1e-5)`` with one scalar g."""

    def __init__(self, dim: int):
        super().__init__()
        self.scale = dim ** -0.5
        self.g = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = torch.linalg.vector_norm(x, dim=-1, keepdim=True) * self.scale
        return x / norm.clamp(min=1e-5) * self.g


class GatedAttentionUnit(nn.Module):
    """One GAU block (RTMCC): d = 256, e = 512, s = 128, SiLU, squared-ReLU attention, residual scale."""

    def __init__(self, dim: int = 256, expansion: int = 512, key: int = 128):
        super().__init__()
        self.expansion, self.key = expansion, key
        self.norm = ScaleNorm(dim)
        self.uv = nn.Linear(dim, 2 * expansion + key, bias=False)
        self.gamma = nn.Parameter(torch.rand(2, key))
        self.beta = nn.Parameter(torch.rand(2, key))
        self.out = nn.Linear(expansion, dim, bias=False)
        self.residual_scale = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u, v, z = torch.split(F.silu(self.uv(self.norm(x))), [self.expansion, self.expansion, self.key], dim=-1)
        q, k = z * self.gamma[0] + self.beta[0], z * self.gamma[1] + self.beta[1]
        attention = torch.square(F.relu(q @ k.transpose(-1, -2) / math.sqrt(self.key)))
        return x * self.residual_scale + self.out(u * (attention @ v))


class KeypointModule(nn.Module):
    """3DKEM: one 7x7 map per keypoint -> 64-d tokens -> 256-d -> GAU -> u, v, d and their sigmas."""

    def __init__(self, in_channels: int = 960, keypoints: int = 96, tokens: int = 64, dim: int = 256):
        super().__init__()
        self.maps = nn.Conv2d(in_channels, keypoints, 7, padding=3)
        self.norm = ScaleNorm(tokens)
        self.lift = nn.Linear(tokens, dim, bias=False)
        self.gau = GatedAttentionUnit(dim)
        self.coords = nn.ModuleList(nn.Linear(dim, 1, bias=False) for _ in range(3))
        self.sigmas = nn.ModuleList(nn.Linear(dim, 1, bias=False) for _ in range(3))
        for head in self.coords:  # start near the crop centre, so that RLE's residuals start small
            nn.init.normal_(head.weight, std=1e-3)
        for head in self.sigmas:
            nn.init.zeros_(head.weight)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``features: (B, 960, 8, 8)`` -> ``uvd (B, K, 3)``, ``sigma (B, K, 3)``, ``tokens (B, K, 256)``."""
        tokens = self.gau(self.lift(self.norm(self.maps(features).flatten(2))))
        uvd = torch.cat([head(tokens) for head in self.coords], dim=-1)
        sigma = torch.sigmoid(torch.cat([head(tokens) for head in self.sigmas], dim=-1)) + 1e-9
        return uvd, sigma, tokens


@dataclass(frozen=True)
class EfficientHumanOutput:
    uvd: torch.Tensor  # (B, 96, 3): u, v in crop units (-0.5..0.5), d in units of 2.2 m, root-relative
    sigma: torch.Tensor  # (B, 96, 3)
    betas: torch.Tensor  # (B, 10)
    twist: torch.Tensor  # (B, 23, 2): cos, sin (not normalised)
    camera: torch.Tensor  # (B, 3): s, tx, ty


class EfficientHuman(nn.Module):
    """MGFENet + 3DKEM + the shape/twist/camera MLP. Keypoints: 29 joints (SMPL + leaves), then 67 markers."""

    JOINTS, MARKERS = 29, 67

    def __init__(self, pad_to: int = 1, mean_betas: torch.Tensor | None = None, in_channels: int = 3):
        super().__init__()
        self.in_channels = in_channels
        self.backbone = MGFENet(pad_to=pad_to, in_channels=in_channels)
        self.keypoints = KeypointModule(self.backbone.out_channels, self.JOINTS + self.MARKERS)
        self.fc1 = nn.Linear(960 + 256, 1024)
        self.fc2 = nn.Linear(1024, 1024)
        self.dropout = nn.Dropout(0.5)
        self.shape = nn.Linear(1024, 10)
        self.twist = nn.Linear(1024, 46)
        self.camera = nn.Linear(1024, 3)
        self.register_buffer("mean_betas", torch.zeros(10) if mean_betas is None else mean_betas)
        self.register_buffer("camera_offset", torch.tensor([0.9, 0.0, 0.0]))
        for layer in (self.fc1, self.fc2):
            nn.init.xavier_uniform_(layer.weight, gain=0.01)

    def forward(self, image: torch.Tensor) -> EfficientHumanOutput:
        """``image: (B, C, 256, 256)``: C = 3, RGB normalised as ``DEFAULT_CFGS[...]['mean'/'std']``; C = 34, the
        silhouette and landmark heatmaps in [0, 1] (``INPUTS``)."""
        features = self.backbone(image)
        uvd, sigma, tokens = self.keypoints(features)
        pooled = torch.cat([features.mean((2, 3)), tokens[:, self.JOINTS:].mean(1)], dim=1)
        hidden = self.dropout(self.fc2(self.dropout(self.fc1(pooled))))
        return EfficientHumanOutput(uvd, sigma, self.shape(hidden) + self.mean_betas,
                                    self.twist(hidden).view(-1, 23, 2), self.camera(hidden) + self.camera_offset)

    def use_matmul_dft(self, enabled: bool = True) -> EfficientHuman:
        for module in self.modules():
            if isinstance(module, GlobalFilter):
                module.use_matmul_dft = enabled
        return self


# -- builder, configs, entry points -------------------------------------------------------------------

# Input kinds: ONNX metadata ``pocket_mocap.input`` <-> channels of the network's stem.
INPUTS = {"rgb": 3, "silhouette": 34}
STEM_WEIGHT = "backbone.stem.0.weight"


def input_kind(in_channels: int) -> str:
    """``3 -> "rgb"``, ``34 -> "silhouette"``; any other count raises ValueError."""
    for kind, channels in INPUTS.items():
        if channels == in_channels:
            return kind
    raise ValueError(f"EfficientHuman takes {' or '.join(map(str, INPUTS.values()))} input channels, "
                     f"not {in_channels}.")


DEFAULT_CFGS = {
    "efficienthuman": {"input_size": (3, 256, 256), "mean": (0.406, 0.457, 0.480), "std": (0.225, 0.224, 0.229),
                       "crop_scale": 1.25, "focal": 1000.0, "depth_factor_m": 2.2, "keypoints": 96,
                       "weights": "efficienthuman.onnx"},
    "efficienthuman_deploy": {"input_size": (3, 256, 256), "mean": (0.406, 0.457, 0.480),
                              "std": (0.225, 0.224, 0.229), "crop_scale": 1.25, "focal": 1000.0,
                              "depth_factor_m": 2.2, "keypoints": 96, "weights": "efficienthuman_deploy.onnx"},
}


def build(variant: str, state_dict: dict | None = None, in_channels: int | None = None) -> EfficientHuman:
    """The only place weights are loaded: ``state_dict`` from a checkpoint (see ``training/checkpoints.py``).
    ``in_channels`` defaults to the stem's of ``state_dict``, else 3 (RGB)."""
    if in_channels is None:
        in_channels = int(state_dict[STEM_WEIGHT].shape[1]) if state_dict is not None else 3
    input_kind(in_channels)  # refuse unknown counts early, with a sentence
    model = EfficientHuman(pad_to=8 if variant.endswith("_deploy") else 1, in_channels=in_channels)
    if state_dict is not None:
        model.load_state_dict(state_dict)
    return model


def efficienthuman(state_dict: dict | None = None, in_channels: int | None = None) -> EfficientHuman:
    return build("efficienthuman", state_dict, in_channels)


def efficienthuman_deploy(state_dict: dict | None = None, in_channels: int | None = None) -> EfficientHuman:
    """Depthwise channel counts padded to multiples of 8 (zero channels): the same function for given weights."""
    return build("efficienthuman_deploy", state_dict, in_channels)
