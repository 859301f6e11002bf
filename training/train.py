"""Train EfficientHuman on the CPU, or on a GPU when there is one; checkpoints resume; export to ONNX.

    python -m training.train --shards runs/synth_b --val-shards runs/synth_b_val --steps 20000 --out runs/eh.pt \
        [--resume] [--minutes 9] [--batch 128] [--workers 14] [--export eh.onnx --fp16]
    python -m training.train --generated 256 --steps 2000 --out runs/eh.pt        (smoke-test source)

``--shards`` reads synthetic shards (training/synth; mode b: the 34-channel silhouette input, built on the
training device from compact fields, see training/silhouette_data.py; mode a: RGB); the network's input
channels follow the shards. ``--generated N`` trains on GeneratedSamples (a smoke-test source). Any sequence of
training/data.py sample dicts plugs into :func:`train`.
"""

from __future__ import annotations

import argparse
import json
import math
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
from .markers import LEAF_PARENTS
from .silhouette_data import ShardData, inputs_from_fields, seed_worker
from .synth.open_markers import keypoint_vertices

FIELDS = ("image", "uvd", "xyz", "visible", "theta", "betas", "twist", "camera")
JOINTS = 24


class BodyTensors(torch.nn.Module):
    """The body model's rest skeleton (24 joints + 5 leaves) as a linear function of betas, in torch. The leaves
    are ``keypoint_vertices(model)[:5]``: SMPL's vertex ids on SMPL topology, the open body's own otherwise
    (the ids the synthetic generator uses)."""

    def __init__(self, model: BodyModel):
        super().__init__()
        joints = model.J_regressor @ model.v_template
        joint_dirs = np.einsum("jv,vcb->jcb", model.J_regressor, model.shapedirs[:, :, :10])
        leaves = [int(v) for v in keypoint_vertices(model)[:5]]
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


def forward(model: EfficientHuman, image: torch.Tensor, amp: bool):
    """The network's outputs in float32; bfloat16 autocast on CUDA when ``amp``. Channels-last memory: the
    7x7 depthwise convolutions' backward pass is ~30 times faster so on the CPU (and suits the GPU)."""
    image = image.contiguous(memory_format=torch.channels_last)
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp and image.is_cuda):
        out = model(image)
    return type(out)(*(getattr(out, name).float() for name in out.__dataclass_fields__))


def loss_terms(model: EfficientHuman, rle: RLELoss, body: BodyTensors, batch: dict, amp: bool = False
               ) -> dict[str, torch.Tensor]:
    out = forward(model, batch["image"], amp)
    return loss_terms_of(out, rle, body, batch)


def loss_terms_of(out, rle: RLELoss, body: BodyTensors, batch: dict) -> dict[str, torch.Tensor]:
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


# -- data -------------------------------------------------------------------------------------------------

def batches(source, batch_size: int, rng: np.random.Generator, device: torch.device, augmented: bool = True):
    """Random batches of a sequence of sample dicts (augmented on the fly), as device tensors."""
    while True:
        picks = rng.integers(0, len(source), batch_size)
        samples = [augment(source[int(i)], rng) if augmented else source[int(i)] for i in picks]
        yield {key: torch.tensor(np.stack([s[key] for s in samples]), device=device) for key in FIELDS}


def to_device(batch: dict, device: torch.device) -> dict[str, torch.Tensor]:
    """A collated ShardData batch on ``device``; mode (b) fields become the 34-channel ``image`` there."""
    moved = {key: value.to(device, non_blocking=True) for key, value in batch.items()}
    if "silhouette" in moved:
        moved["image"] = inputs_from_fields(moved.pop("silhouette"), moved.pop("landmarks_2d"), moved.pop("heights"))
    return moved


def shard_batches(data: ShardData, batch_size: int, device: torch.device, workers: int, seed: int):
    """Endless random batches of ``data`` (augmented in ``workers`` processes) on ``device``."""
    workers = workers_for_shared_memory(workers, batch_size)
    sampler = torch.utils.data.RandomSampler(data, replacement=True, num_samples=2**31 - 1,
                                             generator=torch.Generator().manual_seed(seed))
    loader = torch.utils.data.DataLoader(data, batch_size, sampler=sampler, num_workers=workers,
                                         worker_init_fn=seed_worker if workers else None,
                                         pin_memory=device.type == "cuda", persistent_workers=workers > 0,
                                         prefetch_factor=PREFETCH if workers else None, drop_last=True)
    for batch in loader:
        yield to_device(batch, device)


