"""MediaPipe's real errors, measured where the truth is known: the extension's own landmark stage (core/landmarks,
MediaPipe's converted pose models) run on the generator's mode (a) Cycles renders, then a small error model fitted
to what it got wrong, which the lifter's training draws its corruption from (training/lifter/data.py).

    python -m training.lifter.mediapipe_errors bank BANK.npz OUT.npz --split train --every 4   # poses to render
    python -m training.synth.generate --mode rgb --poses OUT.npz ...           # the renders (docs/synth_generator.md)
    python -m training.lifter.mediapipe_errors observe RENDERS_DIR OUT.npz     # landmarks on every render
    python -m training.lifter.mediapipe_errors fit OBSERVED.npz MODEL.json     # the error model, with its figures

Units: 2D errors are fractions of the person's size in the image (the longer side of the box of the true
landmarks), world errors metres in camera axes, hip-centred as MediaPipe's world landmarks are.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from core.lifting.features import HIPS, LANDMARKS

SHOULDERS = [11, 12]
LIMBS = [11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]  # shoulders, elbows, wrists, hips, knees, ankles
QUANTILES = np.linspace(0.0, 1.0, 21)
OUTLIER = 0.1  # a 2D landmark further than this share of the person's size is an outlier
FACING = (("front", 0, 60), ("side", 60, 120), ("back", 120, 181))  # degrees between facing and the camera
TILT = (("upright", 0, 30), ("bent", 30, 60), ("lying", 60, 181))  # degrees between torso and image up


def bank_part(bank: Path, out: Path, split: str, every: int = 1) -> int:
    """Write the poses of one split of a pose bank (every ``every``-th frame) as a bank of its own; returns the
    count. The renders of training clips and of held-out clips come from two such parts."""
    with np.load(bank, allow_pickle=False) as data:
        count = len(data["poses"])
        chosen = np.flatnonzero(data["split"] == split)[::every]
        part = {key: data[key][chosen] if data[key].ndim and len(data[key]) == count else data[key]
                for key in data.files}
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **part)
    return len(chosen)


# -- observing ------------------------------------------------------------------------------------------------

def observe(renders: Path, limit: int | None = None) -> dict[str, np.ndarray]:
    """Run the landmark stage (single images, as for a photo) on every render of a mode (a) shard folder and keep
    its output next to the truth."""
    from core.landmarks.pose import PoseTracker

    tracker = PoseTracker(video=False)
    keep = ("landmarks_2d", "landmarks_3d", "landmark_visible", "landmark_present", "intrinsics", "keypoints_3d",
            "pose_index")
    rows: dict[str, list] = {key: [] for key in (*keep, "found", "pixels", "visibility", "presence", "world")}
    shards = sorted(renders.glob("shard_*.npz"))
    if not shards:
        raise SystemExit(f"{renders} holds no shards: make them with training.synth.generate --mode rgb.")
    for shard in shards:
        with np.load(shard) as data:
            if "rgb" not in data.files or "landmarks_3d" not in data.files:
                raise SystemExit(f"{shard} is not a mode (a) shard with landmarks_3d (generator version 2).")
            for index in range(len(data["rgb"])):
                points = tracker(np.ascontiguousarray(data["rgb"][index]))
                for key in keep:
                    rows[key].append(data[key][index])
                rows["found"].append(points is not None)
                size = data["rgb"].shape[1:3][::-1]
                rows["pixels"].append(points.pixels(*size)[:, :2] if points else np.full((LANDMARKS, 2), np.nan))
                rows["visibility"].append(points.visibility if points else np.zeros(LANDMARKS))
                rows["presence"].append(points.presence if points else np.zeros(LANDMARKS))
                rows["world"].append(points.world if points else np.full((LANDMARKS, 3), np.nan))
                if limit and len(rows["found"]) >= limit:
                    break
        if limit and len(rows["found"]) >= limit:
            break
    return {key: np.asarray(value) for key, value in rows.items()}


# -- measuring ------------------------------------------------------------------------------------------------

def view_angles(landmarks_3d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per sample, degrees: how far the body faces away from the camera (0 front, 180 back) and how far its torso
    leans from the image's up (0 upright, 90 lying), from camera-space ``landmarks_3d (n, 33, 3)``."""
    hips = landmarks_3d[:, HIPS].mean(axis=1)
    up = landmarks_3d[:, SHOULDERS].mean(axis=1) - hips
    left = landmarks_3d[:, 23] - landmarks_3d[:, 24]  # camera axes are x right, y down, z forward
    forward = np.cross(left, up)  # camera axes: left x up points out of the chest
    to_camera = -hips
    facing = np.degrees(np.arccos(np.clip(_cosine(forward, to_camera), -1, 1)))
    tilt = np.degrees(np.arccos(np.clip(_cosine(up, np.array([0.0, -1.0, 0.0])), -1, 1)))
    return facing, tilt


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(-1) / np.maximum(np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), 1e-9)


