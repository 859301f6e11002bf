"""EfficientHuman's losses (MODELS.md A.7): RLE on the 96 keypoints with RealNVP flows, and L1/L2 terms
on shape, pose (quaternions through the IK), twist and camera."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


def _net(dim: int, tanh: bool) -> nn.Sequential:
    layers = [nn.Linear(dim, 64), nn.LeakyReLU(), nn.Linear(64, 64), nn.LeakyReLU(), nn.Linear(64, dim)]
    return nn.Sequential(*layers, nn.Tanh()) if tanh else nn.Sequential(*layers)


class RealNVP(nn.Module):
    """Affine-coupling flow with a standard-normal prior: ``log_prob(x: (..., d)) -> (...)``."""

    def __init__(self, dim: int, layers: int = 6):
        super().__init__()
        first = torch.tensor([0.0] * (dim - 1) + [1.0]) if dim == 3 else torch.tensor([0.0, 1.0])
        masks = torch.stack([first if i % 2 == 0 else 1 - first for i in range(layers)])
        self.register_buffer("masks", masks)
        self.scale = nn.ModuleList(_net(dim, tanh=True) for _ in range(layers))
        self.shift = nn.ModuleList(_net(dim, tanh=False) for _ in range(layers))

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        log_det = torch.zeros(x.shape[:-1], device=x.device, dtype=x.dtype)
        z = x
        for mask, scale_net, shift_net in zip(reversed(self.masks), reversed(self.scale), reversed(self.shift),
                                              strict=True):
            kept = z * mask
            scale = scale_net(kept) * (1 - mask)
            shift = shift_net(kept) * (1 - mask)
            z = kept + (1 - mask) * (z - shift) * torch.exp(-scale)
            log_det = log_det - scale.sum(-1)
        prior = -0.5 * (z**2).sum(-1) - 0.5 * z.shape[-1] * torch.log(torch.tensor(2 * torch.pi))
        return prior + log_det


class RLELoss(nn.Module):
    """Residual log-likelihood estimation (Li et al., 2021) with a Laplace residual term."""

    def __init__(self, dim: int = 3):
        super().__init__()
        self.flow = RealNVP(dim)

    def forward(self, predicted: torch.Tensor, sigma: torch.Tensor, target: torch.Tensor, weight: torch.Tensor
                ) -> torch.Tensor:
        """``predicted, sigma, target: (B, K, d)``, ``weight: (B, K)`` visibility -> scalar."""
        residual = (predicted - target) / sigma
        flow_term = torch.log(sigma).sum(-1) - self.flow.log_prob(residual)
        laplace_term = (torch.log(2 * sigma) + residual.abs()).sum(-1)
        per_keypoint = flow_term + laplace_term
        return (per_keypoint * weight).sum() / weight.sum().clamp(min=1.0)


def quaternion_from_matrix(matrix: torch.Tensor) -> torch.Tensor:
    """``(..., 3, 3)`` -> ``(..., 4)`` (w, x, y, z), w >= 0 where defined (for losses on rotations)."""
    w = torch.sqrt(torch.clamp(1 + matrix[..., 0, 0] + matrix[..., 1, 1] + matrix[..., 2, 2], min=1e-8)) / 2
    x = (matrix[..., 2, 1] - matrix[..., 1, 2]) / (4 * w)
    y = (matrix[..., 0, 2] - matrix[..., 2, 0]) / (4 * w)
    z = (matrix[..., 1, 0] - matrix[..., 0, 1]) / (4 * w)
    return torch.stack([w, x, y, z], -1)


@dataclass(frozen=True)
class LossWeights:  # the code's weights (MODELS.md A.11: beta 1, camera 1)
    keypoints: float = 1.0
    shape: float = 1.0
    pose: float = 1.0
    twist: float = 1.0
    camera: float = 1.0


def total_loss(terms: dict[str, torch.Tensor], weights: LossWeights | None = None) -> torch.Tensor:
    weights = weights or LossWeights()
    return sum(getattr(weights, name) * value for name, value in terms.items())
