"""Convert MediaPipe 0.10.14's landmark and detection networks (``.tflite``, Apache-2.0) to ONNX for onnxruntime.

    python tools/convert_landmark_models.py --out core/landmarks/models [--check] [--bench]

Run it in ``.venv-convert``, made from ``requirements-convert.txt`` (every package pinned, installed with
``--no-deps``). The ``.tflite`` files are read from the installed ``mediapipe`` package's ``modules/`` folder
(mediapipe itself is never imported), from ``--modules DIR`` or from ``--mediapipe-wheel WHEEL``; each must have
the sha256 of MediaPipe 0.10.14's file.

Why a converter of our own (about 350 lines on the ``tflite`` flatbuffer bindings and ``onnx``) and not
tflite2onnx 0.4.1: tflite2onnx fails on four of the seven models (it lacks DENSIFY, which pose_detection's sparse
weights need, and stops with index errors on pose_landmark_full, palm_detection_full and face_landmark) and
warns that it has not tested float16 weights on the other three. The seven models use 17 builtin ops and no
custom op (pose_landmark_full's segmentation head upsamples with RESIZE_BILINEAR, not MediaPipe's
Convolution2DTransposeBias); converting those ourselves keeps every choice (layout, folding, naming) in view, and
any other op stops the conversion with its name.

Each ONNX model takes and gives exactly what the ``.tflite`` does: one float32 NHWC input named ``input``, the
original's output tensors (names, order, shapes, NHWC). One exception: pose_landmark_full's person mask is split
off into ``pose_segmentation.onnx`` (see ``split``), which the landmark stage runs only when a mask is asked for.
Inside, a model runs NCHW: one Transpose after the input and others only where the layout matters (a Reshape,
FullyConnected or shrinking slice of a 4D tensor, a 4D output).
Float16 and sparse weights (DEQUANTIZE, DENSIFY) are folded into float32 initializers; fused activations
become their own node (onnxruntime fuses them back into the Conv). Opset 17, no external data; the same
sources give the same bytes.

``--check`` runs each ONNX model in onnxruntime and its original in the TFLite interpreter (tflite-runtime)
on random inputs and on the shared real photos, and fails if the largest difference of an output exceeds
``TOLERANCE`` of its scale (its range over the inputs, or its largest magnitude where larger) or, for the
segmentation logits, whose float32 rounding alone is larger than that, ``NOISE_FACTOR`` times the difference
between TFLite's own two CPU kernel sets. ``--bench`` prints median latencies of both on 1 and 2 threads.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import statistics
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnx.utils
from onnx import helper, numpy_helper

try:
    import tflite  # the flatbuffer bindings, only in .venv-convert; the tests read this module's tables without
except ImportError:
    tflite = None

ROOT = Path(__file__).resolve().parent.parent
SHARED_IMAGES = ROOT.parent / "shared" / "media" / "images"
MEDIAPIPE_VERSION = "0.10.14"
CONVERTER = "pocket-mocap tools/convert_landmark_models.py"
CONVERTER_VERSION = "1"
OPSET = 17
IR_VERSION = 8  # opset 17's; onnxruntime 1.20 reads up to 10
# The largest |ONNX - TFLite| allowed, as a fraction of the output's scale (see Parity).
TOLERANCE = 1e-4
NOISE_FACTOR = 2.0
NHWC, NCHW = "nhwc", "nchw"
TO_NCHW, TO_NHWC = (0, 3, 1, 2), (0, 2, 3, 1)
AXIS_IN_NCHW = (0, 2, 3, 1)  # where NHWC axis i sits in NCHW


@dataclass(frozen=True)
class LandmarkModel:
    """One MediaPipe network: where it lives in ``mediapipe/modules``, its input and outputs (NHWC, float32)."""

    source: str
    sha256: str
    input_shape: tuple[int, int, int, int]
    input_range: tuple[float, float]  # what MediaPipe's graph maps pixel values 0..255 to
    outputs: tuple[tuple[str, tuple[int, ...]], ...]
    # Outputs that float32 rounding alone moves by more than TOLERANCE of their range (the segmentation logits reach
    # -2000 through large cancelling sums; TFLite's XNNPACK and built-in kernels differ by up to 2.3 on them): these
    # pass when ONNX is within NOISE_FACTOR times the difference between TFLite's two kernel sets. They are logits
    # that MediaPipe puts through a sigmoid, so that is printed too.
    noisy_logits: tuple[str, ...] = ()
    # Outputs moved into a model of their own, ``(its name, the outputs)``: the main model then also gives the
    # feature maps they are computed from (HEAD_INPUTS, NCHW), and runs without them when they are not wanted.
    head: tuple[str, tuple[str, ...]] | None = None

    @property
    def name(self) -> str:
        return Path(self.source).stem

    @property
    def kept_outputs(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        """The outputs the main model gives (the original's, less those its head gives)."""
        moved = self.head[1] if self.head else ()
        return tuple(output for output in self.outputs if output[0] not in moved)

    @property
    def files(self) -> tuple[str, ...]:
        """The ONNX files this network is written to (without ``.onnx``)."""
        return (self.name, self.head[0]) if self.head else (self.name,)


MODELS = {model.name: model for model in (
    LandmarkModel("pose_detection/pose_detection.tflite",
                  "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c", (1, 224, 224, 3), (-1.0, 1.0),
                  (("Identity", (1, 2254, 12)), ("Identity_1", (1, 2254, 1)))),
    LandmarkModel("pose_landmark/pose_landmark_full.tflite",
                  "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f", (1, 256, 256, 3), (0.0, 1.0),
                  (("Identity", (1, 195)), ("Identity_1", (1, 1)), ("Identity_2", (1, 256, 256, 1)),
                   ("Identity_3", (1, 64, 64, 39)), ("Identity_4", (1, 117))), noisy_logits=("Identity_2",),
                  head=("pose_segmentation", ("Identity_2",))),
    LandmarkModel("holistic_landmark/hand_recrop.tflite",
                  "67d996ce96f9d36fe17d2693022c6da93168026ab2f028f9e2365398d8ac7d5d", (1, 256, 256, 3), (0.0, 1.0),
                  (("output_crop", (1, 1, 1, 4)),)),
    LandmarkModel("hand_landmark/hand_landmark_full.tflite",
                  "11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3", (1, 224, 224, 3), (0.0, 1.0),
                  (("Identity", (1, 63)), ("Identity_1", (1, 1)), ("Identity_2", (1, 1)), ("Identity_3", (1, 63)))),
    LandmarkModel("palm_detection/palm_detection_full.tflite",
                  "1b14e9422c6ad006cde6581a46c8b90dd573c07ab7f3934b5589e7cea3f89a54", (1, 192, 192, 3), (0.0, 1.0),
                  (("Identity", (1, 2016, 18)), ("Identity_1", (1, 2016, 1)))),
    LandmarkModel("face_detection/face_detection_short_range.tflite",
                  "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8", (1, 128, 128, 3), (-1.0, 1.0),
                  (("regressors", (1, 896, 16)), ("classificators", (1, 896, 1)))),
    LandmarkModel("face_landmark/face_landmark.tflite",
                  "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814", (1, 192, 192, 3), (0.0, 1.0),
                  (("conv2d_21", (1, 1, 1, 1404)), ("conv2d_31", (1, 1, 1, 1)))),
)}


# --- Sources ---------------------------------------------------------------------------------------------------

def installed_modules() -> Path:
    """``mediapipe/modules`` of the installed package, found without importing mediapipe."""
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"mediapipe is not installed: use requirements-convert.txt (mediapipe=={MEDIAPIPE_VERSION}), "
                 "or pass --modules or --mediapipe-wheel.")
    return Path(next(iter(spec.submodule_search_locations))) / "modules"