def person_size(pixels: np.ndarray) -> np.ndarray:
    """Longer side of the box of ``pixels (n, 33, 2)``."""
    return np.maximum(np.ptp(pixels, axis=1).max(axis=1), 1.0)


def pa_error(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Mean point error ``(n,)`` after the best similarity transform (Procrustes with scale)."""
    p = predicted - predicted.mean(axis=1, keepdims=True)
    t = truth - truth.mean(axis=1, keepdims=True)
    u, s, vt = np.linalg.svd(np.einsum("npi,npj->nij", p, t))
    d = np.sign(np.linalg.det(np.einsum("nij,njk->nik", u, vt)))
    s[:, -1] *= d
    u[:, :, -1] *= d[:, None]
    rotation = np.einsum("nij,njk->nik", u, vt)
    scale = s.sum(axis=1) / np.maximum((p ** 2).sum(axis=(1, 2)), 1e-12)
    aligned = scale[:, None, None] * np.einsum("npi,nij->npj", p, rotation)
    return np.linalg.norm(aligned - t, axis=-1).mean(axis=1)


def world_truth(observed: dict) -> np.ndarray:
    """Hip-centred camera-space landmarks ``(n, 33, 3)``: what MediaPipe's world landmarks should be."""
    truth = observed["landmarks_3d"].astype(np.float64)
    return truth - truth[:, HIPS].mean(axis=1, keepdims=True)


def fit(observed: dict) -> dict:
    """The error model and its figures, from :func:`observe`'s output."""
    found = observed["found"].astype(bool)
    truth_px = observed["landmarks_2d"][found].astype(np.float64)
    size = person_size(truth_px)
    error = np.linalg.norm(observed["pixels"][found] - truth_px, axis=-1) / size[:, None]  # (m, 33)
    outlier = error > OUTLIER
    core = np.where(outlier, np.nan, error)
    # a 2D Gaussian with per-axis sd s has a median distance of s * sqrt(2 ln 2)
    pixel_sd = np.nanmedian(core, axis=0) / np.sqrt(2 * np.log(2))
    outlier_sd = float(np.sqrt(np.mean(error[outlier] ** 2) / 2)) if outlier.any() else 0.0

    truth_world, world = world_truth(observed)[found], observed["world"][found].astype(np.float64)
    scale = (world * truth_world).sum(axis=(1, 2)) / np.maximum((world ** 2).sum(axis=(1, 2)), 1e-9)
    scale = np.clip(scale, 0.2, 5.0)  # a world pointing the wrong way fits a tiny scale
    size_ratio = 1.0 / np.maximum(scale, 1e-6)  # MediaPipe's body size over the true one
    scaled = world * scale[:, None, None]
    depth = (scaled[..., 2] * truth_world[..., 2]).sum(1) / np.maximum((truth_world[..., 2] ** 2).sum(1), 1e-9)
    residual = scaled.copy()
    residual[..., 2] = scaled[..., 2] / np.maximum(depth, 1e-3)[:, None]
    residual -= truth_world
    robust = 1.4826 * np.median(np.abs(residual - np.median(residual, axis=0)), axis=0)  # (33, 3)

    visible = observed["landmark_visible"][found] > 0.5
    present = observed["landmark_present"][found] > 0.5
    visibility = observed["visibility"][found]
    classes = {"seen": visible & present, "hidden": ~visible & present, "outside": ~present}
    facing, tilt = view_angles(observed["landmarks_3d"].astype(np.float64))
    raw_pa = pa_error(world[:, LIMBS], truth_world[:, LIMBS]) * 1000
    model = {
        "samples": int(len(found)), "found": int(found.sum()),
        "pixel_sd": pixel_sd.round(5).tolist(),
        "outlier_rate": float(outlier.mean()), "outlier_sd": round(outlier_sd, 5),
        "world_sd": robust.round(4).tolist(),
        "world_scale_mean": _centre(np.log(size_ratio)), "world_scale_sd": _spread(np.log(size_ratio)),
        "depth_scale_mean": _centre(np.log(np.clip(depth, 0.05, None))),
        "depth_scale_sd": _spread(np.log(np.clip(depth, 0.05, None))),
        "visibility_quantiles": {name: np.quantile(visibility[mask], QUANTILES).round(4).tolist()
                                 for name, mask in classes.items() if mask.any()},
        "figures": {
            "miss_rate": float(1 - found.mean()),
            "pixel_error_median": float(np.median(error)),
            "pixel_error_limbs_median": float(np.median(error[:, LIMBS])),
            "world_pa_mpjpe_limbs_mm": float(np.median(raw_pa)),
            "world_pa_mpjpe_limbs_mean_mm": float(raw_pa.mean()),
            "world_mpjpe_limbs_mm": float(np.linalg.norm(world - truth_world, axis=-1)[:, LIMBS].mean() * 1000),
            "size_ratio_median": float(np.median(size_ratio)),
            "depth_ratio_median": float(np.median(depth)),
            "visibility_mean": {name: float(visibility[mask].mean()) for name, mask in classes.items() if mask.any()},
            "by_view": _by_view(found, error, raw_pa, facing, tilt),
        },
    }
    return model


def _centre(values: np.ndarray) -> float:
    return float(np.median(values))


def _spread(values: np.ndarray) -> float:
    """A standard deviation that a few frames where MediaPipe's world went wrong do not blow up (scaled MAD)."""
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def _by_view(found, error, raw_pa, facing, tilt) -> dict:
    """Miss rate, median 2D error and median world PA-MPJPE per facing and per tilt bin."""
    table = {}
    for label, angles in (("facing", facing), ("tilt", tilt)):
        for name, low, high in FACING if label == "facing" else TILT:
            inside = (angles >= low) & (angles < high)
            seen = inside[found]
            table[f"{label} {name}"] = {
                "samples": int(inside.sum()),
                "miss_rate": float(1 - found[inside].mean()) if inside.any() else None,
                "pixel_error_median": float(np.median(error[seen])) if seen.any() else None,
                "world_pa_mpjpe_limbs_mm": float(np.median(raw_pa[seen])) if seen.any() else None}
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    part = commands.add_parser("bank", help="one split of a pose bank as a bank of its own")
    part.add_argument("bank", type=Path)
    part.add_argument("out", type=Path)
    part.add_argument("--split", choices=("train", "validation"), required=True)
    part.add_argument("--every", type=int, default=1)
    run = commands.add_parser("observe", help="the landmark stage on every render of a shard folder")
    run.add_argument("renders", type=Path)
    run.add_argument("out", type=Path)
    run.add_argument("--limit", type=int)
    model = commands.add_parser("fit", help="the error model of observed renders, as JSON")
    model.add_argument("observed", type=Path)
    model.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    if args.command == "bank":
        print(f"{args.out}: {bank_part(args.bank, args.out, args.split, args.every)} {args.split} poses")
    elif args.command == "observe":
        observed = observe(args.renders, args.limit)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(args.out, **observed)
        print(f"{args.out}: {observed['found'].sum()} of {len(observed['found'])} renders with landmarks")
    else:
        with np.load(args.observed) as data:
            fitted = fit({key: data[key] for key in data.files})
        fitted["source"] = args.observed.name
        args.out.write_text(json.dumps(fitted, indent=1) + "\n")
        print(json.dumps(fitted["figures"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
