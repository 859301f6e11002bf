"""Benchmark: EfficientHuman weights on the real frames with ground truth, next to the keypoint-guided default, in
one run and with one yardstick (tools/metrics.py ``score``, as tools/bench_accuracy.py).

    .venv/bin/python tools/eval_efficienthuman.py --weights eh.onnx [--fov 55] [--json out.json]

Both go through the real reconstruct job (worker, MediaPipe, estimator, fit) of THIS source tree, so the
figures are what users get: PA-MPJPE (mm) over the 12 limb joints on the H3.6M frames; PCK@0.1 on COCO, MPII
and H3.6M 2D truth against the best-matching person. Weights taking the silhouette input run MediaPipe with
segmentation; RGB weights take the crop.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this tree's core/ (the installed pocket_mocap may be another checkout)
sys.path.insert(0, str(ROOT / "tools"))
import metrics  # noqa: E402

from core.estimators.efficienthuman import input_kind, weights_status  # noqa: E402
from core.estimators.network import read_metadata  # noqa: E402
from core.worker.job import Job  # noqa: E402


def evaluate(weights: Path, fov: float = 55.0) -> dict[str, dict[str, float]]:
    """``{measure: {"efficienthuman": value, "keypoints": value}}`` on the ground-truth frames."""
    sets = metrics.frame_sets()
    images = [frame["image"] for frames in sets.values() for frame in frames]
    table: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as cache:
        for name, settings in (("efficienthuman", {"estimator": "efficienthuman", "weights": str(weights)}),
                               ("keypoints", {"estimator": "keypoints"})):
            found = metrics.reconstruct_with(Job, images, Path(cache), fov_degrees=fov, **settings)
            for measure, value in metrics.score(found, sets).items():
                table.setdefault(measure, {})[name] = value
            table.setdefault("people found", {})[name] = float(len(found))
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", type=Path, required=True, help="an EfficientHuman ONNX file (training/export.py)")
    parser.add_argument("--fov", type=float, default=55.0)
    parser.add_argument("--json", type=Path, help="also write the table here")
    args = parser.parse_args(argv)
    args.weights = args.weights.resolve()  # the worker runs in another folder
    usable, reason = weights_status(str(args.weights))
    if not usable:
        print(reason)
        return 1
    if not metrics.GT.is_dir():
        print(f"{metrics.GT} is absent: nothing to measure.")
        return 0
    info = read_metadata(args.weights)
    print(f"{args.weights.name}: input {input_kind(info)}, {info.get('pocket_mocap.trained_steps')} steps on "
          f"{info.get('pocket_mocap.training_data', '?')}")
    table = evaluate(args.weights, args.fov)
    print(f"{'measure':<24}{'EfficientHuman':>16}{'keypoint default':>18}")
    for measure, values in table.items():
        print(f"{measure:<24}{values['efficienthuman']:>16.3f}{values['keypoints']:>18.3f}")
    if args.json:
        args.json.write_text(json.dumps({"weights": str(args.weights), "metadata": info, "table": table}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
