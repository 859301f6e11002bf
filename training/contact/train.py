"""Train the learned contact model (``core/grounding/contact_model.py``) on motion capture seen through simulated
fits, and write it with its training record.

    .venv/bin/python -m training.contact.train --mocap ../shared/mocap/bvh --out core/grounding/models/contact_model.npz

Clips are split by trial as the pose bank splits them (``training.synth.poses.split_of``); the held-out trials give
the validation figures, measured with the numpy network the extension runs and the same hysteresis, against the
height-and-speed rule on the same views. ``--motion runs/lifter_motion.npz`` adds the clips of ``extra/`` (the
training split, as ``training.lifter.motion`` retargeted them); measured, they do not help (docs/grounding.md), so
``train-contact`` leaves them out.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.bodymodel.library import load_body
from core.grounding.contact_model import FEATURES, ContactModel
from core.grounding.ground import found_contacts
from training.synth.mocap_sources import trial_id

from .data import MIRROR_POINTS, clips, load_sequences, mirrored_features, motion_sequences, real_samples, sample

ROOT = Path(__file__).resolve().parents[2]
COMMAND = "python3 tools/dev.py train-contact"


class Network(nn.Module):
    """The torch twin of ``ContactModel``: the same layers, edge-padded centred dilated convolutions."""

    def __init__(self, channels: int, kernel: int, dilations: tuple[int, ...]):
        super().__init__()
        self.dilations = dilations
        self.input = nn.Conv1d(FEATURES, channels, 1)
        self.a = nn.ModuleList(nn.Conv1d(channels, channels, kernel, dilation=d, padding=d * (kernel - 1) // 2,
                                         padding_mode="replicate") for d in dilations)
        self.b = nn.ModuleList(nn.Conv1d(channels, channels, 1) for _ in dilations)
        self.output = nn.Conv1d(channels, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, FEATURES, F) -> logits (B, 4, F)
        x = self.input(x)
        for a, b in zip(self.a, self.b, strict=True):
            x = x + b(torch.relu(a(torch.relu(x))))
        return self.output(torch.relu(x))

    def arrays(self) -> dict:
        out = {"input_weight": self.input.weight, "input_bias": self.input.bias,
               "output_weight": self.output.weight, "output_bias": self.output.bias}
        for block, (a, b) in enumerate(zip(self.a, self.b, strict=True)):
            out |= {f"block{block}_a_weight": a.weight, f"block{block}_a_bias": a.bias,
                    f"block{block}_b_weight": b.weight, f"block{block}_b_bias": b.bias}
        return {key: value.detach().numpy().astype(np.float32) for key, value in out.items()}


def views(sequences, body, count: int, rng: np.random.Generator) -> list:
    return [sample(sequence, body, rng) for sequence in sequences for _ in range(count)]


def precision_recall(samples, contacts: ContactModel | None) -> tuple[float, float]:
    """Pooled over ``samples``, with the model (or the rule where ``None``) as grounding finds contacts."""
    totals = np.zeros(3)
    for item in samples:
        _, flags = found_contacts(item.evidence, contacts)
        truth = item.labels >= 0.5
        totals += ((flags & truth).sum(), flags.sum(), truth.sum())
    return float(totals[0] / max(totals[1], 1)), float(totals[0] / max(totals[2], 1))


def commit() -> str:
    """The commit trained from, with ``+changes`` when the training code differed from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--", "training", "core"], cwd=ROOT,
                                 capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if changed else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mocap", type=Path, required=True, help="the CC_Base BVH folder (../shared/mocap/bvh)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=ROOT / "runs" / "contact")
    parser.add_argument("--views", type=int, default=24, help="views of each training clip at each speed")
    parser.add_argument("--speeds", type=float, nargs="+", default=[1.0],
                        help="playback speeds of the clips (0.5: twice as slow; the files are at 60 fps)")
    parser.add_argument("--motion", type=Path, help="training.lifter.motion's file: its clips from extra/ (the "
                                                    "pose bank's training split) join the CC_Base clips at speed 1")
    parser.add_argument("--motion-views", type=int, default=2, help="views of each --motion clip")
    parser.add_argument("--real", type=Path, nargs="+", default=[],
                        help="folders of kept reconstructions of rendered training clips (training.contact.renders; "
                             "one folder per view)")
    parser.add_argument("--real-validation", type=Path, help="kept reconstructions of rendered held-out clips "
                                                             "(training.contact.renders --split validation), "
                                                             "measured after training, never trained on")
    parser.add_argument("--real-share", type=float, default=0.2, help="of each batch, from --real")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--window", type=int, default=240, help="frames per training crop")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--channels", type=int, default=48)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    rng = np.random.default_rng(args.seed)
    started = time.time()
    body = load_body("open", "smplx", "", "neutral")
    train_paths, held_paths = clips(args.mocap, "train"), clips(args.mocap, "validation")
    samples = []
    for speed in args.speeds:
        train = load_sequences(train_paths, body, args.cache / f"sequences_train_{speed:g}.npz", speed)
        samples += views(train, body, args.views, rng)
    extra = []
    if args.motion is not None:
        extra = motion_sequences(args.motion, body, {trial_id(*p.stem.split("_")[:2]) for p in held_paths})
        samples += views(extra, body, args.motion_views, rng)
    held = load_sequences(held_paths, body, args.cache / "sequences_validation_1.npz")
    validation = views(held, body, 8, np.random.default_rng(args.seed + 1))
    fitted = load_body("open", "smpl", "", "neutral")
    real = [item for folder in args.real for item in real_samples(folder, args.mocap, body, fitted)]
    real = [item for item in real if item.labels.shape[0] >= 30]
    held_stems = {p.stem for p in held_paths}
    if any(item.name in held_stems for item in real):
        raise SystemExit("--real holds renders of held-out clips")
    print(f"{len(samples)} training views ({sum(len(s.labels) for s in samples)} frames) of {len(train_paths)} "
          f"clips at speeds {args.speeds} and {len(extra)} more at 1, {len(real)} rendered clips, "
          f"{len(validation)} held-out views of {len(held)} clips, {time.time() - started:.0f} s", flush=True)

    stacked = np.concatenate([s.features[s.features[:, -1] > 0] for s in samples])
    mean, scale = stacked.mean(axis=0), stacked.std(axis=0) + 1e-3
    mean[-1], scale[-1] = 0.0, 1.0  # the seen flag stays 0 / 1
    network = Network(args.channels, 3, (1, 2, 4, 8))
    optimiser = torch.optim.AdamW(network.parameters(), lr=2e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=2e-3, total_steps=args.steps)
    loss_function = nn.BCEWithLogitsLoss(reduction="none")
    pools = [samples] + ([real] if real else [])
    normalised = [[((s.features - mean) / scale).astype(np.float32) for s in pool] for pool in pools]
    mirrored = [((mirrored_features(s.features) - mean) / scale).astype(np.float32) for s in real]
    weights = [np.array([len(s.labels) for s in pool], np.float64) for pool in pools]
    weights = [w / w.sum() for w in weights]
    losses = []
    for step in range(args.steps):
        xs, ys, masks = [], [], []
        for _ in range(args.batch):
            pool = 1 if real and rng.random() < args.real_share else 0
            index = rng.choice(len(pools[pool]), p=weights[pool])
            frames = len(pools[pool][index].labels)
            start = rng.integers(0, max(1, frames - args.window + 1))
            x = normalised[pool][index][start:start + args.window]
            y = pools[pool][index].labels[start:start + args.window]
            if pool == 1 and rng.random() < 0.5:  # a rendered clip's mirror image (simulated views mirror already)
                x, y = mirrored[index][start:start + args.window], y[:, MIRROR_POINTS]
            mask = np.ones(len(y), np.float32)
            if len(x) < args.window:  # a short clip: edge-padded as the network pads, the padding not scored
                pad = args.window - len(x)
                x, y = np.pad(x, ((0, pad), (0, 0)), mode="edge"), np.pad(y, ((0, pad), (0, 0)), mode="edge")
                mask = np.pad(mask, (0, pad))
            xs.append(x.T)
            ys.append(y.T)
            masks.append(mask)
        logits = network(torch.from_numpy(np.stack(xs)))
        mask = torch.from_numpy(np.stack(masks))[:, None]
        loss = (loss_function(logits, torch.from_numpy(np.stack(ys))) * mask).sum() / (mask.sum() * 4)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        losses.append(loss.item())
        if step % 250 == 0 or step == args.steps - 1:
            print(f"step {step} loss {np.mean(losses[-250:]):.4f} ({time.time() - started:.0f} s)", flush=True)

    record = {"architecture": {"kind": "temporal convolution, centred", "channels": args.channels, "kernel": 3,
                               "dilations": [1, 2, 4, 8], "parameters": sum(p.numel() for p in network.parameters())},
              "steps": args.steps, "batch": args.batch, "window": args.window, "seed": args.seed,
              "data": {"clips": [p.stem for p in train_paths], "views_per_clip": args.views, "speeds": args.speeds,
                       "frames": int(sum(len(s.labels) for s in samples)), "source": "../shared/mocap/bvh (CC_Base)",
                       "more_clips": [s.name for s in extra], "more_views_per_clip": args.motion_views if extra else 0,
                       "fit_noise": "training.contact.data.FitNoise.draw",
                       "rendered_clips": sorted(item.name for item in real),
                       "rendered_views": [folder.name for folder in args.real],
                       "rendered_share": args.real_share if real else 0.0},
              "held_out_clips": [p.stem for p in held_paths],
              "losses": {"first_250": float(np.mean(losses[:250])), "last_250": float(np.mean(losses[-250:]))},
              "command": COMMAND, "commit": commit(), "minutes": round((time.time() - started) / 60, 1),
              "validation": {}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, **network.arrays(), feature_mean=mean.astype(np.float32),
             feature_scale=scale.astype(np.float32), record=json.dumps(record | {"validation": {"pending": 1}}))
    model = ContactModel(args.out)
    learned = precision_recall(validation, model)
    rule = precision_recall(validation, None)
    record["validation"] = {"views": len(validation), "learned_precision_recall": learned,
                            "rule_precision_recall": rule}
    if args.real_validation is not None:
        rendered = real_samples(args.real_validation, args.mocap, body, fitted)
        if any(item.name not in held_stems for item in rendered):
            raise SystemExit("--real-validation holds renders of training clips")
        record["validation"] |= {"rendered_clips": sorted(item.name for item in rendered),
                                 "rendered_learned_precision_recall": precision_recall(rendered, model),
                                 "rendered_rule_precision_recall": precision_recall(rendered, None)}
    np.savez(args.out, **network.arrays(), feature_mean=mean.astype(np.float32),
             feature_scale=scale.astype(np.float32), record=json.dumps(record))
    print(f"held-out views: learned precision / recall {learned[0]:.3f} / {learned[1]:.3f}, rule {rule[0]:.3f} / "
          f"{rule[1]:.3f}; wrote {args.out} ({time.time() - started:.0f} s)", flush=True)
    if "rendered_clips" in record["validation"]:
        found, rule = (record["validation"][f"rendered_{key}_precision_recall"] for key in ("learned", "rule"))
        print(f"held-out rendered clips {record['validation']['rendered_clips']}: learned precision / recall "
              f"{found[0]:.3f} / {found[1]:.3f}, rule {rule[0]:.3f} / {rule[1]:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
