"""Train BinaryHPE (or its float Hand4Whole) with the losses of Eq. 12, and export the ONNX file the add-on's
estimator loads. Runs on the GPU when there is one, else the CPU; checkpoints every few steps; ``--resume``.

    .venv/bin/python -m training.binaryhpe_train --generated 64 --steps 200 --out runs/binaryhpe.pt \\
        --export runs/binaryhpe.onnx
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.bodymodel.library import load_body
from core.bodymodel.model import BodyModel

from .binaryhpe import BODY_STRIDE, CROP_SIZE, HEATMAP_BINS, OUTPUTS, Hand4Whole
from .binaryhpe_data import (
    BODY_POINTS,
    CROP_CENTRE,
    CROP_FOCAL,
    FACE_POINTS,
    HAND_POINTS,
    NECK,
    WRIST,
    GeneratedWholeBody,
    augment,
    fingertip_vertices,
)

FIELDS = ("image", "pose", "betas", "expression", "trans", "points_3d", "points_2d", "visible", "boxes")
BODY_DEPTH_M, HAND_DEPTH_M = 1.0, 0.15  # half extents of the heatmap depth bins (Hand4Whole: 2 m, 0.3 m boxes)
OPSET = 17


class TorchBody(nn.Module):
    """The SMPL-X-layout body model's joints and fingertips, differentiable: shape and expression blend
    shapes, joint regression, forward kinematics; the 10 fingertips skinned. No translation."""

    def __init__(self, model: BodyModel):
        super().__init__()
        tips = fingertip_vertices(model)
        self.parents = model.parents
        self.register_buffer("template", torch.tensor(model.v_template, dtype=torch.float32))
        self.register_buffer("shapedirs", torch.tensor(model.shapedirs[:, :, :10], dtype=torch.float32))
        self.register_buffer("exprdirs", torch.tensor(model.exprdirs, dtype=torch.float32))
        self.register_buffer("regressor", torch.tensor(model.J_regressor, dtype=torch.float32))
        self.register_buffer("tip_weights", torch.tensor(model.weights[tips], dtype=torch.float32))
        self.tips = torch.as_tensor(tips)

    def forward(self, rotations: torch.Tensor, betas: torch.Tensor, expression: torch.Tensor) -> torch.Tensor:
        """``rotations (B, 55, 3, 3)`` local, ``betas (B, 10)``, ``expression (B, E)`` -> ``(B, 65, 3)``."""
        shaped = self.template + torch.einsum("vcs,bs->bvc", self.shapedirs, betas)
        if self.exprdirs.shape[2]:
            count = min(expression.shape[1], self.exprdirs.shape[2])
            shaped = shaped + torch.einsum("vce,be->bvc", self.exprdirs[:, :, :count], expression[:, :count])
        joints = torch.einsum("jv,bvc->bjc", self.regressor, shaped)
        world_rot, world_pos = [rotations[:, 0]], [joints[:, 0]]
        for child in range(1, len(self.parents)):
            parent = self.parents[child]
            world_rot.append(world_rot[parent] @ rotations[:, child])
            offset = (joints[:, child] - joints[:, parent])[..., None]
            world_pos.append(world_pos[parent] + (world_rot[parent] @ offset)[..., 0])
        rot, pos = torch.stack(world_rot, 1), torch.stack(world_pos, 1)
        rest_tips = shaped[:, self.tips.to(shaped.device)]  # (B, 10, 3)
        moved = torch.einsum("bjcd,btd->btjc", rot, rest_tips) + (pos - torch.einsum("bjcd,bjd->bjc", rot, joints)
                                                                   )[:, None]
        tips = torch.einsum("tj,btjc->btc", self.tip_weights, moved)
        return torch.cat([pos, tips], 1)


def axis_angle_to_matrix(values: torch.Tensor) -> torch.Tensor:
    """``(..., 3)`` -> ``(..., 3, 3)`` (Rodrigues), differentiable."""
    angle = values.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    axis = values / angle
    x, y, z = axis.unbind(-1)
    zero = torch.zeros_like(x)
    cross = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).reshape(*values.shape[:-1], 3, 3)
    eye = torch.eye(3, dtype=values.dtype, device=values.device)
    sin, cos = angle.sin()[..., None], angle.cos()[..., None]
    return eye + sin * cross + (1 - cos) * cross @ cross


def matrix_to_axis_angle(matrix: torch.Tensor) -> torch.Tensor:
    """``(..., 3, 3)`` -> ``(..., 3)``: the angle from atan2(sin, cos), the axis from the skew part (exact away
    from a half turn, where the axis is ill-conditioned)."""
    trace = matrix[..., 0, 0] + matrix[..., 1, 1] + matrix[..., 2, 2]
    vector = torch.stack([matrix[..., 2, 1] - matrix[..., 1, 2], matrix[..., 0, 2] - matrix[..., 2, 0],
                          matrix[..., 1, 0] - matrix[..., 0, 1]], -1) / 2  # = sin(angle) * axis
    sin = vector.norm(dim=-1, keepdim=True)
    angle = torch.atan2(sin, ((trace - 1) / 2)[..., None])
    return vector / sin.clamp_min(1e-8) * angle


def predicted_rotations(out: dict[str, torch.Tensor]) -> torch.Tensor:
    """The network's rotations in SMPL-X joint order ``(B, 55, 3, 3)``; the eyes stay at rest."""
    batch = out["root"].shape[0]
    eyes = torch.eye(3, dtype=out["root"].dtype, device=out["root"].device).expand(batch, 2, 3, 3)
    return torch.cat([out["root"][:, None], out["body_pose"], out["jaw"][:, None], eyes, out["left_hand"],
                      out["right_hand"]], 1)


