"""Train the temporal lifter (core/lifting/temporal.py) on windows of real motion seen through MediaPipe's measured
errors (training/lifter/temporal.py), on the CPU, and export it to ONNX with its training record.

    python -m training.lifter.train_temporal --motion runs/lifter_motion.npz --minutes 25 --out runs/temporal

Clips split by CMU trial as the pose bank splits them (never by frame). The validation figures are the held-out
clips' windows, the same for every run (fixed seed): the centre frame's PA-MPJPE and hip-centred MPJPE over the 12
limb landmarks, for the temporal lifter, for a per-frame lifter on the centre frame alone (``--frame-lifter``), and for
the corrupted world landmarks themselves; and the contacts' precision and recall at 0.5.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from core.lifting.features import FEATURES
from core.lifting.temporal import WINDOW

from ..synth.generator import OpenBodyKit
from . import motion
from .data import MEASURED, Corruption
from .mediapipe_errors import LIMBS, pa_error
from .model import TemporalLifter, parameter_count
from .real_sequences import RealWindows
from .temporal import ClipBodies, WindowSampler
from .train import git_commit, set_rate, take_step

COMMAND = "python3 tools/dev.py train-temporal"
CONTACT_WEIGHT = 0.1


def limb_errors(predicted: np.ndarray, targets: np.ndarray) -> dict:
    limbs = predicted[:, LIMBS], targets[:, LIMBS]
    return {"pa_mpjpe_mm": round(float(pa_error(*limbs).mean() * 1000), 2),
            "mpjpe_mm": round(float(np.linalg.norm(limbs[0] - limbs[1], axis=-1).mean() * 1000), 2)}


def contact_scores(probabilities: np.ndarray, truth: np.ndarray) -> dict:
    found, real = probabilities >= 0.5, truth >= 0.5
    hits = float((found & real).sum())
    return {"precision": round(hits / max(float(found.sum()), 1.0), 3),
            "recall": round(hits / max(float(real.sum()), 1.0), 3)}


def evaluate(model: TemporalLifter, validation: dict) -> dict:
    model.eval()
    with torch.no_grad():
        parts = [model(torch.from_numpy(validation["inputs"][i:i + 2048])) for i in range(0, len(validation["inputs"]),
                                                                                           2048)]
    model.train()
    points = torch.cat([p[0] for p in parts]).numpy()
    contacts = torch.sigmoid(torch.cat([p[1] for p in parts])).numpy()
    return {**limb_errors(points, validation["targets"]),
            "keypoints_mm": round(float(np.linalg.norm(points[:, 33:] - validation["targets"][:, 33:],
                                                       axis=-1).mean() * 1000), 2),
            "contacts": contact_scores(contacts, validation["contacts"])}


def baselines(validation: dict, frame_lifter: Path | None) -> dict:
    """The centre frame's corrupted world landmarks, and a per-frame lifter on the centre frame alone."""
    centre = validation["inputs"][:, WINDOW // 2, :FEATURES]
    world = centre[:, 99:198].reshape(-1, 33, 3)
    out = {"mediapipe_world": limb_errors(world, validation["targets"])}
    if frame_lifter is not None and frame_lifter.is_file():
        import onnxruntime

        session = onnxruntime.InferenceSession(str(frame_lifter), providers=["CPUExecutionProvider"])
        points = session.run(None, {session.get_inputs()[0].name: centre.astype(np.float32)})[0]
        out["frame_lifter"] = limb_errors(points, validation["targets"])
    return out


class ClipModule(torch.nn.Module):
    """The exported graph: a padded clip ``(1, T + 26, F + 1)`` -> points ``(1, T, 129, 3)``, contact logits
    ``(1, T, 4)``."""

    def __init__(self, model: TemporalLifter):
        super().__init__()
        self.model = model

    def forward(self, padded: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.clip(padded)


def export(model: TemporalLifter, path: Path, metadata: dict) -> None:
    import onnx

    graph_module = ClipModule(model).eval()  # the exporter puts back the wrapper's mode, down to the model
    torch.onnx.export(graph_module, torch.zeros(1, WINDOW + 10, FEATURES + 1), str(path),
                      input_names=["features"], output_names=["points", "contacts"],
                      dynamic_axes={"features": {1: "padded_frames"}, "points": {1: "frames"},
                                    "contacts": {1: "frames"}}, opset_version=17, dynamo=False)
    graph = onnx.load(str(path))
    for key, value in metadata.items():
        graph.metadata_props.add(key=f"pocket_mocap.{key}", value=str(value))
    onnx.save(graph, str(path))


def load_onnx_weights(model: TemporalLifter, path: Path) -> None:
    """Start from an exported run's weights (``--init``): the initialisers by name, the two linear layers the
    exporter stores transposed under generated names by their shapes."""
    import onnx

    found = {item.name: onnx.numpy_helper.to_array(item) for item in onnx.load(str(path)).graph.initializer}
    state = model.state_dict()
    for name in state:
        key = f"model.{name}"
        if key in found:
            state[name] = torch.from_numpy(found[key].copy())
        else:
            matches = [value for value in found.values() if value.shape == tuple(state[name].shape[::-1])]
            if len(matches) != 1:
                raise ValueError(f"{path.name} has no single weight for {name}.")
            state[name] = torch.from_numpy(matches[0].T.copy())
    model.load_state_dict(state)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--motion", type=Path, default=Path("runs/lifter_motion.npz"))
    parser.add_argument("--minutes", type=float, default=25.0)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--validation-windows", type=int, default=4000)
    parser.add_argument("--errors", type=Path, default=MEASURED)
    parser.add_argument("--frame-lifter", type=Path, help="a per-frame lifter (.onnx) to compare with")
    parser.add_argument("--init", type=Path, help="start from this exported run's weights (.onnx)")
    parser.add_argument("--real", type=Path, help="rendered training clips with the landmark stage run on them "
                        "(training/lifter/real_sequences.py): real windows")
    parser.add_argument("--real-share", type=float, default=0.25, help="share of each batch from --real")
    parser.add_argument("--mirror-rate", type=float, default=0.0, help="share of simulated windows mirrored")
    parser.add_argument("--out", type=Path, default=Path("runs/temporal"))
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    started = time.time()
    if not args.motion.is_file():
        motion.main(["--out", str(args.motion)])
    clips = motion.load(args.motion)
    train_clips = [c for c in clips if c["split"] == "train"]
    held = [c for c in clips if c["split"] == "validation"]
    kit = OpenBodyKit()
    corruption = Corruption.measured(args.errors)
    train = WindowSampler(ClipBodies(train_clips, kit, args.seed), corruption, mirror_rate=args.mirror_rate)
    validation_sampler = WindowSampler(ClipBodies(held, kit, args.seed + 1), corruption)
    validation = validation_sampler.batch(np.random.default_rng(args.seed + 2), args.validation_windows)
    compared = baselines(validation, args.frame_lifter)
    frames = int(train.bodies.counts.sum())
    print(f"data: {len(train_clips)} clips ({frames} frames) to train, {len(held)} held out "
          f"({int(validation_sampler.bodies.counts.sum())} frames) in {time.time() - started:.0f} s; "
          f"on the held-out windows {json.dumps(compared)}", flush=True)
    model = TemporalLifter()
    if args.init:
        load_onnx_weights(model, args.init)
    real = RealWindows(args.real) if args.real else None
    real_count = int(round(args.batch * args.real_share)) if real else 0
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    rng = np.random.default_rng(args.seed + 3)
    weights = torch.ones(1, 129, 1)
    weights[:, 33:] = 0.5
    deadline = time.time() + args.minutes * 60
    train_start, step, curve, losses = time.time(), 0, [], []
    while time.time() < deadline:
        progress = (time.time() - train_start) / (deadline - train_start)
        set_rate(optimiser, args.lr, step, progress)
        batch = train.batch(rng, args.batch - real_count)
        inputs, targets, contacts = (torch.from_numpy(batch[key]) for key in ("inputs", "targets", "contacts"))
        if real_count:
            extra = real.batch(rng, real_count)
            inputs, targets, contacts = (torch.cat([a, b]) for a, b in zip((inputs, targets, contacts), extra,
                                                                            strict=True))
        points, logits = model(inputs)
        loss = ((points - targets).abs() * weights).mean() + CONTACT_WEIGHT * \
            torch.nn.functional.binary_cross_entropy_with_logits(logits, contacts)
        losses.append(take_step(optimiser, loss))
        step += 1
        if step % 250 == 0:
            record = {"step": step, "minutes": round((time.time() - train_start) / 60, 1),
                      "loss": round(float(np.mean(losses[-250:])), 5), **evaluate(model, validation)}
            curve.append(record)
            print(json.dumps(record), flush=True)
    final = evaluate(model, validation)
    before = {}
    if args.init:
        import onnx

        earlier = {item.key: item.value for item in onnx.load(str(args.init)).metadata_props}
        before = {"init_trained_steps": earlier.get("pocket_mocap.trained_steps", "unknown"),
                  "init_validation": earlier.get("pocket_mocap.validation", "{}")}
    metadata = {"architecture": "temporal", "parameters": parameter_count(model), "trained_steps": step, **before,
                "batch": args.batch, "seed": args.seed, "minutes": args.minutes, "window": WINDOW,
                "data": f"{args.motion.name}: {len(train_clips)} motion-capture clips ({frames} frames at 30 fps; "
                        f"CC_Base BVH and extra/ but FBX), one open-body shape each, random static cameras, "
                        f"MediaPipe's errors measured on renders ({args.errors.name}) moving in time"
                        + (f", {args.mirror_rate:.0%} of windows mirrored" if args.mirror_rate else "")
                        + (f"; {len(real)} real landmark-stage windows from {real.clips} rendered training clips "
                           f"({args.real.name}), {args.real_share:.0%} of each batch" if real else "")
                        + (f"; started from {args.init.parent.name}/{args.init.name}" if args.init else ""),
                "held_out_clips": ",".join(sorted({c["trial"] for c in held})),
                "final_loss": round(float(np.mean(losses[-250:])), 5), "validation": json.dumps(final),
                "validation_baselines": json.dumps(compared), "commit": git_commit(), "command": COMMAND}
    args.out.mkdir(parents=True, exist_ok=True)
    export(model, args.out / "temporal.onnx", metadata)
    (args.out / "temporal.json").write_text(json.dumps({**metadata, "curve": curve}, indent=1))
    print(f"temporal: {parameter_count(model)} parameters, {step} steps in {args.minutes:g} min; held-out windows "
          f"{json.dumps(final)}; against {json.dumps(compared)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