def read_source(model: LandmarkModel, modules: Path | None = None, wheel: Path | None = None) -> bytes:
    """The ``.tflite`` bytes, checked to be MediaPipe 0.10.14's."""
    if wheel is not None:
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(f"mediapipe/modules/{model.source}")
    else:
        data = ((modules or installed_modules()) / model.source).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != model.sha256:
        sys.exit(f"{model.source} is not MediaPipe {MEDIAPIPE_VERSION}'s (sha256 {digest}): "
                 f"use mediapipe=={MEDIAPIPE_VERSION}.")
    return data


# --- TFLite flatbuffer reading ---------------------------------------------------------------------------------

def options(op, options_class):
    """An operator's builtin options table as ``options_class``."""
    table = op.BuiltinOptions()
    parsed = options_class()
    parsed.Init(table.Bytes, table.Pos)
    return parsed


def index_vector(kind: int, table) -> np.ndarray:
    """A sparsity index array (a flatbuffer union of int32, uint16 and uint8 vectors) as int64."""
    vector = {1: tflite.Int32Vector, 2: tflite.Uint16Vector, 3: tflite.Uint8Vector}[kind]()
    vector.Init(table.Bytes, table.Pos)
    return vector.ValuesAsNumpy().astype(np.int64)


def densify(values: np.ndarray, shape: tuple[int, ...], sparsity) -> np.ndarray:
    """A sparse constant (TFLite's per-dimension dense/CSR format, walked in traversal order) as a dense array."""
    if sparsity.BlockMapLength():
        raise NotImplementedError("block-sparse weights")
    positions = np.zeros(1, np.int64)
    coords = np.zeros((1, 0), np.int64)  # per stored value, its coordinate on each level walked so far
    for level in range(sparsity.DimMetadataLength()):
        dim = sparsity.DimMetadata(level)
        if dim.Format() == tflite.DimensionType.DENSE:
            size = dim.DenseSize()
            counts = np.full(len(positions), size)
            positions = (positions[:, None] * size + np.arange(size)).ravel()
            level_coords = np.tile(np.arange(size), len(counts))
        else:
            segments = index_vector(dim.ArraySegmentsType(), dim.ArraySegments())
            indices = index_vector(dim.ArrayIndicesType(), dim.ArrayIndices())
            starts = segments[positions]
            counts = segments[positions + 1] - starts
            offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
            positions = offsets + np.arange(counts.sum())
            level_coords = indices[positions]
        coords = np.column_stack([np.repeat(coords, counts, axis=0), level_coords])
    dense = np.zeros(shape, values.dtype)
    dense[tuple(coords[:, np.argsort(sparsity.TraversalOrderAsNumpy())].T)] = values[positions]
    return dense


