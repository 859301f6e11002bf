"""Benchmark: EfficientHuman latency in onnxruntime, faithful vs deployment graph, with MobileNetV3-Large
(224 x 224, the usual reference) in the same run. Batch 1, 2 threads, median of ``--runs`` after warm-up.

    .venv/bin/python tools/bench_efficienthuman.py [--runs 50]

The networks carry random weights: only speed is measured here.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from onnx_timing import median_latency_ms  # noqa: E402

from training.efficienthuman import efficienthuman, efficienthuman_deploy  # noqa: E402
from training.export import export_onnx  # noqa: E402
from training.reference_nets import MobileNetV3Large  # noqa: E402


def export_reference(path: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(MobileNetV3Large().eval(), (torch.zeros(1, 3, 224, 224),), str(path), opset_version=17,
                          input_names=["image"], dynamo=False)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        graphs = {
            "EfficientHuman, faithful": (export_onnx(efficienthuman().eval(), folder / "f.onnx"), (1, 3, 256, 256)),
            "EfficientHuman, deployment": (export_onnx(efficienthuman_deploy().eval(), folder / "d.onnx"),
                                           (1, 3, 256, 256)),
            "MobileNetV3-Large (reference)": (export_reference(folder / "m.onnx"), (1, 3, 224, 224)),
        }
        print(f"onnxruntime, batch 1, 2 threads, median of {args.runs} runs after 10 warm-up runs")
        for label, (path, shape) in graphs.items():
            milliseconds = median_latency_ms(path, shape, args.runs)
            print(f"  {label:<32} {milliseconds:7.2f} ms   ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