def relative_points(points: torch.Tensor) -> torch.Tensor:
    """Hand4Whole's 3D joint targets: body relative to the pelvis, hands to their wrists, face to the neck."""
    body = points[:, list(BODY_POINTS)] - points[:, :1]
    hands = [points[:, list(HAND_POINTS[side])] - points[:, WRIST[side]:WRIST[side] + 1] for side in ("left", "right")]
    face = points[:, list(FACE_POINTS)] - points[:, NECK:NECK + 1]
    return torch.cat([body, *hands, face], 1)


def project(points: torch.Tensor) -> torch.Tensor:
    centre = torch.tensor(CROP_CENTRE, dtype=points.dtype, device=points.device)
    return points[..., :2] / points[..., 2:].clamp_min(1e-3) * CROP_FOCAL + centre


def heatmap_targets(batch: dict, out: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """PositionNet targets: body joints in body-heatmap units (x, y from the crop pixels; depth about the
    pelvis over ±1 m in 8 bins), hand points in the units of the hand crop the network took (its predicted,
    detached box; depth about the wrist over ±0.15 m)."""
    pixels, points = batch["points_2d"], batch["points_3d"]
    body_xy = pixels[:, list(BODY_POINTS)] / (2 * BODY_STRIDE) - 0.5
    body_z = (points[:, list(BODY_POINTS), 2] - points[:, :1, 2]) / BODY_DEPTH_M * HEATMAP_BINS / 2 + HEATMAP_BINS / 2
    body = torch.cat([body_xy, body_z[..., None]], -1)
    hands = []
    for index, side in enumerate(("left", "right")):
        box = out["boxes"][:, index].detach()
        xy = (pixels[:, list(HAND_POINTS[side])] - box[:, None, :2]) / (box[:, None, 2:] - box[:, None, :2])
        z = (points[:, list(HAND_POINTS[side]), 2] - points[:, WRIST[side]:WRIST[side] + 1, 2]) / HAND_DEPTH_M
        hands.append(torch.cat([xy * HEATMAP_BINS - 0.5, (z[..., None] + 1) * HEATMAP_BINS / 2], -1))
    return body, torch.stack(hands, 1)


def loss_terms(model: Hand4Whole, body: TorchBody, batch: dict) -> dict[str, torch.Tensor]:
    """Eq. 12, equal weights: L1 on SMPL-X pose (axis-angle), shape, expression; on root-relative 3D joints
    (hands to wrists, face to neck); on the box centres and sizes; on 2D projections (hands and face
    translation-aligned); on the PositionNet coordinates."""
    out = model(batch["image"])
    rotations = predicted_rotations(out)
    pose = matrix_to_axis_angle(rotations)
    truth_pose = batch["pose"]
    joints = (list(range(23)) + list(range(25, 55)))  # the eyes are not predicted
    terms = {"pose": (pose[:, joints] - truth_pose[:, joints]).abs().mean(),
             "shape": (out["betas"] - batch["betas"]).abs().mean()}
    count = min(out["expression"].shape[1], batch["expression"].shape[1])
    terms["expression"] = (out["expression"][:, :count] - batch["expression"][:, :count]).abs().mean()
    points = body(rotations, out["betas"], out["expression"])
    terms["joints_3d"] = (relative_points(points) - relative_points(batch["points_3d"])).abs().mean()
    pixels = project(points + out["camera"][:, None])
    visible = batch["visible"][..., None]
    terms["joints_2d"] = (_aligned_2d(pixels) - _aligned_2d(batch["points_2d"])).abs().mul(
        _aligned_visibility(visible)).mean() / BODY_STRIDE
    truth_boxes = batch["boxes"] / (2 * BODY_STRIDE)
    terms["boxes"] = ((out["box_centres"] - (truth_boxes[..., :2] + truth_boxes[..., 2:]) / 2).abs().mean()
                      + (out["box_sizes"] - (truth_boxes[..., 2:] - truth_boxes[..., :2])).abs().mean())
    body_target, hand_target = heatmap_targets(batch, out)
    terms["positions"] = _truncated_l1(out["joints"], body_target) + _truncated_l1(out["hand_joints"], hand_target)
    return terms


def _truncated_l1(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 over the targets inside the heatmap volume (Hand4Whole's joint truncation): a point outside the
    crop the network took cannot be located on its heatmap."""
    inside = ((target >= 0) & (target <= HEATMAP_BINS - 1)).all(-1, keepdim=True).to(target.dtype)
    return ((predicted - target).abs() * inside).sum() / (inside.sum() * 3).clamp_min(1.0)


def _aligned_2d(pixels: torch.Tensor) -> torch.Tensor:
    """Body projections as they are; hand and face projections relative to their wrist / neck."""
    hands = [pixels[:, list(HAND_POINTS[side])] - pixels[:, WRIST[side]:WRIST[side] + 1] for side in ("left", "right")]
    face = pixels[:, list(FACE_POINTS)] - pixels[:, NECK:NECK + 1]
    return torch.cat([pixels[:, list(BODY_POINTS)], *hands, face], 1)


def _aligned_visibility(visible: torch.Tensor) -> torch.Tensor:
    order = list(BODY_POINTS) + list(HAND_POINTS["left"]) + list(HAND_POINTS["right"]) + list(FACE_POINTS)
    return visible[:, order]


def batches(source, batch_size: int, rng: np.random.Generator, device: torch.device, augmented: bool = True):
    while True:
        picks = rng.integers(0, len(source), batch_size)
        samples = [augment(source[int(i)], rng) if augmented else source[int(i)] for i in picks]
        yield {key: torch.tensor(np.stack([s[key] for s in samples]), device=device) for key in FIELDS}


def train(source, body_model: BodyModel, steps: int, out: Path, *, variant: str = "binaryhpe", batch_size: int = 8,
          lr: float = 1e-4, resume: bool = False, log_every: int = 10, seed: int = 0, augmented: bool = True,
          in_channels: int = 3) -> list[float]:
    """Adam (B.8) for ``steps``; saves ``out`` every ``log_every`` steps and at the end. Returns the losses."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(seed)
    expressions = body_model.exprdirs.shape[2] or 10
    model = Hand4Whole(variant, expressions, in_channels).to(device)
    body = TorchBody(body_model).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    start = 0
    if resume and out.is_file():
        state = torch.load(out, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start = int(state["step"])
    model.train()
    stream = batches(source, batch_size, np.random.default_rng(seed + start), device, augmented)
    losses, started = [], time.monotonic()
    for step in range(start, steps):
        terms = loss_terms(model, body, next(stream))
        loss = sum(terms.values())
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        losses.append(float(loss.detach()))
        if (step + 1) % log_every == 0 or step + 1 == steps:
            save_checkpoint(out, model, optimizer, step + 1)
            print(f"step {step + 1}/{steps} loss {np.mean(losses[-log_every:]):.3f} "
                  f"({(time.monotonic() - started) / (step + 1 - start):.2f} s/step, {device})", flush=True)
    return losses


def save_checkpoint(path: Path, model: Hand4Whole, optimizer, step: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".part")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                "config": {"variant": model.variant, "expressions": model.expressions,
                           "in_channels": model.in_channels}}, temp)
    temp.replace(path)


def load_checkpoint(path: Path) -> tuple[Hand4Whole, int]:
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = Hand4Whole(**state["config"])
    model.load_state_dict(state["model"])
    return model.eval(), int(state["step"])


class _Outputs(nn.Module):
    def __init__(self, model: Hand4Whole):
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(image)
        return tuple(out[name] for name in OUTPUTS)


def export_onnx(model: Hand4Whole, path: Path, trained_steps: int, data: str, body: str = "open") -> Path:
    """The whole cascade as one ONNX graph (opset 17, fixed 1 x C x 512 x 384 input): binary convolutions as
    packed bits + exact ±1 ``ConvInteger`` (``training/binary_runtime.py``), crops as GridSample. The file
    records its training; the add-on refuses a file with none."""
    model = model.cpu().eval()
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation and constant-folding notices
        warnings.simplefilter("ignore")
        torch.onnx.export(_Outputs(model).eval(), (torch.zeros(1, model.in_channels, *CROP_SIZE),), str(path),
                          opset_version=OPSET, input_names=["image"], output_names=list(OUTPUTS), dynamo=False)
    model.eval()
    import onnx

    graph = onnx.load(str(path))
    binary = [m.weight.numel() for m in model.modules() if getattr(m, "one_bit", False)]
    for key, value in (("pocket_mocap.model", "binaryhpe"), ("pocket_mocap.trained_steps", str(trained_steps)),
                       ("pocket_mocap.binary_packed_bytes", str(sum((n + 7) // 8 for n in binary))),
                       ("pocket_mocap.binary_float32_bytes", str(sum(binary) * 4)),
                       ("pocket_mocap.training_data", data), ("pocket_mocap.variant", model.variant),
                       ("pocket_mocap.expressions", str(model.expressions)),
                       ("pocket_mocap.input", "rgb" if model.in_channels == 3 else "silhouette"),
                       ("pocket_mocap.body", body)):
        entry = graph.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(graph, str(path))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generated", type=int, default=64, help="train on N generated smoke-test samples")
    parser.add_argument("--variant", choices=("binaryhpe", "bnn", "hand4whole"), default="binaryhpe")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--export", type=Path, help="write the trained network as ONNX here")
    args = parser.parse_args(argv)
    body = load_body("open", "smplx")
    source = GeneratedWholeBody(body, args.generated)
    train(source, body, args.steps, args.out, variant=args.variant, batch_size=args.batch, lr=args.lr,
          resume=args.resume)
    if args.export:
        model, steps = load_checkpoint(args.out)
        export_onnx(model, args.export, steps, f"GeneratedWholeBody({args.generated})")
        print(f"exported {args.export}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
