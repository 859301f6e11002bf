"""The converted landmark models (``core/landmarks/models/*.onnx``): each loads in onnxruntime with exactly the
input and outputs of its ``.tflite`` original (pose_landmark_full's person mask from its own file, fed two of the
landmark model's feature maps), carries its provenance, and (where the TFLite interpreter and the shared photos
are there) gives the original's outputs within the converter's tolerance, on three random inputs and one real
photo (the random ones give every output a meaningful range, e.g. a presence score that one photo saturates)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from conftest import ROOT, SHARED_MEDIA

onnx = pytest.importorskip("onnx", reason="the converter's onnx is in the development environment only")
onnxruntime = pytest.importorskip("onnxruntime")
converter = pytest.importorskip("convert_landmark_models")

MODELS = converter.MODELS
FILES = {file: model for model in MODELS.values() for file in model.files}  # file name -> the network it is from
MODEL_DIR = ROOT / "core" / "landmarks" / "models"
PHOTO = SHARED_MEDIA / "images" / "single" / "s03_yoga_treepose__tfexamples_image3.jpeg"


def test_the_committed_models_are_exactly_the_converted_ones():
    assert sorted(p.stem for p in MODEL_DIR.glob("*.onnx")) == sorted(FILES)
    assert {"LICENSE", "NOTICE", "README.md"} <= {p.name for p in MODEL_DIR.iterdir()}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_takes_and_gives_what_the_tflite_does(name):
    model = MODELS[name]
    session = onnxruntime.InferenceSession(str(MODEL_DIR / f"{name}.onnx"), providers=["CPUExecutionProvider"])
    assert [(i.name, tuple(i.shape), i.type) for i in session.get_inputs()] == \
        [("input", model.input_shape, "tensor(float)")]
    outputs = [(o.name, tuple(o.shape)) for o in session.get_outputs()]
    assert outputs[:len(model.kept_outputs)] == list(model.kept_outputs)
    features = [name for name, _ in outputs[len(model.kept_outputs):]]
    assert features == (list(converter.HEAD_INPUTS) if model.head else [])
    together = converter.run_onnx(model, MODEL_DIR)(np.full(model.input_shape, 0.5, np.float32))
    assert [(name, together[name].shape, together[name].dtype) for name, _ in model.outputs] == \
        [(name, shape, np.float32) for name, shape in model.outputs]
    assert all(np.isfinite(o).all() for o in together.values())


def test_the_landmark_model_runs_as_fast_without_its_person_mask_and_gives_the_same_numbers():
    """The split is what makes the landmark stage fast: the main model alone gives the landmarks, presence, heatmap
    and world landmarks that the whole model gives, and the mask file adds the same mask."""
    model = MODELS["pose_landmark_full"]
    tensor = np.random.default_rng(0).random(model.input_shape, np.float32)
    alone, together = (converter.run_onnx(model, MODEL_DIR, head=head)(tensor) for head in (False, True))
    assert sorted(alone) == sorted(name for name, _ in model.kept_outputs)
    for name in alone:
        assert np.array_equal(alone[name], together[name])
    assert together["Identity_2"].shape == (1, 256, 256, 1)


@pytest.mark.parametrize("name", sorted(FILES))
def test_model_carries_its_provenance_and_is_self_contained(name):
    onnx_model = onnx.load(str(MODEL_DIR / f"{name}.onnx"))
    metadata = {p.key: p.value for p in onnx_model.metadata_props}
    assert metadata["source"] == f"mediapipe/modules/{FILES[name].source}"
    assert metadata["source_sha256"] == FILES[name].sha256
    assert metadata["mediapipe_version"] == converter.MEDIAPIPE_VERSION
    assert metadata["license"] == "Apache-2.0"
    assert metadata["converter"].startswith(converter.CONVERTER)
    assert [(o.domain, o.version) for o in onnx_model.opset_import] == [("", converter.OPSET)]
    assert onnx_model.ir_version == converter.IR_VERSION
    assert all(t.data_location != onnx.TensorProto.EXTERNAL for t in onnx_model.graph.initializer)
    # float16 and sparse weights folded at conversion: float32 weights, int64 shapes, nothing cast at run time
    assert {t.data_type for t in onnx_model.graph.initializer} <= {onnx.TensorProto.FLOAT, onnx.TensorProto.INT64}
    assert not {"Cast", "DequantizeLinear"} & {node.op_type for node in onnx_model.graph.node}


@pytest.mark.skipif(importlib.util.find_spec("tflite_runtime") is None,
                    reason="tflite-runtime is not installed (Linux only): no TFLite reference to compare with")
@pytest.mark.skipif(importlib.util.find_spec("mediapipe") is None,
                    reason="the .tflite originals (mediapipe 0.10.14's files) are not installed here; "
                           "tools/convert_landmark_models.py --check compares them in .venv-convert")
@pytest.mark.skipif(not PHOTO.is_file(), reason="../shared/media is absent: no real photo")
@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_gives_the_tflite_outputs_on_a_real_photo(name):
    model = MODELS[name]
    inputs = converter.check_inputs(model, [PHOTO])
    results = converter.parity(model, MODEL_DIR, converter.read_source(model), inputs)
    assert [r.output for r in results if r.judged] == [output for output, _ in model.outputs]
    for result in results:
        assert result.ok, f"{result.output}: max |diff| {result.max_abs:.3g} is {result.relative:.2g} of its " \
                          f"scale {result.scale:.4g} (TFLite's own kernels differ by {result.tflite_spread:.3g})"