def read_constants(model, graph) -> dict[int, np.ndarray]:
    """Every tensor that has data in the file (weights, shapes), sparse ones densified."""
    dtypes = {tflite.TensorType.FLOAT32: np.float32, tflite.TensorType.FLOAT16: np.float16,
              tflite.TensorType.INT32: np.int32, tflite.TensorType.INT64: np.int64}
    constants = {}
    for index in range(graph.TensorsLength()):
        tensor = graph.Tensors(index)
        data = model.Buffers(tensor.Buffer()).DataAsNumpy()
        if isinstance(data, int):  # an empty buffer: a computed tensor
            continue
        values = np.frombuffer(data.tobytes(), dtypes[tensor.Type()])
        shape = tuple(int(n) for n in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
        sparsity = tensor.Sparsity()
        constants[index] = values.reshape(shape) if sparsity is None else densify(values, shape, sparsity)
    return constants


def explicit_pads(size: tuple[int, int], kernel: tuple[int, int], strides: tuple[int, int],
                  dilations: tuple[int, int], padding: int) -> list[int]:
    """TFLite's SAME/VALID padding as ONNX ``pads`` (top, left, bottom, right); SAME puts the odd pixel last."""
    if padding == tflite.Padding.VALID:
        return [0, 0, 0, 0]
    totals = [max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
              for n, k, s, d in zip(size, kernel, strides, dilations, strict=True)]
    return [total // 2 for total in totals] + [total - total // 2 for total in totals]


# --- Conversion ------------------------------------------------------------------------------------------------

class Converter:
    """One TFLite subgraph as ONNX nodes. Each computed tensor is kept in one layout (NCHW for the 4D tensors
    that convolutions make, TFLite's own otherwise) and transposed, once, where a consumer needs the other."""

    def __init__(self, data: bytes):
        self.model = tflite.Model.GetRootAsModel(data, 0)
        self.graph = self.model.Subgraphs(0)
        self.constants = read_constants(self.model, self.graph)
        self.names = self.tensor_names()
        self.values: dict[int, tuple[str, str]] = {}  # tensor -> (ONNX name, layout) of its computed value
        self.cache: dict[tuple[int, str], str] = {}  # (tensor, layout) -> ONNX name: transposes, initializers
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        (self.input,) = (int(i) for i in self.graph.InputsAsNumpy())
        self.values[self.input] = ("input", NHWC)

    def tensor_names(self) -> list[str]:
        names, seen = [], set()
        inputs = {int(i) for i in self.graph.InputsAsNumpy()}
        for index in range(self.graph.TensorsLength()):
            name = "input" if index in inputs else self.graph.Tensors(index).Name().decode()
            names.append(name if name not in seen else f"{name}_{index}")
            seen.add(names[-1])
        return names

    def shape(self, index: int) -> tuple[int, ...]:
        return tuple(int(n) for n in self.graph.Tensors(index).ShapeAsNumpy())

    def layout(self, index: int) -> str:
        return NHWC if index in self.constants else self.values[index][1]

    def name(self, index: int, layout: str) -> str:
        return self.names[index] if layout == NHWC else f"{self.names[index]}/nchw"

    def constant(self, index: int) -> np.ndarray:
        if index not in self.constants:
            raise NotImplementedError(f"{self.names[index]} is computed; only constant operands are supported")
        return self.constants[index]

    def initializer(self, array: np.ndarray, name: str) -> str:
        dtype = np.int64 if np.issubdtype(array.dtype, np.integer) else np.float32
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype), name))
        return name

    def value(self, index: int, layout: str) -> str:
        """The ONNX name of tensor ``index`` in ``layout``; a constant of lower rank broadcasts as in TFLite."""
        if index in self.constants:
            array = self.constants[index]
            if layout == NCHW:
                array = array.reshape((1,) * (4 - array.ndim) + array.shape).transpose(TO_NCHW)
            key = (index, layout)
            if key not in self.cache:
                self.cache[key] = self.initializer(array, self.name(index, layout))
            return self.cache[key]
        name, stored = self.values[index]
        if stored == layout:
            return name
        if (index, layout) not in self.cache:
            self.cache[(index, layout)] = self.emit("Transpose", [name], self.name(index, layout),
                                                    perm=TO_NCHW if layout == NCHW else TO_NHWC)
        return self.cache[(index, layout)]

    def emit(self, op_type: str, inputs: list[str], output: str, **attributes) -> str:
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=output, **attributes))
        return output

    def finish(self, index: int, layout: str, op_type: str, inputs: list[str], activation: int = 0,
               **attributes) -> None:
        """Emit the op making tensor ``index`` (in ``layout``), then its fused activation."""
        output = self.name(index, layout)
        if activation == tflite.ActivationFunctionType.NONE:
            self.emit(op_type, inputs, output, **attributes)
        else:
            self.emit(op_type, inputs, f"{output}/linear", **attributes)
            self.activate(f"{output}/linear", activation, output)
        self.values[index] = (output, layout)

    def activate(self, source: str, activation: int, output: str) -> None:
        kinds = tflite.ActivationFunctionType
        if activation == kinds.RELU:
            self.emit("Relu", [source], output)
        elif activation in (kinds.RELU6, kinds.RELU_N1_TO_1):
            low, high = (0.0, 6.0) if activation == kinds.RELU6 else (-1.0, 1.0)
            bounds = [self.initializer(np.array(low), f"{output}/min"),
                      self.initializer(np.array(high), f"{output}/max")]
            self.emit("Clip", [source, *bounds], output)
        elif activation == kinds.TANH:
            self.emit("Tanh", [source], output)
        else:
            raise NotImplementedError(f"fused activation {activation}")

    def common_layout(self, inputs: list[int]) -> str:
        """NCHW if any computed operand is kept NCHW (constants follow), else TFLite's layout."""
        return NCHW if any(self.layout(i) == NCHW for i in inputs if i not in self.constants) else NHWC

    def convert(self) -> onnx.GraphProto:
        for op_index in range(self.graph.OperatorsLength()):
            op = self.graph.Operators(op_index)
            code = self.model.OperatorCodes(op.OpcodeIndex())
            opname = tflite.utils.BUILTIN_OPCODE2NAME[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
            handler = getattr(self, f"op_{opname.lower()}", None)
            if handler is None:
                custom = f" {code.CustomCode().decode()}" if code.CustomCode() else ""
                raise NotImplementedError(f"TFLite op {opname}{custom} (operator {op_index})")
            handler(op, [int(i) for i in op.InputsAsNumpy()], [int(i) for i in op.OutputsAsNumpy()])
        outputs = [int(i) for i in self.graph.OutputsAsNumpy()]
        for index in outputs:
            if self.value(index, NHWC) != self.names[index]:  # an output that is an input or a constant
                self.emit("Identity", [self.value(index, NHWC)], self.names[index])
        return helper.make_graph(
            self.nodes, "main",
            [helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, self.shape(self.input))],
            [helper.make_tensor_value_info(self.names[i], onnx.TensorProto.FLOAT, self.shape(i)) for i in outputs],
            self.initializers)

    # Constant folding: float16 and sparse weights become float32 initializers.

    def op_dequantize(self, op, ins: list[int], outs: list[int]) -> None:
        if self.graph.Tensors(ins[0]).Type() != tflite.TensorType.FLOAT16:
            raise NotImplementedError("DEQUANTIZE of integer-quantised tensors")
        self.constants[outs[0]] = self.constant(ins[0]).astype(np.float32)

    def op_densify(self, op, ins: list[int], outs: list[int]) -> None:
        self.constants[outs[0]] = self.constant(ins[0])  # densified when read

    # Layout-sensitive ops, run NCHW.

    def op_conv_2d(self, op, ins: list[int], outs: list[int]) -> None:
        opts = options(op, tflite.Conv2DOptions)
        weights = self.constant(ins[1]).transpose(TO_NCHW)  # OHWI -> OIHW
        self.convolution(op, ins, outs, opts, weights, group=1)

    def op_depthwise_conv_2d(self, op, ins: list[int], outs: list[int]) -> None:
        opts = options(op, tflite.DepthwiseConv2DOptions)
        weights = self.constant(ins[1])[0].transpose(2, 0, 1)[:, None]  # (1, H, W, C*M) -> (C*M, 1, H, W)
        self.convolution(op, ins, outs, opts, weights, group=self.shape(ins[0])[3])

    def convolution(self, op, ins: list[int], outs: list[int], opts, weights: np.ndarray, group: int) -> None:
        strides = (opts.StrideH(), opts.StrideW())
        dilations = (opts.DilationHFactor(), opts.DilationWFactor())
        pads = explicit_pads(self.shape(ins[0])[1:3], weights.shape[2:], strides, dilations, opts.Padding())
        inputs = [self.value(ins[0], NCHW), self.initializer(weights, self.names[ins[1]])]
        if len(ins) > 2 and ins[2] >= 0:
            inputs.append(self.value(ins[2], NHWC))
        self.finish(outs[0], NCHW, "Conv", inputs, opts.FusedActivationFunction(), kernel_shape=weights.shape[2:],
                    strides=strides, dilations=dilations, pads=pads, group=group)

    def op_max_pool_2d(self, op, ins: list[int], outs: list[int]) -> None:
        opts = options(op, tflite.Pool2DOptions)
        kernel, strides = (opts.FilterHeight(), opts.FilterWidth()), (opts.StrideH(), opts.StrideW())
        pads = explicit_pads(self.shape(ins[0])[1:3], kernel, strides, (1, 1), opts.Padding())
        self.finish(outs[0], NCHW, "MaxPool", [self.value(ins[0], NCHW)], opts.FusedActivationFunction(),
                    kernel_shape=kernel, strides=strides, pads=pads)

    def op_depth_to_space(self, op, ins: list[int], outs: list[int]) -> None:
        block = options(op, tflite.DepthToSpaceOptions).BlockSize()
        self.finish(outs[0], NCHW, "DepthToSpace", [self.value(ins[0], NCHW)], blocksize=block, mode="DCR")

    def op_resize_bilinear(self, op, ins: list[int], outs: list[int]) -> None:
        opts = options(op, tflite.ResizeBilinearOptions)
        mode = "align_corners" if opts.AlignCorners() else "half_pixel" if opts.HalfPixelCenters() else "asymmetric"
        n, h, w, c = self.shape(outs[0])
        sizes = self.initializer(np.array([n, c, h, w]), f"{self.name(outs[0], NCHW)}/sizes")
        self.finish(outs[0], NCHW, "Resize", [self.value(ins[0], NCHW), "", "", sizes], mode="linear",
                    coordinate_transformation_mode=mode)

    # Ops that need TFLite's layout.

    def op_reshape(self, op, ins: list[int], outs: list[int]) -> None:
        shape = self.initializer(np.array(self.shape(outs[0])), f"{self.names[outs[0]]}/shape")
        self.finish(outs[0], NHWC, "Reshape", [self.value(ins[0], NHWC), shape])

    def op_fully_connected(self, op, ins: list[int], outs: list[int]) -> None:
        opts = options(op, tflite.FullyConnectedOptions)
        if opts.WeightsFormat() != 0 or (opts.KeepNumDims() and len(self.shape(ins[0])) > 2):
            raise NotImplementedError("FULLY_CONNECTED with shuffled weights or kept dimensions")
        weights = self.constant(ins[1])  # (out, in)
        source = self.value(ins[0], NHWC)
        if len(self.shape(ins[0])) != 2:
            flat = self.initializer(np.array([-1, weights.shape[1]]), f"{self.names[outs[0]]}/flat")
            source = self.emit("Reshape", [source, flat], f"{self.names[outs[0]]}/input")
        inputs = [source, self.initializer(weights, self.names[ins[1]])]
        if len(ins) > 2 and ins[2] >= 0:
            inputs.append(self.value(ins[2], NHWC))
        self.finish(outs[0], NHWC, "Gemm", inputs, opts.FusedActivationFunction(), transB=1)

    # Ops that work in either layout.

    def op_add(self, op, ins: list[int], outs: list[int]) -> None:
        layout = self.common_layout(ins)
        self.finish(outs[0], layout, "Add", [self.value(i, layout) for i in ins],
                    options(op, tflite.AddOptions).FusedActivationFunction())

    def op_prelu(self, op, ins: list[int], outs: list[int]) -> None:
        layout = self.common_layout(ins)
        self.finish(outs[0], layout, "PRelu", [self.value(i, layout) for i in ins])

    def op_relu(self, op, ins: list[int], outs: list[int]) -> None:
        self.finish(outs[0], self.layout(ins[0]), "Relu", [self.value(ins[0], self.layout(ins[0]))])

    def op_logistic(self, op, ins: list[int], outs: list[int]) -> None:
        self.finish(outs[0], self.layout(ins[0]), "Sigmoid", [self.value(ins[0], self.layout(ins[0]))])

    def op_concatenation(self, op, ins: list[int], outs: list[int]) -> None:
        opts = options(op, tflite.ConcatenationOptions)
        layout = self.common_layout(ins)
        axis = opts.Axis() % len(self.shape(outs[0]))
        self.finish(outs[0], layout, "Concat", [self.value(i, layout) for i in ins], opts.FusedActivationFunction(),
                    axis=AXIS_IN_NCHW[axis] if layout == NCHW else axis)

    def op_pad(self, op, ins: list[int], outs: list[int]) -> None:
        layout = self.layout(ins[0])
        pads = self.constant(ins[1])  # (rank, 2): before, after per axis
        if layout == NCHW:
            pads = pads[list(TO_NCHW)]
        name = self.initializer(pads.T.ravel(), f"{self.name(outs[0], layout)}/pads")
        self.finish(outs[0], layout, "Pad", [self.value(ins[0], layout), name], mode="constant")

    def op_mean(self, op, ins: list[int], outs: list[int]) -> None:
        keep = bool(options(op, tflite.ReducerOptions).KeepDims())
        rank = len(self.shape(ins[0]))
        axes = sorted(int(a) % rank for a in np.atleast_1d(self.constant(ins[1])))
        layout = self.layout(ins[0])
        kept_axes = [a for a in range(rank) if a not in axes]
        if layout == NCHW and not keep and sorted(kept_axes, key=AXIS_IN_NCHW.__getitem__) != kept_axes:
            layout = NHWC  # the axes left would come out in another order
        if layout == NCHW:
            axes = sorted(AXIS_IN_NCHW[a] for a in axes)
        self.finish(outs[0], layout if keep else NHWC, "ReduceMean", [self.value(ins[0], layout)], axes=axes,
                    keepdims=int(keep))

    def op_strided_slice(self, op, ins: list[int], outs: list[int]) -> None:
        opts = options(op, tflite.StridedSliceOptions)
        if opts.EllipsisMask() or opts.NewAxisMask() or opts.Offset():
            raise NotImplementedError("STRIDED_SLICE with ellipsis, new-axis or offset")
        begin, end, steps = (self.constant(i).astype(np.int64) for i in ins[1:4])
        if (steps < 0).any():
            raise NotImplementedError("STRIDED_SLICE with negative strides")
        starts, ends, shrink = slice_bounds(begin, end, opts.BeginMask(), opts.EndMask(), opts.ShrinkAxisMask())
        layout = NHWC if any(shrink) else self.layout(ins[0])
        axes = [AXIS_IN_NCHW[a] for a in range(len(begin))] if layout == NCHW else list(range(len(begin)))
        prefix = self.name(outs[0], layout)
        params = [self.initializer(np.array(v), f"{prefix}/{k}") for k, v in
                  (("starts", starts), ("ends", ends), ("axes", axes), ("steps", steps))]
        if not any(shrink):
            self.finish(outs[0], layout, "Slice", [self.value(ins[0], layout), *params])
            return
        sliced = self.emit("Slice", [self.value(ins[0], layout), *params], f"{prefix}/sliced")
        shape = self.initializer(np.array(self.shape(outs[0])), f"{prefix}/shape")
        self.finish(outs[0], NHWC, "Reshape", [sliced, shape])


