"""Two lifters with one interface: ``(B, 201)`` features (core/lifting/features.py) -> ``(B, 129, 3)`` points: the 33
landmark points hip-centred, then the 96 keypoints pelvis-relative (metres, camera axes).

* :class:`ResidualLifter`: a residual MLP (Martinez et al.'s simple baseline, wider).
* :class:`TokenLifter`: the paper's 3D keypoint module (MODELS.md A.3): one token per landmark plus a camera token,
  gated attention units (GAU, Hua et al.) mixing them, and one learned query token per output point read out by a
  GAU cross-step. Each point is classified per axis over ``BINS`` bins (SimCC-style coordinate classification, the
  coordinate the soft-argmax over them) with a sigma per axis, trained with the RLE loss (training/losses.py).
* :class:`RegressingTokenLifter`: the same tokens with a plain regression head trained with L1 (the first cut,
  kept to measure what classification and RLE add).

A model with ``uses_rle`` also has ``points_and_sigma(features)``; ``forward`` returns the points alone, which
is all that is exported.
"""

from __future__ import annotations

import torch
from torch import nn

from core.lifting.features import FEATURES, LANDMARKS
from core.lifting.temporal import DILATIONS as TEMPORAL_DILATIONS
from core.lifting.temporal import WINDOW as TEMPORAL_WINDOW

OUTPUTS = LANDMARKS + 96


class ResidualLifter(nn.Module):
    uses_rle = False

    def __init__(self, width: int = 768, blocks: int = 2, dropout: float = 0.05):
        super().__init__()
        self.stem = nn.Sequential(nn.Linear(FEATURES, width), nn.LayerNorm(width), nn.GELU())
        self.blocks = nn.ModuleList(nn.Sequential(nn.Linear(width, width), nn.LayerNorm(width), nn.GELU(),
                                                  nn.Dropout(dropout), nn.Linear(width, width), nn.LayerNorm(width),
                                                  nn.GELU()) for _ in range(blocks))
        self.head = nn.Linear(width, OUTPUTS * 3)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        hidden = self.stem(features)
        for block in self.blocks:
            hidden = hidden + block(hidden)
        return self.head(hidden).view(-1, OUTPUTS, 3)


class GatedAttentionUnit(nn.Module):
    """GAU: ``u * (softmax-free squared-ReLU attention of z over the keys) v``, one head, with a residual."""

    def __init__(self, dim: int, expansion: int = 2, key_dim: int = 64):
        super().__init__()
        hidden = dim * expansion
        self.norm = nn.LayerNorm(dim)
        self.uv = nn.Linear(dim, 2 * hidden)
        self.z = nn.Linear(dim, key_dim)
        self.gamma = nn.Parameter(torch.ones(2, key_dim) * 0.02 + torch.tensor([[1.0], [1.0]]))
        self.beta = nn.Parameter(torch.zeros(2, key_dim))
        self.out = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor, memory: torch.Tensor | None = None) -> torch.Tensor:
        source = x if memory is None else memory
        normed, source_normed = self.norm(x), self.norm(source)
        u, _ = nn.functional.silu(self.uv(normed)).chunk(2, dim=-1)
        _, v = nn.functional.silu(self.uv(source_normed)).chunk(2, dim=-1)
        query = self.z(normed) * self.gamma[0] + self.beta[0]
        key = self.z(source_normed) * self.gamma[1] + self.beta[1]
        attention = torch.relu(query @ key.transpose(1, 2) / key.shape[-1] ** 0.5) ** 2 / source.shape[1]
        return x + self.out(u * (attention @ v))


BINS = 128
REACH = 1.3  # metres: the bins cover -REACH..REACH on each axis (a body's points lie within about 1.1 m of its hips)


class RegressingTokenLifter(nn.Module):
    uses_rle = False

    def __init__(self, dim: int = 160, layers: int = 4):
        super().__init__()
        self.landmark_embed = nn.Linear(6, dim)
        self.camera_embed = nn.Linear(3, dim)
        self.position = nn.Parameter(torch.randn(LANDMARKS + 1, dim) * 0.02)
        self.encoder = nn.ModuleList(GatedAttentionUnit(dim) for _ in range(layers))
        self.queries = nn.Parameter(torch.randn(OUTPUTS, dim) * 0.02)
        self.readout = nn.ModuleList(GatedAttentionUnit(dim) for _ in range(2))
        self.head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 3))

    def tokens(self, features: torch.Tensor) -> torch.Tensor:
        batch = features.shape[0]
        n = LANDMARKS
        relative = features[:, :2 * n].view(batch, n, 2)
        visibility = features[:, 2 * n:3 * n].view(batch, n, 1)
        world = features[:, 3 * n:6 * n].view(batch, n, 3)
        landmarks = self.landmark_embed(torch.cat([relative, visibility, world], dim=-1))
        camera = self.camera_embed(features[:, 6 * n:]).unsqueeze(1)
        return torch.cat([landmarks, camera], dim=1) + self.position

    def read(self, features: torch.Tensor) -> torch.Tensor:
        """The output queries after the cross-steps: ``(B, OUTPUTS, dim)``."""
        memory = self.tokens(features)
        for layer in self.encoder:
            memory = layer(memory)
        queries = self.queries.expand(features.shape[0], -1, -1)
        for layer in self.readout:
            queries = layer(queries, memory)
        return queries

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(self.read(features))


