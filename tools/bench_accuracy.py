"""Benchmark: accuracy of the keypoint-guided estimator on the real frames with ground truth: the default, the same
without the temporal lifter ("no temporal", the default before it), with the per-frame lifter (where its weights
are present), the lifter's own points and raw MediaPipe, in one run.

    .venv/bin/python tools/bench_accuracy.py [--body open|smplx_file...] [--fov 55]

PA-MPJPE (mm) of the result's ``joints`` over the 12 limb joints on the H3.6M frames (3D truth);
PCK@0.1 of ``joints_2d`` on COCO / MPII / H3.6M (2D truth; threshold 0.1 x the person's box size) over every
annotated person, each against the reconstructed person that matches them best (0 where none does); "person 1
(old)": the measure before several people, the first reconstructed person against the annotated person it
matches best. To measure another source tree with these measures (the tree before a change), put a folder
holding it as ``pocket_mocap`` first on PYTHONPATH. Raw MediaPipe: its world landmarks (3D) and image landmarks
(2D); the lifter: its landmark points (3D) with MediaPipe's image landmarks (2D).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import metrics  # noqa: E402

from pocket_mocap.core.estimators.keypoints.landmarks import POSE  # noqa: E402
from pocket_mocap.core.worker.job import Job  # noqa: E402

MEDIAPIPE_LIMBS = [POSE[name] for name in metrics.LIMBS]


def raw_points(images: list[Path], fov: float, lifted: bool) -> dict[Path, tuple[np.ndarray, np.ndarray]]:
    """MediaPipe's world landmarks, or the lifter's points, for the limbs; with MediaPipe's image landmarks."""
    import cv2

    from pocket_mocap.core.estimators.keypoints.detect import LandmarkDetector, detect_anywhere
    from pocket_mocap.core.estimators.keypoints.fit import Camera
    from pocket_mocap.core.lifting.lifter import Lifter

    lifter = Lifter() if lifted else None
    found = {}
    with LandmarkDetector(video=False, hands_and_face=False) as detector:
        for path in images:
            obs = detect_anywhere(detector, cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB))
            if obs is None:
                continue
            world = obs.world
            if lifter is not None:
                camera = Camera.from_fov(obs.width, obs.height, fov)
                world, _ = lifter.lift(obs.pose_2d, obs.visibility, obs.world, camera.focal, (camera.cx, camera.cy))
            found[path] = (world[MEDIAPIPE_LIMBS], obs.pose_2d[MEDIAPIPE_LIMBS])
    return found


COLUMNS = ("default", "no temporal", "with lifter", "lifter alone", "MediaPipe raw")


def evaluate(fov: float = 55.0) -> dict[str, dict[str, float]]:
    from pocket_mocap.core.lifting.lifter import BUNDLED

    sets = metrics.frame_sets()
    images = [frame["image"] for frames in sets.values() for frame in frames]
    lifter = BUNDLED.is_file()
    table = {}
    for column, settings in (("default", {}), ("no temporal", {"temporal_lifter": False}),
                             ("with lifter", {"lifter": True})):
        if settings.get("lifter") and not lifter:
            continue
        with tempfile.TemporaryDirectory() as cache:
            table[column] = metrics.score(metrics.reconstruct_with(Job, images, Path(cache), fov_degrees=fov,
                                                                   **settings), sets)
    for column, lifted in (("lifter alone", True), ("MediaPipe raw", False)):
        if lifted and not lifter:
            continue
        raw = raw_points(images, fov, lifted)
        as_results = {path: {"joints": world[None], "joints_2d": pixels[None]} for path, (world, pixels) in raw.items()}
        table[column] = metrics.score(as_results, sets, limbs=slice(None))
    return {measure: {column: table[column][measure] if column in table else float("nan") for column in COLUMNS}
            for measure in table["default"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fov", type=float, default=55.0)
    args = parser.parse_args()
    if not metrics.GT.is_dir():
        print(f"{metrics.GT} is absent: nothing to measure.")
        return 0
    print(f"{'measure':<32}" + "".join(f"{column:>15}" for column in COLUMNS))
    for measure, values in evaluate(args.fov).items():
        print(f"{measure:<32}" + "".join(f"{values[column]:>15.3f}" for column in COLUMNS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
