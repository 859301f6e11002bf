"""Benchmark: BinaryHPE's binary convolutions as exact ±1 ``ConvInteger`` against their float twins, per
layer and for whole encoders (random weights: only speed is measured). onnxruntime, batch 1, 2 threads,
median of ``--runs`` after warm-up, both paths in the same run.

    .venv/bin/python tools/bench_binary.py [--runs 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from onnx_timing import median_latency_ms  # noqa: E402

from training.binary_runtime import GraphBuilder, encoder_onnx  # noqa: E402
from training.binaryhpe import BinaryConv2d, ResNet  # noqa: E402


def layer_model(conv: BinaryConv2d, shape: tuple[int, ...], integer: bool):
    from onnx import TensorProto, helper

    builder = GraphBuilder(integer)
    out = builder.binary_conv("x", conv)
    return builder.model([helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
                         [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)])


def binary_layers(encoder: ResNet, image: tuple[int, ...]) -> list[tuple[BinaryConv2d, tuple[int, ...]]]:
    """Each distinct binary conv shape with its input shape (from one forward pass)."""
    found, seen = [], set()

    def hook(module, inputs, _output):
        key = (module.in_channels, module.out_channels, module.kernel_size[0], module.stride[0],
               tuple(inputs[0].shape))
        if key not in seen:
            seen.add(key)
            found.append((module, tuple(inputs[0].shape)))

    handles = [m.register_forward_hook(hook) for m in encoder.modules() if isinstance(m, BinaryConv2d)]
    with torch.no_grad():
        encoder.eval()(torch.zeros(image))
    for handle in handles:
        handle.remove()
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    encoders = {"body ResNet-50 BiDRN, 256x192": (ResNet(50, True), (1, 3, 256, 192)),
                "face ResNet-18 BiDRN, 192x192": (ResNet(18, True), (1, 3, 192, 192))}
    print(f"onnxruntime, 2 threads, median of {args.runs} runs; float twin vs integer (ConvInteger, exact ±1)")
    ratios = []
    for label, (encoder, shape) in encoders.items():
        print(label)
        for conv, input_shape in binary_layers(encoder, shape):
            float_ms = median_latency_ms(layer_model(conv, input_shape, False), input_shape, args.runs)
            integer_ms = median_latency_ms(layer_model(conv, input_shape, True), input_shape, args.runs)
            ratios.append(float_ms / integer_ms)
            print(f"  {conv.in_channels:>4}->{conv.out_channels:<4} k{conv.kernel_size[0]} s{conv.stride[0]} "
                  f"at {input_shape[2]}x{input_shape[3]}: {float_ms:6.3f} vs {integer_ms:6.3f} ms "
                  f"({float_ms / integer_ms:4.2f}x)")
        whole_float = median_latency_ms(encoder_onnx(encoder, shape, False), shape, args.runs)
        whole_integer = median_latency_ms(encoder_onnx(encoder, shape, True), shape, args.runs)
        print(f"  whole encoder: float twin {whole_float:.2f} ms, integer {whole_integer:.2f} ms "
              f"({whole_float / whole_integer:.2f}x)")
    print(f"binary convs: median speed-up {statistics.median(ratios):.2f}x "
          f"(range {min(ratios):.2f}-{max(ratios):.2f}x over {len(ratios)} distinct layers)")
    whole_network(max(5, args.runs // 3))
    return 0


def whole_network(runs: int) -> None:
    """The whole BinaryHPE cascade as the estimator runs it (one 512x384 crop; body, two hands, face), exported
    with exact integer binary convolutions and as the float twin; both in this run, interleaved."""
    import tempfile

    from training.binary_runtime import float_twin_export
    from training.binaryhpe import Hand4Whole
    from training.binaryhpe_train import export_onnx

    model = Hand4Whole("binaryhpe", 52).eval()
    with tempfile.TemporaryDirectory() as folder:
        integer_path = export_onnx(model, Path(folder) / "integer.onnx", 1, "benchmark")
        with float_twin_export():
            float_path = export_onnx(model, Path(folder) / "float.onnx", 1, "benchmark")
        sizes = integer_path.stat().st_size / 1e6, float_path.stat().st_size / 1e6
        shape = (1, 3, 512, 384)
        integer_ms, float_ms = [], []
        for _ in range(3):
            integer_ms.append(median_latency_ms(integer_path, shape, runs, warmup=3))
            float_ms.append(median_latency_ms(float_path, shape, runs, warmup=3))
    integer, float_twin = statistics.median(integer_ms), statistics.median(float_ms)
    print(f"whole network (512x384 crop, body + 2 hands + face): float twin {float_twin:.0f} ms, integer "
          f"{integer:.0f} ms ({float_twin / integer:.2f}x); files {sizes[0]:.1f} MB (both store packed bits)")


if __name__ == "__main__":
    sys.exit(main())
