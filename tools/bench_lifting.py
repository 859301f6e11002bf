"""Benchmark: 3D accuracy on Cycles renders of motion-capture clips held out of all training, where the landmark
stage really ran (training/lifter/mediapipe_errors.py ``observe``) and the truth is known; every variant in one run.

    .venv/bin/python tools/bench_lifting.py RENDERS_DIR OBSERVED.npz [--count 160] [--start 0] [--lifter FILE]
        [--prior 1]

Rows: raw MediaPipe (its world landmarks), the lifter's own points (where a lifter file is given or bundled), and
the real reconstruct job (worker, landmarks, fit) as the old default, with the pose prior, with the lifter, and
with both. Figures over the 12 limb points, in mm: PA-MPJPE (after the best similarity transform) and MPJPE
after putting the mid-hips together (root-aligned); medians and means over the renders where the landmark stage
found the person. The job assumes the principal point at the image centre and one field of view per batch
(renders are grouped by their focal length into five batches), so the fit rows carry a small camera error the
raw rows do not.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
import metrics  # noqa: E402

from core.lifting.features import input_features  # noqa: E402
from training.lifter.mediapipe_errors import LIMBS as LANDMARK_LIMBS  # noqa: E402
from training.lifter.mediapipe_errors import pa_error  # noqa: E402

HIPS_IN_LIMBS = [6, 7]  # left and right hip within LANDMARK_LIMBS's order (shoulders, elbows, wrists, hips, ...)
JOINT_LIMBS = [16, 17, 18, 19, 20, 21, 1, 2, 4, 5, 7, 8]  # the same points as SMPL joints, same order


def figures(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    pa = pa_error(predicted, truth) * 1000
    centred = [points - points[:, HIPS_IN_LIMBS].mean(axis=1, keepdims=True) for points in (predicted, truth)]
    root = np.linalg.norm(centred[0] - centred[1], axis=-1).mean(axis=1) * 1000
    return {"PA-MPJPE median": float(np.median(pa)), "PA-MPJPE mean": float(pa.mean()),
            "root-aligned MPJPE median": float(np.median(root)), "root-aligned MPJPE mean": float(root.mean())}


def chosen_renders(renders: Path, observed: dict, count: int, start: int = 0) -> list[dict]:
    """``count`` renders where the person was found, from the ``start``-th such one on: image, camera, truth."""
    found = np.flatnonzero(observed["found"])[start:start + count]
    wanted, rows, seen = set(found.tolist()), [], 0
    for shard in sorted(renders.glob("shard_*.npz")):
        with np.load(shard) as data:
            for index in range(len(data["rgb"])):
                if seen in wanted:
                    rows.append({"index": seen, "rgb": data["rgb"][index], "intrinsics": data["intrinsics"][index],
                                 "joints": data["joints_3d"][index][JOINT_LIMBS]})
                seen += 1
    return rows


def fit_rows(rows: list[dict], settings: dict) -> np.ndarray:
    """The reconstruct job on every render: limb joints ``(n, 12, 3)`` (NaN where nobody was found)."""
    import cv2

    from core.worker.job import Job

    out = np.full((len(rows), 12, 3), np.nan)
    focal = np.array([row["intrinsics"][0] for row in rows])
    groups = np.digitize(focal, np.quantile(focal, [0.2, 0.4, 0.6, 0.8]))
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        paths = []
        for row in rows:
            paths.append(folder / f"render_{row['index']:05d}.png")
            cv2.imwrite(str(paths[-1]), cv2.cvtColor(row["rgb"], cv2.COLOR_RGB2BGR))
        for group in np.unique(groups):
            members = np.flatnonzero(groups == group)
            fov = float(np.degrees(2 * np.arctan(128.0 / np.median(focal[members]))))
            found = metrics.reconstruct_with(Job, [paths[i] for i in members], folder / f"cache_{group}",
                                             fov_degrees=fov, estimator="keypoints", **settings)
            for i in members:
                if paths[i] in found:
                    joints = found[paths[i]]["joints"]
                    out[i] = (joints[0] if joints.ndim == 4 else joints)[0][JOINT_LIMBS]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("renders", type=Path)
    parser.add_argument("observed", type=Path)
    parser.add_argument("--count", type=int, default=160)
    parser.add_argument("--start", type=int, default=0, help="skip this many (those used to choose a setting)")
    parser.add_argument("--lifter", type=Path, help="a lifter ONNX file (default: the bundled one, if any)")
    parser.add_argument("--prior", type=float, default=1.0, help="the pose prior's strength in its rows")
    args = parser.parse_args(argv)
    with np.load(args.observed) as data:
        observed = {key: data[key] for key in data.files}
    rows = chosen_renders(args.renders, observed, args.count, args.start)
    index = np.array([row["index"] for row in rows])
    truth_landmarks = observed["landmarks_3d"][index][:, LANDMARK_LIMBS]
    table = {"MediaPipe world landmarks (raw)": figures(observed["world"][index][:, LANDMARK_LIMBS], truth_landmarks)}

    from core.lifting.lifter import BUNDLED, Lifter

    lifter_file = args.lifter.resolve() if args.lifter else (BUNDLED if BUNDLED.is_file() else None)
    if lifter_file:
        lifter = Lifter(lifter_file)
        intrinsics = observed["intrinsics"][index].astype(np.float64)
        features = input_features(observed["pixels"][index], observed["visibility"][index], observed["world"][index],
                                  intrinsics[:, 0], intrinsics[:, 1:]).astype(np.float32)
        points = lifter.session.run(None, {lifter.session.get_inputs()[0].name: features})[0]
        table["lifter's own points"] = figures(points[:, LANDMARK_LIMBS], truth_landmarks)
    truth_joints = np.stack([row["joints"] for row in rows])
    prior = {"pose_prior": args.prior}
    variants = {"fit without the pose prior (old default)": {"pose_prior": 0.0},
                f"fit + pose prior {args.prior}": prior}
    if lifter_file:
        lifted = {"lifter": True, "lifter_weights": str(lifter_file)}
        variants["lifter + fit"] = {**lifted, "pose_prior": 0.0}
        variants[f"lifter + fit + pose prior {args.prior}"] = {**lifted, **prior}
    for name, settings in variants.items():
        joints = fit_rows(rows, settings)
        ok = ~np.isnan(joints).any(axis=(1, 2))
        table[name] = {**figures(joints[ok], truth_joints[ok]), "renders": int(ok.sum())}
    print(f"{len(rows)} renders of held-out clips where the landmark stage found the person, from the "
          f"{args.start}-th on ({args.renders})")
    columns = ("PA-MPJPE median", "PA-MPJPE mean", "root-aligned MPJPE median", "root-aligned MPJPE mean")
    print(f"{'':44s}" + "".join(f"{c:>28s}" for c in columns))
    for name, row in table.items():
        print(f"{name:44s}" + "".join(f"{row[c]:28.1f}" for c in columns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