def slice_bounds(begin: np.ndarray, end: np.ndarray, begin_mask: int, end_mask: int,
                 shrink_mask: int) -> tuple[list[int], list[int], list[bool]]:
    """STRIDED_SLICE's masks as plain ONNX Slice starts and ends (positive strides), and which axes it drops."""
    last = int(np.iinfo(np.int64).max)
    starts, ends, shrink = [], [], []
    for axis, (b, e) in enumerate(zip(begin.tolist(), end.tolist(), strict=True)):
        shrink.append(bool(shrink_mask >> axis & 1))
        starts.append(0 if begin_mask >> axis & 1 and not shrink[-1] else b)
        if shrink[-1]:
            ends.append(b + 1 if b != -1 else last)
        else:
            ends.append(last if end_mask >> axis & 1 else e)
    return starts, ends, shrink


def convert(model: LandmarkModel, data: bytes) -> onnx.ModelProto:
    """The ONNX model of one ``.tflite``, checked, its input and outputs as ``model`` lists them."""
    graph = Converter(data).convert()
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION,
                                   producer_name=CONVERTER, producer_version=CONVERTER_VERSION)
    helper.set_model_props(onnx_model, {
        "source": f"mediapipe/modules/{model.source}",
        "source_sha256": hashlib.sha256(data).hexdigest(),
        "mediapipe_version": MEDIAPIPE_VERSION,
        "converter": f"{CONVERTER} {CONVERTER_VERSION} (tflite {package_version('tflite')}, "
                     f"onnx {onnx.__version__})",
        "license": "Apache-2.0",
    })
    onnx.checker.check_model(onnx_model, full_check=True)
    found = io_shapes(onnx.shape_inference.infer_shapes(onnx_model, strict_mode=True))
    expected = (("input", model.input_shape), *model.outputs)
    if found != expected:
        raise RuntimeError(f"{model.name}: converted to {found}, expected {expected}")
    return onnx_model


