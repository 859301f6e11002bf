"""Fit the bundled pose prior: a Gaussian mixture (full covariances, EM in numpy) over body joints 1..21 of the pose
bank's training clips; the validation clips (split by trial, never by frame) give the held-out figures.

    python -m training.prior.fit --bank runs/poses.npz --components 8 --out core/prior/models/pose_prior.npz
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from core.prior.gmm import DIMENSIONS, PosePrior

REGULARISATION = 1e-4  # rad^2 added to every variance: no component collapses onto a clip's few frames


def body_poses(bank: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Train and validation poses ``(N, 63)`` and the validation clips."""
    with np.load(bank, allow_pickle=False) as data:
        poses = data["poses"][:, 1:22].reshape(len(data["poses"]), DIMENSIONS).astype(np.float64)
        validation = data["split"] == "validation"
        clips = sorted(set(data["clip"][validation].astype(str)))
    return poses[~validation], poses[validation], clips


def _log_densities(x: np.ndarray, means, cholesky, log_weights) -> np.ndarray:
    """``(N, K)`` log(w_k N(x | mu_k, Sigma_k))."""
    log_det = np.log(np.diagonal(cholesky, axis1=1, axis2=2)).sum(axis=1)
    out = np.empty((len(x), len(means)))
    for k in range(len(means)):
        whitened = (x - means[k]) @ cholesky[k]
        out[:, k] = log_weights[k] + log_det[k] - 0.5 * (whitened ** 2).sum(1) - 0.5 * DIMENSIONS * np.log(2 * np.pi)
    return out


def fit_mixture(x: np.ndarray, components: int, iterations: int, seed: int) -> tuple[np.ndarray, ...]:
    """EM from k-means++-style seeds; returns means, precision Cholesky factors, log weights, mean log likelihood
    per iteration."""
    rng = np.random.default_rng(seed)
    centres = [x[rng.integers(len(x))]]
    for _ in range(components - 1):
        distance = np.min([((x - c) ** 2).sum(1) for c in centres], axis=0)
        centres.append(x[rng.choice(len(x), p=distance / distance.sum())])
    means = np.array(centres)
    covariance = np.cov(x.T) + REGULARISATION * np.eye(DIMENSIONS)
    cholesky = np.repeat(np.linalg.cholesky(np.linalg.inv(covariance))[None], components, axis=0)
    log_weights = np.full(components, -np.log(components))
    curve = []
    for _ in range(iterations):
        log_p = _log_densities(x, means, cholesky, log_weights)
        top = log_p.max(axis=1, keepdims=True)
        total = top[:, 0] + np.log(np.exp(log_p - top).sum(axis=1))
        curve.append(float(total.mean()))
        responsibility = np.exp(log_p - total[:, None])
        mass = responsibility.sum(axis=0) + 1e-9
        log_weights = np.log(mass / len(x))
        means = (responsibility.T @ x) / mass[:, None]
        for k in range(components):
            centred = x - means[k]
            covariance = (responsibility[:, k, None] * centred).T @ centred / mass[k]
            covariance += REGULARISATION * np.eye(DIMENSIONS)
            cholesky[k] = np.linalg.cholesky(np.linalg.inv(covariance))
    return means, cholesky, log_weights, curve


def mean_log_likelihood(x: np.ndarray, means, cholesky, log_weights) -> float:
    log_p = _log_densities(x, means, cholesky, log_weights)
    top = log_p.max(axis=1, keepdims=True)
    return float((top[:, 0] + np.log(np.exp(log_p - top).sum(axis=1))).mean())


def corrupted(poses: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The same poses with three random joints turned by 0.6 rad about random axes: a plausibility test set."""
    out = poses.reshape(len(poses), 21, 3).copy()
    for row in out:
        for joint in rng.choice(21, 3, replace=False):
            axis = rng.normal(size=3)
            row[joint] += 0.6 * axis / np.linalg.norm(axis)
    return out.reshape(len(poses), DIMENSIONS)


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bank", type=Path, default=Path("runs/poses.npz"))
    parser.add_argument("--components", type=int, default=8)
    parser.add_argument("--iterations", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("core/prior/models/pose_prior.npz"))
    args = parser.parse_args(argv)
    started = time.time()
    train, validation, held_out = body_poses(args.bank)
    means, cholesky, log_weights, curve = fit_mixture(train, args.components, args.iterations, args.seed)
    rng = np.random.default_rng(args.seed + 1)
    sample = validation[rng.choice(len(validation), min(5000, len(validation)), replace=False)]
    record = {"components": args.components, "iterations": args.iterations, "seed": args.seed,
              "data": f"pose bank {args.bank.name}: body joints 1..21 of {len(train)} training poses (mirrors "
                      "included)", "held_out_clips": len(held_out), "held_out_poses": len(validation),
              "train_log_likelihood": curve[-1],
              "validation_log_likelihood": mean_log_likelihood(validation, means, cholesky, log_weights),
              "curve": curve[::10] + curve[-1:], "seconds": round(time.time() - started, 1),
              "commit": git_commit(), "command": "python -m training.prior.fit " + " ".join(sys.argv[1:])}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, means=means.astype(np.float32), precision_cholesky=cholesky.astype(np.float32),
                        log_weights=log_weights.astype(np.float32), record=json.dumps(record))
    prior = PosePrior(args.out)
    clean, broken = prior.energy(sample), prior.energy(corrupted(sample, rng))
    record["held_out_ranked_above_corrupted"] = float((clean < broken).mean())
    np.savez_compressed(args.out, means=means.astype(np.float32), precision_cholesky=cholesky.astype(np.float32),
                        log_weights=log_weights.astype(np.float32), record=json.dumps(record))
    print(json.dumps({k: v for k, v in record.items() if k != "curve"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
