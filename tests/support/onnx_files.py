"""Small untrained ONNX files for the tests that check weights without a training record are refused."""

from __future__ import annotations

from pathlib import Path


def save_graph(graph, path: Path, metadata: dict[str, str]) -> Path:
    """``graph`` (an ``onnx`` GraphProto) saved as a model at opset 17 with ``metadata`` under ``pocket_mocap.``."""
    import onnx
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in metadata.items():
        model.metadata_props.add(key=f"pocket_mocap.{key}", value=value)
    onnx.save(model, str(path))
    return path