class TokenLifter(RegressingTokenLifter):
    uses_rle = True

    def __init__(self, dim: int = 160, layers: int = 4, bins: int = BINS):
        super().__init__(dim, layers)
        self.bins = bins
        self.head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 3 * bins))
        self.sigma = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 3))
        self.register_buffer("centres", torch.linspace(-REACH, REACH, bins))
        for layer in (self.head[1], self.sigma[1]):
            nn.init.xavier_uniform_(layer.weight, gain=0.01)
            nn.init.zeros_(layer.bias)

    def points_and_sigma(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        queries = self.read(features)
        logits = self.head(queries).view(features.shape[0], OUTPUTS, 3, self.bins)
        points = torch.softmax(logits, dim=-1) @ self.centres
        return points, torch.sigmoid(self.sigma(queries)) + 1e-9

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.points_and_sigma(features)[0]


ARCHITECTURES = {"residual": ResidualLifter, "tokens": TokenLifter, "tokens-regress": RegressingTokenLifter}


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


class TemporalLifter(nn.Module):
    """A window of frames -> the centre frame's points and its four foot contacts (logits).

    VideoPose3D's temporal convolutions (Pavllo et al.): per-frame features -> width, then residual blocks of a
    kernel-3 convolution at dilations 1, 3, 9 (27 frames seen) and a 1x1 convolution. ``forward(x)`` (training)
    takes ``(B, 27, F + 1)`` windows and runs the blocks as stride-3 convolutions, which compute only what the
    centre needs; ``clip(x)`` (export, run time) takes ``(B, T + 26, F + 1)`` and runs them dilated, one output per
    frame, with the same weights. The centre frame's own features also reach the head directly."""

    def __init__(self, width: int = 384, dropout: float = 0.1):
        super().__init__()
        inputs = FEATURES + 1
        self.expand = nn.Conv1d(inputs, width, 1)
        self.temporal = nn.ModuleList(nn.Conv1d(width, width, 3) for _ in TEMPORAL_DILATIONS)
        self.mix = nn.ModuleList(nn.Conv1d(width, width, 1) for _ in TEMPORAL_DILATIONS)
        self.direct = nn.Linear(inputs, width)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Sequential(nn.LayerNorm(width), nn.GELU(), nn.Linear(width, OUTPUTS * 3 + 4))

    def _run(self, x: torch.Tensor, dilated: bool) -> torch.Tensor:
        centre = x[:, TEMPORAL_WINDOW // 2: x.shape[1] - TEMPORAL_WINDOW // 2]  # (B, T, F + 1)
        hidden = nn.functional.gelu(self.expand(x.transpose(1, 2)))
        for dilation, temporal, mix in zip(TEMPORAL_DILATIONS, self.temporal, self.mix, strict=True):
            if dilated:
                step = nn.functional.conv1d(hidden, temporal.weight, temporal.bias, dilation=dilation)
                skip = hidden[:, :, dilation: hidden.shape[2] - dilation]
            else:
                step = nn.functional.conv1d(hidden, temporal.weight, temporal.bias, stride=3)
                skip = hidden[:, :, 1::3]
            hidden = skip + mix(self.drop(nn.functional.gelu(step)))
        out = self.head(hidden.transpose(1, 2) + self.direct(centre))  # (B, T, OUTPUTS * 3 + 4)
        return out

    def forward(self, windows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self._run(windows, dilated=False)[:, 0]
        return out[:, :OUTPUTS * 3].view(-1, OUTPUTS, 3), out[:, OUTPUTS * 3:]

    def clip(self, padded: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self._run(padded, dilated=True)
        return out[..., :OUTPUTS * 3].reshape(out.shape[0], out.shape[1], OUTPUTS, 3), out[..., OUTPUTS * 3:]
