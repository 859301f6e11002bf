"""Where an EfficientHuman weights file loses accuracy on real photos: the yardstick of tools/metrics.py applied
to the network's own outputs before the IK, after it, and after it with the root placed from the hips.

    .venv/bin/python tools/diagnose_efficienthuman.py --weights FILE [--fov 55]

Rows: PCK@0.1 of the network's 2D keypoints (uv in the crop, mapped to the image) and PA-MPJPE of its
back-projected 3D keypoints (A.5), both before any IK; the estimator's result (IK); the same with the root
keypoint replaced by the mid-point of the hips (a check of the root keypoint alone; not what the add-on does).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import metrics  # noqa: E402

from core.bodymodel.library import load_body  # noqa: E402
from core.estimators.efficienthuman import CROP_FOCAL, DEPTH_M, SIZE, EfficientHumanEstimator  # noqa: E402
from core.estimators.keypoints.fit import Camera  # noqa: E402


def outputs_per_image(weights: Path, fov: float, sets: dict) -> dict[Path, dict]:
    """Image -> the three variants' ``joints (1, 24, 3)`` and ``joints_2d (1, 24, 2)``."""
    import cv2

    model, settings, found = load_body("open", "smpl"), SimpleNamespace(weights=str(weights)), {}
    for frame in (f for frames in sets.values() for f in frames):
        rgb = cv2.cvtColor(cv2.imread(str(frame["image"])), cv2.COLOR_BGR2RGB)
        camera = Camera.from_fov(rgb.shape[1], rgb.shape[0], fov)
        with EfficientHumanEstimator(settings, model, camera, False) as estimator:
            item = estimator.observe(rgb, search=True)
            if item is None:
                continue
            out, (cx, cy, side) = item["outputs"], item["square"]
            depth = CROP_FOCAL / (SIZE * out["camera"][0] + 1e-9)
            z = out["uvd"][:24, 2] * DEPTH_M + depth
            network = {"joints": np.column_stack([out["uvd"][:24, :2] * SIZE / CROP_FOCAL * z[:, None], z])[None],
                       "joints_2d": (out["uvd"][:24, :2] * side + [cx, cy])[None]}
            fitter = estimator.fitter(estimator.shape([item]))
            ik = fitter.estimate(item)
            out["uvd"][0] = (out["uvd"][1] + out["uvd"][2]) / 2
            hips = fitter.estimate(item)
        found[frame["image"]] = {"network (before IK)": network, "result (IK)": ik, "IK, root from the hips": hips}
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--fov", type=float, default=55.0)
    args = parser.parse_args(argv)
    if not metrics.GT.is_dir():
        print(f"{metrics.GT} is absent: nothing to measure.")
        return 0
    sets = metrics.frame_sets()
    found = outputs_per_image(args.weights, args.fov, sets)
    for variant in ("network (before IK)", "result (IK)", "IK, root from the hips"):
        results = {image: {key: np.asarray(value[key]).reshape(1, 24, -1) for key in ("joints", "joints_2d")}
                   for image, items in found.items() for value in [items[variant]]}
        table = metrics.score(results, sets)
        print(f"{variant:<24} " + "  ".join(f"{name} {value:.3f}" for name, value in table.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
