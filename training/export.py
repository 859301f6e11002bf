"""Export EfficientHuman to ONNX (plain ops: the global filters as matmul-DFTs) and check it against
torch in onnxruntime.

    .venv/bin/python -m training.export CHECKPOINT.pt OUT.onnx [--deploy] [--fp16]

Metadata written into the file: ``pocket_mocap.model`` (``efficienthuman``), ``pocket_mocap.trained_steps``,
``pocket_mocap.training_data`` and ``pocket_mocap.input`` (``rgb``: a normalised RGB crop; ``silhouette``: the
34-channel silhouette and landmark-heatmap input of core/estimators/silhouette_input.py).
``--fp16`` stores the weights as float16 with a Cast to float32 in front of each (half the file; onnxruntime
folds the casts at load and computes in float32).
"""

from __future__ import annotations

import argparse
import copy
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .efficienthuman import EfficientHuman, efficienthuman, efficienthuman_deploy, input_kind

OUTPUTS = ("uvd", "sigma", "betas", "twist", "camera")
OPSET = 17


class _Outputs(nn.Module):
    """The model with its dataclass output flattened into a tuple, for the exporter."""

    def __init__(self, model: EfficientHuman):
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(image)
        return tuple(getattr(out, name) for name in OUTPUTS)


def export_onnx(model: EfficientHuman, path: Path, trained_steps: int = 0, data: str = "", fp16: bool = False
                ) -> Path:
    """Write ``model`` (eval mode, matmul-DFT filters) to ``path`` with a fixed 1 x C x 256 x 256 input
    (C = ``model.in_channels``).

    The file records how many steps trained it (the add-on refuses one with none: random weights) and which
    input it takes. ``fp16``: weights stored as float16 (see the module docstring).
    """
    model = copy.deepcopy(model).cpu()  # the caller's model keeps its device and filter mode
    wrapper = _Outputs(model.use_matmul_dft()).eval()
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation and constant-folding notices
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapper, (torch.zeros(1, model.in_channels, 256, 256),), str(path), opset_version=OPSET,
                          input_names=["image"], output_names=list(OUTPUTS), dynamo=False)
    import onnx

    graph = onnx.load(str(path))
    _share_equal_constants(graph.graph)
    if fp16:
        _weights_as_float16(graph.graph)
    for key, value in (("pocket_mocap.model", "efficienthuman"), ("pocket_mocap.trained_steps", str(trained_steps)),
                       ("pocket_mocap.training_data", data), ("pocket_mocap.input", input_kind(model.in_channels))):
        entry = graph.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(graph, str(path))
    return path


def _initializers(graph) -> dict:
    """Initializers and Constant nodes' tensors by name (the exporter writes the DFT matrices as either)."""
    from onnx import numpy_helper

    found = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            found[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    return found


def _share_equal_constants(graph) -> None:
    """Blocks of one resolution hold identical DFT matrices: keep one copy of each tensor over 1,000 values."""
    import hashlib

    first, rename = {}, {}
    for name, value in _initializers(graph).items():
        if value.size < 1000:
            continue
        key = (value.dtype.str, value.shape, hashlib.sha1(value.tobytes()).hexdigest())
        if key in first:
            rename[name] = first[key]
        else:
            first[key] = name
    if not rename:
        return
    for node in graph.node:
        for k, name in enumerate(node.input):
            if name in rename:
                node.input[k] = rename[name]
    kept = [init for init in graph.initializer if init.name not in rename]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = [node for node in graph.node if not (node.op_type == "Constant" and node.output[0] in rename)]
    del graph.node[:]
    graph.node.extend(nodes)


FP16_MIN_VALUES = 1000  # smaller tensors (BatchNorm folded biases, scalars) stay float32


def _weights_as_float16(graph) -> None:
    """Store each float32 weight of at least FP16_MIN_VALUES values as float16, read through a Cast node."""
    import onnx
    from onnx import helper, numpy_helper

    casts = []
    for init in graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT:
            continue
        value = numpy_helper.to_array(init)
        if value.size < FP16_MIN_VALUES or init.name.startswith("_") or "dft" in init.name.lower():
            continue
        half_name = init.name + "_fp16"
        init.CopyFrom(numpy_helper.from_array(value.astype(np.float16), half_name))
        casts.append(helper.make_node("Cast", [half_name], [half_name[:-5]], to=onnx.TensorProto.FLOAT,
                                      name=f"cast_{half_name}"))
    for node in reversed(casts):
        graph.node.insert(0, node)


def onnx_difference(model: EfficientHuman, path: Path, image: torch.Tensor, threads: int = 2) -> dict[str, float]:
    """Largest absolute difference per output between onnxruntime and torch for ``image (1, C, 256, 256)``."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    found = session.run(list(OUTPUTS), {"image": image.numpy()})
    with torch.no_grad():
        expected = _Outputs(model.eval())(image)
    return {name: float(np.abs(a - b.numpy()).max()) for name, a, b in zip(OUTPUTS, found, expected, strict=True)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--deploy", action="store_true", help="the padded deployment variant")
    parser.add_argument("--fp16", action="store_true", help="store the weights as float16")
    args = parser.parse_args(argv)
    checkpoint = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    state = checkpoint["model"]
    faithful = efficienthuman(state)
    model = efficienthuman_deploy(None, faithful.in_channels) if args.deploy else faithful
    if args.deploy:
        model.load_state_dict(pad_state_dict(state, model.state_dict()))
    export_onnx(model.eval(), args.output, int(checkpoint.get("step", 0)), str(checkpoint.get("data", "")),
                args.fp16)
    worst = max(onnx_difference(model, args.output, torch.randn(1, model.in_channels, 256, 256)).values())
    print(f"wrote {args.output} ({args.output.stat().st_size / 1e6:.1f} MB); onnxruntime vs torch: {worst:.2e}")
    return 0 if worst <= (2e-2 if args.fp16 else 1e-3) else 1


def pad_state_dict(source: dict, target: dict) -> dict:
    """Weights of the faithful model in the padded variant's shapes (extra channels zero)."""
    padded = {}
    for name, value in source.items():
        tensor = torch.zeros_like(target[name])
        tensor[tuple(slice(0, n) for n in value.shape)] = value
        padded[name] = tensor
    return padded


if __name__ == "__main__":
    sys.exit(main())
