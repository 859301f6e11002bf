"""Train EfficientHuman on the CPU, or on a GPU when there is one; checkpoints resume; export to ONNX.

    .venv/bin/python -m training.train --generated 256 --steps 2000 --out runs/eh.pt [--resume] [--export eh.onnx]
    .venv/bin/python -m training.train --body-file SMPL_NEUTRAL.pkl ...

``--generated N`` trains on GeneratedSamples (a smoke-test source); real data sources plug in through
``make_source`` (any sequence of sample dicts, see ``training/data.py``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from core.bodymodel.library import load_body
from core.bodymodel.model import BodyModel, load_body_model
from core.ik import hybrik
from core.rotations import axis_angle_to_matrix

from .data import DEPTH, FOCAL, SIZE, GeneratedSamples, augment
from .efficienthuman import EfficientHuman, efficienthuman
from .export import export_onnx
from .ik_torch import inverse_kinematics
from .losses import LossWeights, RLELoss, quaternion_from_matrix, total_loss
from .markers import LEAF_PARENTS, LEAF_VERTICES

FIELDS = ("image", "uvd", "xyz", "visible", "theta", "betas", "twist", "camera")


class BodyTensors(torch.nn.Module):
    """The body model's rest skeleton (24 joints + 5 leaves) as a linear function of betas, in torch."""

    def __init__(self, model: BodyModel):
        super().__init__()
        joints = model.J_regressor @ model.v_template
        joint_dirs = np.einsum("jv,vcb->jcb", model.J_regressor, model.shapedirs[:, :, :10])
        leaves = list(LEAF_VERTICES)
        template = np.vstack([joints, model.v_template[leaves]])
        self.register_buffer("template", torch.tensor(template, dtype=torch.float32))
        self.register_buffer("directions", torch.tensor(
            np.concatenate([joint_dirs, model.shapedirs[leaves, :, :10]]), dtype=torch.float32))
        self.skeleton = hybrik.smpl_skeleton(model.parents, LEAF_PARENTS, {9: 12, 0: 3})

    def rest(self, betas: torch.Tensor) -> torch.Tensor:
        """``betas: (B, 10)`` -> root-relative rest points ``(B, 29, 3)``."""
        points = self.template + torch.einsum("ncb,zb->znc", self.directions, betas)
        return points - points[:, :1]


def uvd_to_xyz(uvd: torch.Tensor, camera: torch.Tensor) -> torch.Tensor:
    """A.5's back-projection: ``uvd (B, K, 3)``, ``camera (B, 3)`` -> root-relative metres ``(B, K, 3)``."""
    depth = FOCAL / (SIZE * camera[:, :1] + 1e-9)
    z = uvd[..., 2] * DEPTH + depth
    x = uvd[..., 0] * SIZE / FOCAL * z - camera[:, 1:2]
    y = uvd[..., 1] * SIZE / FOCAL * z - camera[:, 2:3]
    xyz = torch.stack([x, y, z], -1)
    return xyz - xyz[:, :1]


def loss_terms(model: EfficientHuman, rle: RLELoss, body: BodyTensors, batch: dict) -> dict[str, torch.Tensor]:
    out = model(batch["image"])
    terms = {"keypoints": rle(out.uvd, out.sigma, batch["uvd"], batch["visible"]),
             "shape": (out.betas - batch["betas"]).abs().mean(),
             "twist": ((out.twist / (out.twist.norm(dim=-1, keepdim=True) + 1e-8) - batch["twist"]) ** 2).mean(),
             "camera": (out.camera - batch["camera"]).abs().mean()}
    xyz = uvd_to_xyz(out.uvd[:, :29], out.camera)
    twist = torch.cat([torch.zeros_like(out.twist[:, :1]), out.twist], dim=1)
    twist[:, 0, 0] = 1.0
    rotations = inverse_kinematics(body.skeleton, body.rest(out.betas), xyz, twist)
    truth = torch.tensor(axis_angle_to_matrix(batch["theta"].detach().cpu().numpy().astype(np.float64)),
                         dtype=rotations.dtype, device=rotations.device)
    predicted, expected = quaternion_from_matrix(rotations), quaternion_from_matrix(truth)
    terms["pose"] = torch.minimum((predicted - expected).abs().sum(-1), (predicted + expected).abs().sum(-1)).mean()
    return terms


def batches(source, batch_size: int, rng: np.random.Generator, device: torch.device, augmented: bool = True):
    while True:
        picks = rng.integers(0, len(source), batch_size)
        samples = [augment(source[int(i)], rng) if augmented else source[int(i)] for i in picks]
        yield {key: torch.tensor(np.stack([s[key] for s in samples]), device=device) for key in FIELDS}


def train(source, body: BodyModel, steps: int, out: Path, batch_size: int = 8, lr: float = 1e-3,
          resume: bool = False, log_every: int = 10, seed: int = 0) -> list[float]:
    """Train for ``steps``; saves ``out`` every ``log_every`` steps and at the end. Returns the losses."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(seed)
    model, rle, tensors = efficienthuman().to(device), RLELoss().to(device), BodyTensors(body).to(device)
    optimizer = torch.optim.AdamW([*model.parameters(), *rle.parameters()], lr=lr, weight_decay=1e-4)
    start = 0
    if resume and out.is_file():
        state = torch.load(out, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        rle.load_state_dict(state["flow"])
        optimizer.load_state_dict(state["optimizer"])
        start = int(state["step"])
    model.train()
    stream = batches(source, batch_size, np.random.default_rng(seed + start), device)
    losses, started = [], time.monotonic()
    for step in range(start, steps):
        terms = loss_terms(model, rle, tensors, next(stream))
        loss = total_loss(terms, LossWeights())
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        losses.append(float(loss.detach()))
        if (step + 1) % log_every == 0 or step + 1 == steps:
            _save(out, model, rle, optimizer, step + 1)
            print(f"step {step + 1}/{steps} loss {np.mean(losses[-log_every:]):.3f} "
                  f"({(time.monotonic() - started) / (step + 1 - start):.2f} s/step, {device})", flush=True)
    return losses


def _save(path: Path, model, rle, optimizer, step: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".part")
    torch.save({"model": model.state_dict(), "flow": rle.state_dict(), "optimizer": optimizer.state_dict(),
                "step": step}, temp)
    temp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--body-file", type=Path, help="an SMPL model file (SMPL topology: the markers need it)")
    parser.add_argument("--generated", type=int, default=256, help="train on N generated smoke-test samples")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--export", type=Path, help="write the trained network as ONNX here")
    args = parser.parse_args(argv)
    body = load_body_model(args.body_file, "smpl") if args.body_file else load_body("open", "smpl")
    train(GeneratedSamples(body, args.generated), body, args.steps, args.out, args.batch, args.lr, args.resume)
    if args.export:
        checkpoint = torch.load(args.out, map_location="cpu", weights_only=True)
        model = efficienthuman(checkpoint["model"]).eval()
        export_onnx(model, args.export, int(checkpoint["step"]), f"GeneratedSamples({args.generated})")
        print(f"exported {args.export}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
