"""Small untrained ONNX files for the tests that check weights without a training record are refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pocket_mocap.core.errors import PocketMocapError


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


def assert_untrained_refused(open_weights: Callable[[Path], object], untrained: Callable[[Path, dict], Path],
                             folder: Path, record: dict[str, str]) -> None:
    """``open_weights(path)`` refuses, each time with a sentence: a file ``untrained(path, metadata)`` made without
    a training record; one whose ``record`` (every key the loader requires) says no steps were trained; and a
    file that is not there."""
    pytest.importorskip("onnx")
    with pytest.raises(PocketMocapError, match="no record of a training run"):
        open_weights(untrained(folder / "plain.onnx", {}))
    with pytest.raises(PocketMocapError, match="no record of a training run"):
        open_weights(untrained(folder / "zero.onnx", record | {"trained_steps": "0"}))
    with pytest.raises(PocketMocapError, match="missing"):
        open_weights(folder / "absent.onnx")
