"""Weights files judged from their bytes before onnxruntime opens them: external data refused wherever it hides,
the graph's inputs and outputs against what the estimator feeds and reads, the training record a count."""

from __future__ import annotations

import pytest

from pocket_mocap.core.errors import PocketMocapError

from . import make as m

pytest.importorskip("onnx")


def test_weights_outline_reads_what_onnxruntime_would(tmp_path):
    from pocket_mocap.core.estimators.onnx_file import read_outline

    m.onnx_network()(tmp_path / "w.onnx")
    outline = read_outline(tmp_path / "w.onnx")
    assert outline.inputs == {"image": (1, (1, 3, 256, 256))}
    assert outline.outputs["twist"] == (1, (1, 23, 2)) and outline.metadata["pocket_mocap.trained_steps"] == "30"
    assert outline.external == []


@pytest.mark.parametrize("where", ["initializer", "attribute", "sparse"])
def test_external_data_is_refused_wherever_it_is(tmp_path, where):
    from pocket_mocap.core.estimators.onnx_file import read_outline

    m.onnx_network(external="/etc/passwd", external_in=where)(tmp_path / "x.onnx")
    with pytest.raises(PocketMocapError, match="in other files"):
        read_outline(tmp_path / "x.onnx")


@pytest.mark.parametrize("make, usable, says", [
    (m.onnx_network(), True, ""),
    (m.identity_network(), False, "has no output uvd, sigma, betas, twist, camera"),
    (m.onnx_network(metadata=dict(m.TRAINED, **{"pocket_mocap.trained_steps": "1e3"})), False, "not a count"),
    (m.onnx_network(image=(1, 3, 224, 224)), False, "input image has shape 1x3x224x224"),
    (m.onnx_network(outputs=dict(m.EFFICIENTHUMAN_OUTPUTS, uvd=(1, 10, 3), sigma=(1, 10, 3))), False, "fewer than 29"),
    (m.data(b""), False, "empty \\(0 bytes\\)"),
    (m.random_bytes(3000), False, "not an ONNX network"),
], ids=["exported-shape", "identity", "steps-1e3", "input-224", "10-keypoints", "empty", "random"])
def test_efficienthuman_weights_status(tmp_path, make, usable, says):
    from pocket_mocap.core.estimators.efficienthuman import weights_status

    make(tmp_path / "w.onnx")
    found, reason = weights_status(str(tmp_path / "w.onnx"))
    assert found == usable
    if says:
        import re

        assert re.search(says, reason) and "\n" not in reason and "ONNXRuntimeError" not in reason
