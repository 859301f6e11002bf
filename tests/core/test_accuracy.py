"""Accuracy on the real frames with ground truth, asserted loosely (figures: tools/bench_accuracy.py)."""

from __future__ import annotations

import importlib.util

import metrics
import pytest

pytestmark = pytest.mark.skipif(not metrics.GT.is_dir() or importlib.util.find_spec("onnxruntime") is None,
                                reason="../shared/media/gt or onnxruntime is absent")


def test_keypoint_estimator_is_at_least_as_good_as_raw_mediapipe():
    import bench_accuracy

    table = bench_accuracy.evaluate()
    pa, h36m = table["PA-MPJPE H3.6M (mm)"], table["PCK@0.1 h36m"]
    assert pa["default"] <= pa["MediaPipe raw"] + 5 and pa["default"] < 100
    assert h36m["default"] >= 0.95
    for name in ("coco", "mpii"):
        assert table[f"PCK@0.1 {name}"]["default"] >= table[f"PCK@0.1 {name}"]["MediaPipe raw"] - 0.02
