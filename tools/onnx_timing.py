"""Median latency of an ONNX graph in onnxruntime, for the benchmarks (batch as given, fixed threads)."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np


def median_latency_ms(model, shape: tuple[int, ...], runs: int, threads: int = 2, warmup: int = 10) -> float:
    """``model``: a path or an ``onnx.ModelProto``; random float32 input of ``shape``; median of ``runs``."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    source = str(model) if isinstance(model, (str, Path)) else model.SerializeToString()
    session = onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: np.random.default_rng(0).normal(size=shape).astype(np.float32)}
    for _ in range(warmup):
        session.run(None, feed)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)
