"""Two lifters with one interface: ``(B, 201)`` features (core/lifting/features.py) -> ``(B, 129, 3)`` points: the 33
landmark points hip-centred, then the 96 keypoints pelvis-relative (metres, camera axes).

* :class:`ResidualLifter`: a residual MLP (Martinez et al.'s simple baseline, wider).
* :class:`TokenLifter`: the paper's 3D keypoint module in spirit (MODELS.md A.3): one token per landmark plus a
  camera token, gated attention units (GAU, Hua et al.) mixing them, and one learned query token per output point
  read out by a GAU cross-step. It regresses coordinates directly (L1) instead of the paper's coordinate
  classification with the RLE loss: with coordinates as input there is no heatmap to classify over, and a
  regression head trains in the CPU budget.
"""

from __future__ import annotations

import torch
from torch import nn

from core.lifting.features import FEATURES, LANDMARKS

OUTPUTS = LANDMARKS + 96


class ResidualLifter(nn.Module):
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


class TokenLifter(nn.Module):
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

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        memory = self.tokens(features)
        for layer in self.encoder:
            memory = layer(memory)
        queries = self.queries.expand(features.shape[0], -1, -1)
        for layer in self.readout:
            queries = layer(queries, memory)
        return self.head(queries)


ARCHITECTURES = {"residual": ResidualLifter, "tokens": TokenLifter}


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
