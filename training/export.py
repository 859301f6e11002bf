"""Export EfficientHuman to ONNX (plain ops: the global filters as matmul-DFTs) and check it against
torch in onnxruntime.

    .venv/bin/python -m training.export CHECKPOINT.pt OUT.onnx [--deploy]
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .efficienthuman import EfficientHuman, efficienthuman, efficienthuman_deploy

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


def export_onnx(model: EfficientHuman, path: Path, trained_steps: int = 0, data: str = "") -> Path:
    """Write ``model`` (eval mode, matmul-DFT filters) to ``path`` with a fixed 1 x 3 x 256 x 256 input.

    The file records how many steps trained it: the add-on refuses one with none (random weights).
    """
    wrapper = _Outputs(model.use_matmul_dft()).eval()
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation and constant-folding notices
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapper, (torch.zeros(1, 3, 256, 256),), str(path), opset_version=OPSET,
                          input_names=["image"], output_names=list(OUTPUTS), dynamo=False)
    model.eval()  # the exporter restores the wrapper's mode; keep the model in inference mode
    import onnx

    graph = onnx.load(str(path))
    for key, value in (("pocket_mocap.model", "efficienthuman"), ("pocket_mocap.trained_steps", str(trained_steps)),
                       ("pocket_mocap.training_data", data)):
        entry = graph.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(graph, str(path))
    return path


def onnx_difference(model: EfficientHuman, path: Path, image: torch.Tensor, threads: int = 2) -> dict[str, float]:
    """Largest absolute difference per output between onnxruntime and torch for ``image (1, 3, 256, 256)``."""
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
    args = parser.parse_args(argv)
    checkpoint = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    state = checkpoint["model"]
    model = (efficienthuman_deploy if args.deploy else efficienthuman)(None)
    model.load_state_dict(pad_state_dict(state, model.state_dict()) if args.deploy else state)
    export_onnx(model.eval(), args.output, int(checkpoint.get("step", 0)), str(checkpoint.get("data", "")))
    worst = max(onnx_difference(model, args.output, torch.randn(1, 3, 256, 256)).values())
    print(f"wrote {args.output} ({args.output.stat().st_size / 1e6:.1f} MB); onnxruntime vs torch: {worst:.2e}")
    return 0 if worst <= 1e-3 else 1


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