PREFETCH = 2
SAMPLE_BYTES = 80_000  # a compact mode (b) sample as workers pass it on (uint8 mask, landmarks, targets)


def workers_for_shared_memory(workers: int, batch_size: int, folder: str = "/dev/shm") -> int:
    """Workers hand batches over in shared memory; containers often have little (64 MB by default in Docker).
    Fewer workers (down to 0: augmentation in this process) when ``folder`` cannot hold their batches twice."""
    import shutil

    if workers == 0:
        return 0
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return workers
    fitting = int(free // (2 * PREFETCH * batch_size * SAMPLE_BYTES))
    if fitting < workers:
        print(f"{folder} has {free / 1e6:.0f} MB free: {min(workers, fitting)} data workers instead of {workers}",
              flush=True)
    return min(workers, fitting)


def in_channels_of(source) -> int:
    return getattr(source, "in_channels", None) or int(np.shape(source[0]["image"])[0])


# -- evaluation on held-out synthetic data --------------------------------------------------------------

def procrustes_errors(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-sample mean joint distance after the best similarity transform: ``(B, J, 3)`` twice -> ``(B,)``."""
    p, t = predicted - predicted.mean(1, keepdims=True), truth - truth.mean(1, keepdims=True)
    u, s, vt = np.linalg.svd(np.einsum("bji,bjk->bik", t, p))
    sign = np.sign(np.linalg.det(u @ vt))
    fix = np.ones_like(s)
    fix[:, 2] = sign
    rotation = u @ (fix[:, :, None] * vt)
    scale = (s * fix).sum(1) / (p**2).sum((1, 2))
    aligned = scale[:, None, None] * np.einsum("bjk,bik->bji", p, rotation)
    return np.linalg.norm(aligned - t, axis=2).mean(1)


@torch.no_grad()
def evaluate(model: EfficientHuman, rle: RLELoss, body: BodyTensors, data: ShardData, device: torch.device,
             batch_size: int = 64, amp: bool = False) -> dict[str, float]:
    """Held-out synthetic data, unaugmented: mean loss; MPJPE and PA-MPJPE (mm) of the 24 SMPL joints
    back-projected from the network's uvd and camera (A.5, root-relative: what the run-time IK receives);
    PCK@0.1 of their 2D positions (threshold 0.1 x the longer side of the true joints' 2D box, joints inside
    the crop)."""
    was_training = model.training
    model.eval()
    losses, mpjpe, pa, hits = [], [], [], []
    for start in range(0, len(data), batch_size):
        items = [data[i] for i in range(start, min(start + batch_size, len(data)))]
        batch = to_device({key: torch.tensor(np.stack([s[key] for s in items])) for key in items[0]}, device)
        out = forward(model, batch["image"], amp)
        losses.append(float(total_loss(loss_terms_of(out, rle, body, batch))) * len(items))
        predicted = uvd_to_xyz(out.uvd[:, :JOINTS], out.camera).cpu().numpy() * 1000
        truth = batch["xyz"][:, :JOINTS].cpu().numpy() * DEPTH * 1000
        mpjpe.append(np.linalg.norm(predicted - truth, axis=2).mean(1))
        pa.append(procrustes_errors(predicted.astype(np.float64), truth.astype(np.float64)))
        pixels = (out.uvd[:, :JOINTS, :2].cpu().numpy() + 0.5) * SIZE
        true_pixels = batch["keypoints_2d"][:, :JOINTS].cpu().numpy()
        inside = np.all((true_pixels >= 0) & (true_pixels < SIZE), axis=2)
        side = np.max(true_pixels.max(1) - true_pixels.min(1), axis=1)
        close = np.linalg.norm(pixels - true_pixels, axis=2) <= 0.1 * side[:, None]
        hits.append((close & inside).sum(1) / np.maximum(inside.sum(1), 1))
    model.train(was_training)
    return {"samples": len(data), "loss": sum(losses) / len(data), "mpjpe_mm": float(np.concatenate(mpjpe).mean()),
            "pa_mpjpe_mm": float(np.concatenate(pa).mean()), "pck_0.1": float(np.concatenate(hits).mean())}


# -- training ---------------------------------------------------------------------------------------------

def learning_rate(step: int, steps: int, peak: float, time_fraction: float = 0.0) -> float:
    """Linear warm-up over the first 5 % of ``steps`` (at most 500), then cosine down to 5 % of ``peak``.

    ``time_fraction`` (the share of a time budget already spent) moves the cosine on when it is ahead of the
    steps, so that a run stopped by its deadline still ends annealed."""
    warm = max(1, min(500, steps // 20))
    if step < warm:
        return peak * (step + 1) / warm
    progress = max((step - warm) / max(1, steps - warm), time_fraction)
    return peak * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def train(source, body: BodyModel, steps: int, out: Path, batch_size: int = 8, lr: float = 1e-3,
          resume: bool = False, log_every: int = 10, seed: int = 0, *, validation: ShardData | None = None,
          val_every: int = 0, minutes: float | None = None, workers: int = 0, amp: bool = True,
          init_weights: Path | None = None, data_label: str = "", anneal_by_time: bool = False) -> list[float]:
    """Train until step ``steps`` (or for ``minutes``); saves ``out`` every ``log_every`` steps and at the end.

    ``source``: a ShardData (batched by DataLoader workers) or any sequence of sample dicts. ``resume``
    continues from ``out``; else ``init_weights`` (a weights-only file of :func:`save_weights`) starts from
    those weights and their step with a fresh optimizer. ``anneal_by_time``: the learning rate follows the share
    of ``minutes`` spent when that is ahead of the steps (a one-shot run on a machine lent for minutes). Returns
    this call's losses."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(seed)
    torch.backends.cudnn.benchmark = True
    model = efficienthuman(in_channels=in_channels_of(source)).to(device, memory_format=torch.channels_last)
    rle, tensors = RLELoss().to(device), BodyTensors(body).to(device)
    optimizer = torch.optim.AdamW([*model.parameters(), *rle.parameters()], lr=lr, weight_decay=1e-4)
    start, history = 0, []
    if resume and out.is_file():
        state = torch.load(out, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        rle.load_state_dict(state["flow"])
        optimizer.load_state_dict(state["optimizer"])
        start, history = int(state["step"]), list(state.get("validation", []))
    elif init_weights is not None:
        state = torch.load(init_weights, map_location=device, weights_only=True)
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state["model"].items()})
        if "flow" in state:
            rle.load_state_dict({k: v.float() for k, v in state["flow"].items()})
        start = int(state["step"])
    model.train()
    if isinstance(source, ShardData):
        stream = shard_batches(source, batch_size, device, workers, seed + start)
    else:
        stream = batches(source, batch_size, np.random.default_rng(seed + start), device)
    extra = {"in_channels": model.in_channels, "data": data_label, "steps": steps}
    losses, started = [], time.monotonic()
    def spent() -> float:
        return (time.monotonic() - started) / (60 * minutes) if anneal_by_time and minutes else 0.0

    for step in range(start, steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, steps, lr, spent())
        terms = loss_terms(model, rle, tensors, next(stream), amp)
        loss = total_loss(terms, LossWeights())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        losses.append(float(loss.detach()))
        done = step + 1
        out_of_time = minutes is not None and time.monotonic() - started > 60 * minutes
        if validation is not None and val_every and (done % val_every == 0 or done == steps or out_of_time):
            history.append({"step": done, **evaluate(model, rle, tensors, validation, device, amp=amp)})
            print("validation " + json.dumps(history[-1]), flush=True)
        if done % log_every == 0 or done == steps or out_of_time:
            _save(out, model, rle, optimizer, done, {**extra, "validation": history})
            pace = (time.monotonic() - started) / (done - start)
            print(f"step {done}/{steps} loss {np.mean(losses[-log_every:]):.3f} "
                  f"lr {optimizer.param_groups[0]['lr']:.2e} ({pace:.3f} s/step, {device})", flush=True)
        if out_of_time:
            print(f"stopped after {minutes} minutes at step {done}; run again with --resume to continue", flush=True)
            break
    return losses


def _save(path: Path, model, rle, optimizer, step: int, extra: dict | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".part")
    torch.save({"model": model.state_dict(), "flow": rle.state_dict(), "optimizer": optimizer.state_dict(),
                "step": step, **(extra or {})}, temp)
    temp.replace(path)


def save_weights(checkpoint: Path, path: Path) -> Path:
    """A weights-only copy of ``checkpoint`` in float16 (network and flow, no optimizer): small enough to carry
    between machines; ``train(init_weights=...)`` continues from it."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    half = {k: v.half() if v.is_floating_point() else v for k, v in state["model"].items()}
    torch.save({"model": half, "flow": state["flow"], "step": state["step"],
                "in_channels": state.get("in_channels", 3), "data": state.get("data", "")}, path)
    return path


def export_checkpoint(checkpoint: Path, path: Path, fp16: bool = False) -> Path:
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    model = efficienthuman(state["model"]).eval()
    return export_onnx(model, path, int(state["step"]), str(state.get("data", "")), fp16)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--body-file", type=Path, help="an SMPL model file (default: the open body, SMPL layout)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--shards", type=Path, help="a synthetic shard folder (training/synth/generate.py)")
    source.add_argument("--generated", type=int, default=256, help="train on N generated smoke-test samples")
    parser.add_argument("--val-shards", type=Path, help="held-out shards: validation loss and errors")
    parser.add_argument("--val-every", type=int, default=500)
    parser.add_argument("--val-samples", type=int, default=1024, help="at most this many held-out samples")
    parser.add_argument("--limit", type=int, help="use at most this many training samples")
    parser.add_argument("--steps", type=int, default=100, help="train until this step (the schedule's length)")
    parser.add_argument("--minutes", type=float, help="stop after this many minutes (checkpoint saved)")
    parser.add_argument("--deadline", type=float, help="stop at this Unix time (after loading the data)")
    parser.add_argument("--anneal-by-time", action="store_true",
                        help="with --minutes/--deadline: the schedule ends annealed when time runs out")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--workers", type=int, default=0, help="data-loading processes (shards)")
    parser.add_argument("--no-amp", action="store_true", help="no bfloat16 autocast on CUDA")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--init-weights", type=Path, help="start from a weights-only file (save_weights)")
    parser.add_argument("--log-every", type=int, default=10)
    parser.add_argument("--export", type=Path, help="write the trained network as ONNX here")
    parser.add_argument("--fp16", action="store_true", help="ONNX weights stored as float16")
    parser.add_argument("--metrics", type=Path, help="write the final held-out evaluation here (JSON)")
    args = parser.parse_args(argv)
    body = load_body_model(args.body_file, "smpl") if args.body_file else load_body("open", "smpl")
    if args.shards:
        data = ShardData(args.shards, augmented=True, limit=args.limit)
        label = data.label
    else:
        data, label = GeneratedSamples(body, args.generated), f"GeneratedSamples({args.generated}), smoke test"
    validation = ShardData(args.val_shards, augmented=False, limit=args.val_samples) if args.val_shards else None
    print(f"training on {label}; {data.in_channels if args.shards else 3} input channels", flush=True)
    minutes = args.minutes
    if args.deadline is not None:
        minutes = min(minutes or math.inf, max(0.0, (args.deadline - time.time()) / 60))
    train(data, body, args.steps, args.out, args.batch, args.lr, args.resume, args.log_every,
          validation=validation, val_every=args.val_every if validation else 0, minutes=minutes,
          workers=args.workers, amp=not args.no_amp, init_weights=args.init_weights, data_label=label,
          anneal_by_time=args.anneal_by_time)
    if args.metrics and validation is not None:
        state = torch.load(args.out, map_location="cpu", weights_only=True)
        args.metrics.write_text(json.dumps(state.get("validation", [])[-1:], indent=1))
    if args.export:
        export_checkpoint(args.out, args.export, args.fp16)
        print(f"exported {args.export} ({args.export.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