# The person mask of pose_landmark_full (its segmentation head, at 128 and 256 px) is more than half of the model's
# time, and only a silhouette input asks for it: it is a model of its own, fed these feature maps of the main one.
HEAD_INPUTS = ("head_input_0", "head_input_1")


def split(model: LandmarkModel, onnx_model: onnx.ModelProto) -> dict[str, onnx.ModelProto]:
    """``{file name: model}``: the converted model as it is, or, for a model with a head, the main part (the
    original's other outputs, then the feature maps the head reads, named HEAD_INPUTS) and the head (those
    feature maps in, its outputs out). Every node is the original's, so every output is the same number."""
    if model.head is None:
        return {model.name: onnx_model}
    head_name, moved = model.head
    extractor = onnx.utils.Extractor(onnx.shape_inference.infer_shapes(onnx_model, strict_mode=True))
    kept = [name for name, _ in model.kept_outputs]
    made = {out for node in extractor.extract_model(["input"], kept).graph.node for out in node.output}
    head_nodes = [node for node in extractor.extract_model(["input"], list(moved)).graph.node
                  if not made.issuperset(node.output)]
    boundary = sorted(name for name in {i for node in head_nodes for i in node.input} if name in made)
    if len(boundary) != len(HEAD_INPUTS):
        raise RuntimeError(f"{model.name}: its head reads {len(boundary)} feature maps, expected {len(HEAD_INPUTS)}")
    renamed = dict(zip(boundary, HEAD_INPUTS, strict=True))
    main = extractor.extract_model(["input"], kept + boundary)
    head = extractor.extract_model(boundary, list(moved))
    for part in (main, head):
        for node in part.graph.node:
            node.input[:] = [renamed.get(name, name) for name in node.input]
            node.output[:] = [renamed.get(name, name) for name in node.output]
        for value in [*part.graph.input, *part.graph.output]:
            value.name = renamed.get(value.name, value.name)
        del part.graph.value_info[:]  # as the converted model has none
        part.ir_version, part.producer_name, part.producer_version = (
            onnx_model.ir_version, onnx_model.producer_name, onnx_model.producer_version)
        del part.opset_import[:]
        part.opset_import.extend(onnx_model.opset_import)
        helper.set_model_props(part, {p.key: p.value for p in onnx_model.metadata_props})
        onnx.checker.check_model(part, full_check=True)
    return {model.name: main, head_name: head}


