"""Train a lifter on synthetic MediaPipe-like pairs from the pose bank, on the CPU, and export it to ONNX.

    python -m training.lifter.train --bank runs/poses.npz --arch residual --minutes 20 --out runs/lifter

Clips are split by the bank's own ``split`` (by CMU trial; training/synth/poses.py), or where a bank has none by
clip name (a fixed hash: about 1 in 8 held out); never by frame. Bodies (pose, shape, heading,
camera) are drawn once into a pool; every step draws fresh MediaPipe-like corruption for its batch.
Writes ``<out>/<arch>.onnx`` (float32; metadata: data, held-out clips, steps, losses, seed, commit) and
``<out>/<arch>.json`` (the same record and the validation curve).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from core.lifting.features import HIPS

from ..losses import RLELoss
from ..synth.bank import make_bank
from .data import Corruption, LifterSampler
from .mediapipe_errors import LIMBS, pa_error
from .model import ARCHITECTURES, parameter_count

HELD_OUT_EVERY = 8


def held_out(clip: str) -> bool:
    return int(hashlib.sha256(clip.encode()).hexdigest(), 16) % HELD_OUT_EVERY == 0


def load_split(path: Path) -> tuple[dict, dict, list[str]]:
    data = np.load(path, allow_pickle=False)
    clips = data["clip"].astype(str)
    validation = data["split"] == "validation" if "split" in data.files else np.array([held_out(c) for c in clips])
    parts = {}
    for name, mask in (("train", ~validation), ("validation", validation)):
        parts[name] = make_bank(data["poses"][mask], data["expressions"][mask], f"{path}:{name}")
    return parts["train"], parts["validation"], sorted(set(clips[validation]))


class Pool:
    """Bodies drawn once: hip-centred landmarks, pelvis-relative keypoints and the camera-space landmarks."""

    def __init__(self, sampler: LifterSampler, count: int, seed: int, chunk: int = 5000):
        rng = np.random.default_rng(seed)
        parts = []
        for start in range(0, count, chunk):
            joints, points, _ = sampler.bodies(rng, min(chunk, count - start))
            parts.append((sampler.landmarks(joints, points).astype(np.float32),
                          sampler.keypoints(joints, points).astype(np.float32)))
        self.camera_landmarks = np.concatenate([p[0] for p in parts])
        keypoints = np.concatenate([p[1] for p in parts])
        hips = self.camera_landmarks[:, HIPS].mean(axis=1, keepdims=True)
        self.targets = np.concatenate([self.camera_landmarks - hips, keypoints - keypoints[:, :1]], axis=1)
        self.sampler = sampler

    def __len__(self) -> int:
        return len(self.targets)

    def batch(self, rng: np.random.Generator, index: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        from core.lifting.features import input_features

        observed = self.sampler.observe(rng, self.camera_landmarks[index].astype(np.float64))
        return (torch.from_numpy(input_features(**observed).astype(np.float32)),
                torch.from_numpy(self.targets[index]))


class RealPairs:
    """Renders where the landmark stage really ran (training/lifter/mediapipe_errors.py ``observe``): its output as
    the input, the render's truth as the target."""

    def __init__(self, path: Path):
        from core.lifting.features import input_features

        with np.load(path) as data:
            found = data["found"].astype(bool)
            intrinsics = data["intrinsics"][found].astype(np.float64)
            self.features = input_features(data["pixels"][found], data["visibility"][found], data["world"][found],
                                           intrinsics[:, 0], intrinsics[:, 1:]).astype(np.float32)
            landmarks, keypoints = data["landmarks_3d"][found], data["keypoints_3d"][found]
            self.world = data["world"][found].astype(np.float32)
        self.targets = np.concatenate([landmarks - landmarks[:, HIPS].mean(axis=1, keepdims=True),
                                       keypoints - keypoints[:, :1]], axis=1).astype(np.float32)
        self.name, self.count, self.missed = path.name, int(found.sum()), int((~found).sum())

    def __len__(self) -> int:
        return len(self.targets)

    def batch(self, index: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.from_numpy(self.features[index]), torch.from_numpy(self.targets[index])

    def raw(self) -> dict:
        """MediaPipe's own world landmarks against the truth: the figure the lifter has to beat."""
        return errors(self.world, self.targets)


def errors(predicted: np.ndarray, targets: np.ndarray) -> dict:
    """PA-MPJPE and hip-centred MPJPE (mm) over the 12 limb landmarks."""
    limbs = predicted[:, LIMBS], targets[:, LIMBS]
    return {"mpjpe_mm": float(np.linalg.norm(limbs[0] - limbs[1], axis=-1).mean() * 1000),
            "pa_mpjpe_mm": float(pa_error(*limbs).mean() * 1000)}


def evaluate(model: torch.nn.Module, features: torch.Tensor, targets: np.ndarray) -> dict:
    model.eval()
    with torch.no_grad():
        predicted = torch.cat([model(features[i:i + 4096]) for i in range(0, len(features), 4096)]).numpy()
    model.train()
    return {**errors(predicted, targets),
            "keypoints_mm": float(np.linalg.norm(predicted[:, 33:] - targets[:, 33:], axis=-1).mean() * 1000)}


def set_rate(optimiser, base: float, step: int, progress: float, warmup: int = 300) -> None:
    """The learning rate for ``step``: a linear warm-up over ``warmup`` steps, then a cosine decay over the run's
    time (``progress`` 0 at its start, 1 at its deadline)."""
    rate = base * min(1.0, step / warmup) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    for group in optimiser.param_groups:
        group["lr"] = rate


def take_step(optimiser, loss) -> float:
    """One optimiser step down ``loss``; the loss's value."""
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
    return loss.item()


def point_loss(model: torch.nn.Module, rle: RLELoss | None, features: torch.Tensor, targets: torch.Tensor,
               weights: torch.Tensor) -> torch.Tensor:
    """L1 on the points, or for a model with a sigma per axis the RLE loss (MODELS.md A.7) with the same weights."""
    if rle is None:
        return ((model(features) - targets).abs() * weights).mean()
    points, sigma = model.points_and_sigma(features)
    return rle(points, sigma, targets, weights[..., 0].expand(len(targets), -1))


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def export(model: torch.nn.Module, path: Path, metadata: dict) -> None:
    import onnx

    from core.lifting.features import FEATURES

    model.eval()
    torch.onnx.export(model, torch.zeros(1, FEATURES), str(path), input_names=["features"], output_names=["points"],
                      dynamic_axes={"features": {0: "batch"}, "points": {0: "batch"}}, opset_version=17, dynamo=False)
    graph = onnx.load(str(path))
    for key, value in metadata.items():
        graph.metadata_props.add(key=f"pocket_mocap.{key}", value=str(value))
    onnx.save(graph, str(path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bank", type=Path, default=Path("runs/poses.npz"))
    parser.add_argument("--arch", choices=sorted(ARCHITECTURES), default="residual")
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--pool", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("runs/lifter"))
    parser.add_argument("--errors", type=Path, help="MediaPipe's measured error model (mediapipe_errors.json); "
                        "without it, the first guess of training/lifter/data.py")
    parser.add_argument("--real", type=Path, help="observed renders of training clips: real landmark-stage pairs")
    parser.add_argument("--real-share", type=float, default=0.25, help="share of each batch from --real")
    parser.add_argument("--real-validation", type=Path, help="observed renders of held-out clips (figures only)")
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    started = time.time()
    train_bank, validation_bank, held = load_split(args.bank)
    corruption = Corruption.measured(args.errors) if args.errors else Corruption()
    pool = Pool(LifterSampler(train_bank, corruption=corruption), args.pool, args.seed)
    validation = Pool(LifterSampler(validation_bank, kit=pool.sampler.kit, corruption=corruption), 8000,
                      args.seed + 1)
    real = RealPairs(args.real) if args.real else None
    real_validation = RealPairs(args.real_validation) if args.real_validation else None
    real_count = int(round(args.batch * args.real_share)) if real else 0
    val_features, _ = validation.batch(np.random.default_rng(args.seed + 2), np.arange(len(validation)))
    val_targets = validation.targets
    print(f"data: {len(train_bank)} train / {len(validation_bank)} validation poses ({len(held)} clips held out); "
          f"pool {len(pool)} bodies in {time.time() - started:.0f} s", flush=True)
    model = ARCHITECTURES[args.arch]()
    rle = RLELoss(dim=3) if model.uses_rle else None
    parameters = list(model.parameters()) + (list(rle.parameters()) if rle else [])
    optimiser = torch.optim.AdamW(parameters, lr=args.lr, weight_decay=1e-4)
    rng = np.random.default_rng(args.seed + 3)
    deadline = time.time() + args.minutes * 60
    train_start, step, curve, losses = time.time(), 0, [], []
    weights = torch.ones(1, 129, 1)
    weights[:, 33:] = 0.5
    while time.time() < deadline:
        progress = (time.time() - train_start) / (deadline - train_start)
        set_rate(optimiser, args.lr, step, progress)
        features, targets = pool.batch(rng, rng.integers(len(pool), size=args.batch - real_count))
        if real_count:
            extra = real.batch(rng.integers(len(real), size=real_count))
            features, targets = torch.cat([features, extra[0]]), torch.cat([targets, extra[1]])
        losses.append(take_step(optimiser, point_loss(model, rle, features, targets, weights)))
        step += 1
        if step % 500 == 0:
            record = {"step": step, "loss": float(np.mean(losses[-500:])), **evaluate(model, val_features, val_targets)}
            if real_validation:
                record["real"] = evaluate(model, torch.from_numpy(real_validation.features), real_validation.targets)
            curve.append(record)
            print(json.dumps(record), flush=True)
    final = evaluate(model, val_features, val_targets)
    baseline = validation.batch(np.random.default_rng(args.seed + 2), np.arange(len(validation)))[0]
    world = baseline[:, 99:198].numpy().reshape(-1, 33, 3)
    corrupted = {"mpjpe_mm": float(np.linalg.norm(world[:, LIMBS] - val_targets[:, LIMBS], axis=-1).mean() * 1000),
                 "pa_mpjpe_mm": float(pa_error(world[:, LIMBS], val_targets[:, LIMBS]).mean() * 1000)}
    on_renders = {}
    if real_validation:
        on_renders = {"lifter": evaluate(model, torch.from_numpy(real_validation.features), real_validation.targets),
                      "mediapipe_world": real_validation.raw(), "renders": real_validation.count,
                      "missed": real_validation.missed}
    corruption_name = f"MediaPipe's errors measured on renders ({args.errors.name})" if args.errors else \
        "MediaPipe-like corruption (training/lifter/data.py's first guess)"
    real_name = f"; {real.count} real landmark-stage pairs from renders of training clips ({real.name}), " \
        f"{args.real_share:.0%} of each batch" if real else ""
    metadata = {"architecture": args.arch, "parameters": parameter_count(model), "trained_steps": step,
                "loss": "RLE (RealNVP 3D flow, Laplace residual)" if rle else "L1",
                "batch": args.batch, "seed": args.seed, "minutes": args.minutes, "pool": args.pool,
                "data": f"pose bank {args.bank.name} ({len(train_bank)} train poses), open-body shapes, random "
                        f"cameras, {corruption_name}{real_name}",
                "held_out_clips": ",".join(held), "final_loss": float(np.mean(losses[-500:])),
                "validation": json.dumps(final), "validation_input_world": json.dumps(corrupted),
                "validation_renders": json.dumps(on_renders),
                "commit": git_commit(), "command": "python -m training.lifter.train " + " ".join(sys.argv[1:])}
    args.out.mkdir(parents=True, exist_ok=True)
    export(model, args.out / f"{args.arch}.onnx", metadata)
    (args.out / f"{args.arch}.json").write_text(json.dumps({**metadata, "curve": curve}, indent=1))
    print(f"{args.arch}: {parameter_count(model)} parameters, {step} steps; validation {final}; the corrupted world "
          f"landmarks themselves: {corrupted}; held-out renders: {on_renders}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
