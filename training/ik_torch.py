"""The analytic IK of ``core/ik/hybrik.py`` in torch, batched and differentiable, for the pose loss.

Same conventions: ``rest, target: (B, N, 3)`` root-relative points (joints then leaves), ``twist: (B, J, 2)``
as (cos, sin) (normalised here), local rotations out ``(B, J, 3, 3)``. The root uses the analytic
solution (align the spine bone, then the hips' direction about it), which needs no SVD and exports.
"""

from __future__ import annotations

import torch

from core.ik.hybrik import Skeleton


def rodrigues(axis: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotation by the angle with (``cos``, ``sin``) about unit ``axis (..., 3)`` -> ``(..., 3, 3)``."""
    x, y, z = axis.unbind(-1)
    zero = torch.zeros_like(x)
    skew = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).view(*axis.shape[:-1], 3, 3)
    eye = torch.eye(3, dtype=axis.dtype, device=axis.device).expand_as(skew)
    return eye + sin[..., None, None] * skew + (1 - cos)[..., None, None] * (skew @ skew)


def swing(rest: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Smallest rotation taking ``rest (..., 3)`` onto the direction of ``target (..., 3)``."""
    a = rest / (rest.norm(dim=-1, keepdim=True) + 1e-8)
    b = target / (target.norm(dim=-1, keepdim=True) + 1e-8)
    axis = torch.cross(a, b, dim=-1)
    sin = axis.norm(dim=-1)
    cos = (a * b).sum(-1)
    return rodrigues(axis / (sin[..., None] + 1e-8), cos, sin)


def root_rotation(rest: torch.Tensor, target: torch.Tensor, spine: int, left_hip: int, right_hip: int
                  ) -> torch.Tensor:
    """Swing the spine bone onto its target, then turn about it to align the hips (no SVD)."""
    first = swing(rest[:, spine], target[:, spine])
    spine_axis = target[:, spine] / (target[:, spine].norm(dim=-1, keepdim=True) + 1e-8)
    rest_hips = (first @ (rest[:, left_hip] - rest[:, right_hip])[..., None])[..., 0]
    target_hips = target[:, left_hip] - target[:, right_hip]

    def flat(v):
        v = v - spine_axis * (v * spine_axis).sum(-1, keepdim=True)
        return v / (v.norm(dim=-1, keepdim=True) + 1e-8)

    a, b = flat(rest_hips), flat(target_hips)
    sin = (torch.cross(a, b, dim=-1) * spine_axis).sum(-1)
    return rodrigues(spine_axis, (a * b).sum(-1), sin) @ first


def inverse_kinematics(skeleton: Skeleton, rest: torch.Tensor, target: torch.Tensor, twist: torch.Tensor
                       ) -> torch.Tensor:
    """Local rotations ``(B, J, 3, 3)``; ``rest``/``target`` root-relative (point 0 at the origin)."""
    batch = rest.shape[0]
    twist = twist / (twist.norm(dim=-1, keepdim=True) + 1e-8)
    spine, left_hip, right_hip = 3, 1, 2
    local = [root_rotation(rest, target, spine, left_hip, right_hip)]
    world = [local[0]]
    posed = [torch.zeros(batch, 3, dtype=rest.dtype, device=rest.device)]
    for joint in range(1, skeleton.joints):
        parent = skeleton.parents[joint]
        posed.append(posed[parent] + (world[parent] @ (rest[:, joint] - rest[:, parent])[..., None])[..., 0])
        child = skeleton.child[joint]
        bone = rest[:, child] - rest[:, joint]
        wanted = (world[parent].transpose(-1, -2) @ (target[:, child] - posed[joint])[..., None])[..., 0]
        axis = bone / (bone.norm(dim=-1, keepdim=True) + 1e-8)
        rotation = swing(bone, wanted) @ rodrigues(axis, twist[:, joint, 0], twist[:, joint, 1])
        local.append(rotation)
        world.append(world[parent] @ rotation)
    return torch.stack(local, dim=1)