def run_onnx(model: LandmarkModel, folder: Path, threads: int = 1,
             head: bool = True) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """The converted network in onnxruntime, from ``folder``: input -> {the original's output name: array} (its
    head run after the main model where it has one and ``head``)."""
    main = onnx_session(folder / f"{model.name}.onnx", threads)
    rest = onnx_session(folder / f"{model.head[0]}.onnx", threads) if model.head and head else None

    def run(tensor: np.ndarray) -> dict[str, np.ndarray]:
        found = dict(zip((o.name for o in main.get_outputs()), main.run(None, {"input": tensor}), strict=True))
        if rest is not None:
            found |= dict(zip((o.name for o in rest.get_outputs()),
                              rest.run(None, {name: found[name] for name in HEAD_INPUTS}), strict=True))
        return {name: found[name] for name, _ in model.outputs if name in found}

    return run


def io_shapes(onnx_model: onnx.ModelProto) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """(name, shape) of the graph's inputs, then its outputs."""
    values = [*onnx_model.graph.input, *onnx_model.graph.output]
    return tuple((v.name, tuple(d.dim_value for d in v.type.tensor_type.shape.dim)) for v in values)


def package_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def write_model(onnx_model: onnx.ModelProto, path: Path) -> int:
    """Write the model, byte for byte the same on every run; returns its size."""
    data = onnx_model.SerializeToString(deterministic=True)
    path.write_bytes(data)
    return len(data)


