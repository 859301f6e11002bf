"""Benchmark: the video smoothing's jitter, lag and error on held-out motion capture, where the truth is known.

    .venv/bin/python tools/bench_smoothing.py [--seconds 10] [--strength 0.5]

The CC_Base clips of ../shared/mocap held out of every training (by CMU trial, as the pose bank splits them), at
30 fps on the open body, seen by a static camera. A fit is simulated on each (training/contact/data.py's
``noisy_fit``: joint angles off by slow and frame-to-frame noise, the distance wandering). Its output then goes
through no smoothing, through the One-Euro pass the fit streams (the old default's output stage), and through that
pass plus the one back in time that a finished clip gets now (``core/pipeline/smoothing.backward_pass``).

Per row, medians over clips and noise draws:
- jitter: mean acceleration of the 12 limb joints, hip-centred (m/s², as tools/bench_reconstruct.py);
- lag: frames the joints run behind the truth's, the unfiltered motion (``metrics.lag_frames``, to a tenth of a
  frame; negative: ahead);
- error: mean distance of the hip-centred limb joints from the truth's (mm).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT))
import metrics  # noqa: E402

from pocket_mocap.core.bodymodel.library import load_body  # noqa: E402
from pocket_mocap.core.estimators import posed_joints  # noqa: E402
from pocket_mocap.core.pipeline.smoothing import (  # noqa: E402
    OneEuroFilter,
    backward_pass,
    filtered_rotations,
    jitter,
)

MOCAP = ROOT.parent / "shared" / "mocap" / "bvh"
NOISE = {  # the simulated fit's errors (training/contact/data.py's FitNoise), mild and as the real fits wander
    "mild": dict(angle_slow_degrees=1.5, angle_jitter_degrees=1.0, depth_jitter=0.003),
    "real-like": dict(depth_slow=0.03, depth_seconds=0.5, depth_jitter=0.006, angle_slow_degrees=3.0,
                      angle_jitter_degrees=2.0),
}


def streamed(poses: np.ndarray, trans: np.ndarray, fps: float, strength: float) -> tuple[np.ndarray, np.ndarray]:
    """The fit's own output stage, frame by frame forwards (core/pipeline/reconstruct.Lane)."""
    rotations, translation = OneEuroFilter(fps, strength), OneEuroFilter(fps, strength)
    out_poses = np.stack([filtered_rotations(rotations, p) for p in poses])
    return out_poses, np.stack([translation(t) for t in trans])


def limbs(rest: np.ndarray, parents, poses: np.ndarray, trans: np.ndarray) -> np.ndarray:
    joints = np.stack([posed_joints(rest, parents, "smplx", p, t) for p, t in zip(poses, trans, strict=True)])
    chosen = joints[:, metrics.SMPL_LIMBS]
    return chosen - (chosen[:, :1] + chosen[:, 3:4]) / 2  # hip-centred


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--strength", type=float, default=0.5, help="the smoothing setting (default: the default)")
    parser.add_argument("--draws", type=int, default=2, help="noise draws per clip")
    args = parser.parse_args()
    if not MOCAP.is_dir():
        print(f"The motion capture clips are not at {MOCAP}: nothing to measure.")
        return 0
    from training.contact.data import FitNoise, clips, noisy_fit
    from training.synth.sequences import seen_clip

    body = load_body("open", "smplx")
    rest, parents = body.rest_joints(), body.parents
    pelvis = rest[0]
    paths = clips(MOCAP, "validation")
    print(f"{len(paths)} held-out clips ({', '.join(p.stem for p in paths)}), first {args.seconds:g} s at 30 fps, "
          f"smoothing {args.strength:g}, {args.draws} noise draws each")
    rows: dict[tuple[str, str], dict[str, list[float]]] = {}
    for index, path in enumerate(paths):
        sequence, _, poses, trans = seen_clip(path, body, seconds=args.seconds)
        fps = sequence.fps
        truth = limbs(rest, parents, poses, trans)
        for (level, strengths), draw in ((item, d) for item in NOISE.items() for d in range(args.draws)):
            rng = np.random.default_rng(1000 * index + draw)
            fit = noisy_fit(poses, trans, pelvis, FitNoise(**strengths), fps, rng)
            raw_poses, raw_trans = fit["poses"].astype(np.float64), fit["trans"].astype(np.float64)
            forward = streamed(raw_poses, raw_trans, fps, args.strength)
            both = backward_pass(*forward, fps, args.strength)
            unsmoothed = limbs(rest, parents, raw_poses, raw_trans)
            for name, (p, t) in (("none", (raw_poses, raw_trans)), ("streamed (old)", forward),
                                 ("streamed + back (now)", both)):
                points = unsmoothed if name == "none" else limbs(rest, parents, p, t)
                row = rows.setdefault((level, name), {"jitter": [], "lag": [], "error": []})
                row["jitter"].append(jitter(points, fps))
                row["lag"].append(metrics.lag_frames(points, truth))
                row["error"].append(1000 * float(np.linalg.norm(points - truth, axis=-1).mean()))
        truth_jitter = jitter(truth, fps)
        rows.setdefault(("truth", "the motion itself"), {"jitter": [], "lag": [], "error": []})
        rows[("truth", "the motion itself")]["jitter"].append(truth_jitter)
        rows[("truth", "the motion itself")]["lag"].append(0)
        rows[("truth", "the motion itself")]["error"].append(0.0)
    print(f"{'noise':10s} {'smoothing':24s} {'jitter m/s²':>12s} {'lag frames':>11s} {'error mm':>9s}")
    for (level, name), row in rows.items():
        print(f"{level:10s} {name:24s} {statistics.median(row['jitter']):12.2f} "
              f"{statistics.median(row['lag']):11.2f} {statistics.median(row['error']):9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