# --- Reference check and latency -------------------------------------------------------------------------------

def shared_images() -> list[Path]:
    return sorted(p for p in SHARED_IMAGES.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


def image_input(model: LandmarkModel, path: Path) -> np.ndarray:
    """A photo squashed to the input size, RGB, scaled to the range MediaPipe feeds this model."""
    import cv2

    _, height, width, _ = model.input_shape
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    rgb = cv2.resize(bgr, (width, height), interpolation=cv2.INTER_AREA)[..., ::-1].astype(np.float32)
    low, high = model.input_range
    return (low + rgb * ((high - low) / 255.0))[None]


def check_inputs(model: LandmarkModel, images: list[Path], randoms: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    noise = [rng.uniform(*model.input_range, model.input_shape).astype(np.float32) for _ in range(randoms)]
    return noise + [image_input(model, path) for path in images]


def onnx_session(path: Path, threads: int = 1):
    import onnxruntime

    options_ = onnxruntime.SessionOptions()
    options_.intra_op_num_threads, options_.inter_op_num_threads = threads, 1
    return onnxruntime.InferenceSession(str(path), options_, providers=["CPUExecutionProvider"])


def tflite_runner(data: bytes, threads: int = 1, xnnpack: bool = True) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """The original in the TFLite interpreter (with its default XNNPACK kernels, as MediaPipe runs it, or with
    the built-in ones): input -> {output name: array}."""
    from tflite_runtime.interpreter import Interpreter, OpResolverType

    kernels = OpResolverType.AUTO if xnnpack else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interpreter = Interpreter(model_content=data, num_threads=threads, experimental_op_resolver_type=kernels)
    interpreter.allocate_tensors()
    (source,) = interpreter.get_input_details()

    def run(tensor: np.ndarray) -> dict[str, np.ndarray]:
        interpreter.set_tensor(source["index"], tensor)
        interpreter.invoke()
        return {d["name"]: interpreter.get_tensor(d["index"]).copy() for d in interpreter.get_output_details()}

    return run


@dataclass(frozen=True)
class Parity:
    """How far one ONNX output is from the TFLite one over the check inputs, next to how far TFLite's own two
    CPU kernel sets (XNNPACK, built-in) are from each other: float32 rounding alone."""

    output: str
    max_abs: float
    scale: float  # the output's range over the inputs, or its largest magnitude where larger (one input)
    tflite_spread: float
    noisy: bool = False  # judged against tflite_spread (see LandmarkModel.noisy_logits)
    judged: bool = True

    @property
    def relative(self) -> float:
        return self.max_abs / max(self.scale, np.finfo(np.float32).tiny)

    @property
    def ok(self) -> bool:
        within = self.max_abs <= NOISE_FACTOR * self.tflite_spread if self.noisy else self.relative <= TOLERANCE
        return within or not self.judged


def parity(model: LandmarkModel, folder: Path, data: bytes, inputs: list[np.ndarray]) -> list[Parity]:
    """Every output of the original against the converted files in ``folder`` (a head's after the main model)."""
    converted, xnnpack, builtin = run_onnx(model, folder), tflite_runner(data), tflite_runner(data, xnnpack=False)
    names = [name for name, _ in model.outputs]
    runs = [(converted(x), xnnpack(x), builtin(x)) for x in inputs]
    results = []
    for name in names:
        got, want, other = (np.stack([run[k][name] for run in runs]) for k in range(3))
        noisy = name in model.noisy_logits
        results.append(compare(name, got, want, other, noisy=noisy))
        if noisy:
            sigmoids = (0.5 + 0.5 * np.tanh(0.5 * a) for a in (got, want, other))
            results.append(compare(f"sigmoid({name})", *sigmoids, judged=False))
    return results


def compare(name: str, got: np.ndarray, want: np.ndarray, other: np.ndarray, **kind: bool) -> Parity:
    spread = float(np.abs(other - want).max())
    scale = max(float(want.max() - want.min()), float(np.abs(want).max()))
    return Parity(name, float(np.abs(got - want).max()), scale, spread, **kind)


def median_ms(run: Callable[[], object], repeats: int = 30) -> float:
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def latencies(model: LandmarkModel, folder: Path, data: bytes) -> dict[str, float]:
    """Median milliseconds of one inference: onnxruntime and the TFLite interpreter, on 1 and 2 threads (a model
    with a head: without it, as the landmark stage runs it, and with it)."""
    tensor = check_inputs(model, [], randoms=1)[0]
    result = {}
    for threads in (1, 2):
        alone, whole, reference = (run_onnx(model, folder, threads, False), run_onnx(model, folder, threads),
                                   tflite_runner(data, threads))
        result[f"onnxruntime {threads}t"] = median_ms(lambda r=alone: r(tensor))
        if model.head:
            result[f"onnxruntime with {model.head[0]} {threads}t"] = median_ms(lambda r=whole: r(tensor))
        result[f"tflite {threads}t"] = median_ms(lambda r=reference: r(tensor))
    return result


# --- Command line ----------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "core/landmarks/models")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--modules", type=Path, help="a mediapipe/modules folder (default: the installed one)")
    source.add_argument("--mediapipe-wheel", type=Path, help=f"a mediapipe {MEDIAPIPE_VERSION} wheel")
    parser.add_argument("--check", action="store_true", help="compare every model with its TFLite original")
    parser.add_argument("--bench", action="store_true", help="median latencies, onnxruntime and TFLite")
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), default=list(MODELS))
    args = parser.parse_args(argv)
    if tflite is None:
        sys.exit("The tflite package is missing: run this in .venv-convert (requirements-convert.txt).")
    args.out.mkdir(parents=True, exist_ok=True)
    images = shared_images()
    failed = []
    for name in args.models:
        model = MODELS[name]
        data = read_source(model, args.modules, args.mediapipe_wheel)
        for file, part in split(model, convert(model, data)).items():
            print(f"{file}: {write_model(part, args.out / f'{file}.onnx') / 1e6:.2f} MB", flush=True)
        if args.check:
            for result in parity(model, args.out, data, check_inputs(model, images)):
                failed += [] if result.ok else [f"{name}/{result.output}"]
                bound = f"{NOISE_FACTOR} x TFLite's own" if result.noisy else str(TOLERANCE)
                verdict = "ok" if result.ok else f"OVER {bound}"
                print(f"  {result.output}: max |diff| {result.max_abs:.3g} (TFLite's own kernels "
                      f"{result.tflite_spread:.3g}), scale {result.scale:.4g}, relative {result.relative:.2g} "
                      f"{verdict if result.judged else '(not judged)'}", flush=True)
        if args.bench:
            print("  " + ", ".join(f"{k} {v:.2f} ms" for k, v in latencies(model, args.out, data).items()), flush=True)
    if args.check and not images:
        print(f"Note: no photos at {SHARED_IMAGES}; checked on random inputs only.")
    if failed:
        print("Parity FAILED: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
