"""A really binary inference path for the BiDRN encoders (MODELS.md B.3-B.5).

Binary weights are stored bit-packed (one bit per weight plus a float alpha per output channel). The
network is emitted as an ONNX graph in which each binary convolution is either
- ``integer``: exact ±1 arithmetic through onnxruntime's ``ConvInteger``: activations as uint8 ``a + 1``
  (0 or 2) and weights as uint8 ``w + 1``, both with zero point 1, so the kernel sums ``a * w`` exactly and
  pads with the zero point as float zero padding would; the int32 sums are scaled by alpha; or
- ``float``: the float twin, an ordinary ``Conv`` of ±1 activations with alpha-scaled ±1 weights.
Both graphs compute the eval-mode function of the torch modules (tested against them).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from .binaryhpe import BaseLCR, BasicBlock, BinaryConv2d, Bottleneck, FusionDown, FusionUp, LCRBranch, ResNet


class GraphBuilder:
    """Nodes and initialisers of one ONNX graph, with unique names."""

    def __init__(self, integer: bool):
        self.integer = integer
        self.nodes: list = []
        self.initialisers: list = []
        self.count = 0

    def name(self, stem: str) -> str:
        self.count += 1
        return f"{stem}_{self.count}"

    def constant(self, value: np.ndarray, stem: str = "c") -> str:
        name = self.name(stem)
        self.initialisers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, kind: str, inputs: list[str], **attributes) -> str:
        output = self.name(kind.lower())
        self.nodes.append(helper.make_node(kind, inputs, [output], **attributes))
        return output

    def model(self, inputs: list, outputs: list) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, "bidrn", inputs, outputs, self.initialisers)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)

    # -- layers ----------------------------------------------------------------------------------------
    def conv(self, x: str, module: nn.Conv2d) -> str:
        inputs = [x, self.constant(module.weight.detach().numpy(), "w")]
        if module.bias is not None:
            inputs.append(self.constant(module.bias.detach().numpy(), "b"))
        pad = module.padding[0]
        return self.op("Conv", inputs, strides=list(module.stride), pads=[pad] * 4, group=module.groups)

    def batch_norm(self, x: str, module: nn.BatchNorm2d) -> str:
        values = [module.weight, module.bias, module.running_mean, module.running_var]
        return self.op("BatchNormalization", [x, *(self.constant(v.detach().numpy()) for v in values)],
                       epsilon=module.eps)

    def binary_conv(self, x: str, module: BinaryConv2d) -> str:
        """Sign(Hardtanh(x)) conv alpha * Sign(w): integer or float, the same function."""
        weight = module.weight.detach().numpy()
        alpha = np.abs(weight).mean(axis=(1, 2, 3)).astype(np.float32)
        positive = weight >= 0
        pad = module.padding[0]
        is_positive = self.op("GreaterOrEqual", [x, self.constant(np.array(0, np.float32))])
        if self.integer:
            codes = self.op("Where", [is_positive, self.constant(np.array(2, np.uint8)),
                                      self.constant(np.array(0, np.uint8))])
            sums = self.op("ConvInteger", [codes, self.constant(np.where(positive, 2, 0).astype(np.uint8), "wq"),
                                           self.constant(np.array(1, np.uint8)), self.constant(np.array(1, np.uint8))],
                           strides=list(module.stride), pads=[pad] * 4)
            scaled = self.op("Cast", [sums], to=TensorProto.FLOAT)
            return self.op("Mul", [scaled, self.constant(alpha[None, :, None, None])])
        signs = self.op("Where", [is_positive, self.constant(np.array(1, np.float32)),
                                  self.constant(np.array(-1, np.float32))])
        weights = (np.where(positive, 1.0, -1.0) * alpha[:, None, None, None]).astype(np.float32)
        return self.op("Conv", [signs, self.constant(weights, "wb")], strides=list(module.stride), pads=[pad] * 4)

    def clip(self, x: str) -> str:
        return self.op("Clip", [x, self.constant(np.array(-1, np.float32)), self.constant(np.array(1, np.float32))])

    def lcr_branch(self, a: str, module: LCRBranch) -> str:
        act = module.act
        shifted = self.op("Sub", [self.binary_conv(a, module.conv), self.constant(act.gamma.detach().numpy())])
        activated = self.op("Add", [self.op("PRelu", [shifted, self.constant(act.beta.detach().numpy()[0])]),
                                    self.constant(act.zeta.detach().numpy())])
        bypass = self.op("AveragePool", [a], kernel_shape=[2, 2], strides=[2, 2]) if module.stride == 2 else a
        return self.op("Add", [activated, bypass])

    def block(self, x: str, module: nn.Module) -> str:
        if isinstance(module, BaseLCR):
            return self.batch_norm(self.lcr_branch(self.clip(x), module.branch), module.norm)
        if isinstance(module, FusionUp):
            a = self.clip(x)
            return self.batch_norm(self.op("Concat", [self.lcr_branch(a, b) for b in module.branches], axis=1),
                                   module.norm)
        if isinstance(module, FusionDown):
            a = self.clip(x)
            groups = [self.name("split") for _ in module.branches]
            width = module.branches[0].conv.in_channels
            sizes = self.constant(np.full(len(groups), width, np.int64))  # opset 17: sizes as an input
            self.nodes.append(helper.make_node("Split", [a, sizes], groups, axis=1))
            total = self.lcr_branch(groups[0], module.branches[0])
            for group, branch in zip(groups[1:], module.branches[1:], strict=True):
                total = self.op("Add", [total, self.lcr_branch(group, branch)])
            return self.batch_norm(total, module.norm)
        if isinstance(module, nn.Sequential):  # full-precision conv + BN (the Block Residual)
            return self.batch_norm(self.conv(x, module[0]), module[1])
        raise TypeError(f"no ONNX emitter for {type(module).__name__}")

    def residual_block(self, x: str, module: Bottleneck | BasicBlock) -> str:
        out = x
        for name in ("conv1", "conv2", "conv3"):
            if hasattr(module, name):
                out = self.block(out, getattr(module, name))
        shortcut = x if isinstance(module.shortcut, nn.Identity) else self.block(x, module.shortcut)
        return self.op("Add", [out, shortcut])

    def resnet(self, x: str, module: ResNet) -> str:
        conv, norm = module.stem[0], module.stem[1]
        out = self.op("Relu", [self.batch_norm(self.conv(x, conv), norm)])
        out = self.op("MaxPool", [out], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
        for block in module.layers:
            out = self.residual_block(out, block)
        return out


def encoder_onnx(encoder: ResNet, input_shape: tuple[int, ...], integer: bool) -> onnx.ModelProto:
    """The eval-mode BiDRN ``encoder`` as ONNX: binary convs as ``ConvInteger`` (``integer``) or float twins."""
    builder = GraphBuilder(integer)
    output = builder.resnet("image", encoder.eval())
    return builder.model([helper.make_tensor_value_info("image", TensorProto.FLOAT, list(input_shape))],
                         [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)])


# -- bit-packed storage --------------------------------------------------------------------------------


def save_packed(module: nn.Module, path: Path) -> Path:
    """Binary conv weights as packed sign bits + alpha; everything else as float32."""
    arrays = {}
    for name, tensor in module.state_dict().items():
        owner = module.get_submodule(name.rsplit(".", 1)[0]) if "." in name else module
        value = tensor.detach().cpu().numpy()
        if isinstance(owner, BinaryConv2d) and name.endswith("weight"):
            arrays[f"{name}:bits"] = np.packbits(value >= 0, axis=None)
            arrays[f"{name}:alpha"] = np.abs(value).mean(axis=(1, 2, 3)).astype(np.float32)
            arrays[f"{name}:shape"] = np.array(value.shape)
        else:
            arrays[name] = value
    np.savez_compressed(path, **arrays)
    return path


def load_packed(module: nn.Module, path: Path) -> nn.Module:
    """Fill ``module`` from a packed file: binary weights become alpha * sign (the same binarized function)."""
    with np.load(path) as data:
        state = {}
        for key in data.files:
            if key.endswith(":bits"):
                name = key[:-5]
                shape = tuple(data[f"{name}:shape"])
                signs = np.unpackbits(data[key], count=int(np.prod(shape))).reshape(shape) * 2.0 - 1.0
                state[name] = torch.tensor(signs * data[f"{name}:alpha"][:, None, None, None], dtype=torch.float32)
            elif ":" not in key:
                state[key] = torch.tensor(data[key])
    module.load_state_dict(state)
    return module


# -- whole-model export: binary layers as packed bits inside the torch-exported graph ----------------------


_FLOAT_TWIN = {"on": False}


@contextlib.contextmanager
def float_twin_export():
    """Inside: binary convolutions export as their float twins (for the benchmark's comparison)."""
    _FLOAT_TWIN["on"] = True
    try:
        yield
    finally:
        _FLOAT_TWIN["on"] = False


def export_binary_layer(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Called by the binary layers' ``forward`` during ``torch.onnx.export``: the layer goes into the file
    as its sign bits (``np.packbits``) and per-output-channel alpha; the bits are unpacked by constant
    subgraphs that onnxruntime folds when the session loads. Convolutions run as exact ±1 ``ConvInteger``;
    transposed convolutions and linear layers as their float twins (onnxruntime has no integer kernel for
    them)."""
    weight = module.weight.detach().cpu().numpy()
    kind = type(module).__name__
    axes = (0, 2, 3) if kind == "BinaryConvTranspose2d" else tuple(range(1, weight.ndim))
    alpha = np.abs(weight).mean(axis=axes).astype(np.float32)
    packed = np.packbits(weight >= 0, axis=None)
    bias = None if module.bias is None else module.bias.detach().cpu().numpy()
    geometry = (tuple(getattr(module, "stride", (1,))), tuple(getattr(module, "padding", (0,))))
    integer = kind == "BinaryConv2d" and not _FLOAT_TWIN["on"]
    return _PackedBinary.apply(x, kind, packed, alpha, weight.shape, geometry, bias, integer)


def _signed_weight(packed: np.ndarray, alpha: np.ndarray, shape: tuple[int, ...], kind: str) -> np.ndarray:
    signs = np.unpackbits(packed, count=int(np.prod(shape))).reshape(shape).astype(np.float32) * 2 - 1
    scale = alpha[None, :, None, None] if kind == "BinaryConvTranspose2d" else \
        alpha.reshape(-1, *([1] * (len(shape) - 1)))
    return signs * scale


class _PackedBinary(torch.autograd.Function):
    """Forward: the layer's eval-mode function (for tracing); symbolic: the packed ONNX form."""

    @staticmethod
    def forward(ctx, x, kind, packed, alpha, shape, geometry, bias, integer):
        signs = torch.where(x >= 0, 1.0, -1.0).to(x.dtype)
        weight = torch.from_numpy(_signed_weight(packed, alpha, shape, kind)).to(x.dtype)
        bias_t = None if bias is None else torch.from_numpy(bias).to(x.dtype)
        (stride, padding) = geometry
        if kind == "BinaryConv2d":
            return torch.nn.functional.conv2d(signs, weight, bias_t, stride, padding)
        if kind == "BinaryConvTranspose2d":
            return torch.nn.functional.conv_transpose2d(signs, weight, bias_t, stride, padding)
        return torch.nn.functional.linear(signs, weight, bias_t)

    @staticmethod
    def symbolic(g, x, kind, packed, alpha, shape, geometry, bias, integer):
        def const(value):
            return g.op("Constant", value_t=torch.from_numpy(np.ascontiguousarray(value)))

        count = int(np.prod(shape))
        column = g.op("Unsqueeze", const(packed), const(np.array([1], np.int64)))
        shifted = g.op("BitShift", column, const(np.arange(7, -1, -1, dtype=np.uint8)), direction_s="RIGHT")
        bits = g.op("Mod", shifted, const(np.array(2, np.uint8)), fmod_i=0)
        bits = g.op("Slice", g.op("Reshape", bits, const(np.array([-1], np.int64))), const(np.array([0])),
                    const(np.array([count])))
        bits = g.op("Reshape", bits, const(np.array(shape, np.int64)))
        is_positive = g.op("GreaterOrEqual", x, const(np.array(0, np.float32)))
        stride, padding = geometry
        if integer:
            codes = g.op("Where", is_positive, const(np.array(2, np.uint8)), const(np.array(0, np.uint8)))
            weight_codes = g.op("BitShift", bits, const(np.array(1, np.uint8)), direction_s="LEFT")  # 0 or 2
            one = const(np.array(1, np.uint8))
            sums = g.op("ConvInteger", codes, weight_codes, one, one, strides_i=list(stride),
                        pads_i=list(padding) * 2)
            out = g.op("Mul", g.op("Cast", sums, to_i=1), const(alpha[None, :, None, None]))
            return out if bias is None else g.op("Add", out, const(bias[None, :, None, None]))
        signs = g.op("Where", is_positive, const(np.array(1, np.float32)), const(np.array(-1, np.float32)))
        scale = {"BinaryConvTranspose2d": alpha[None, :, None, None], "BinaryConv2d": alpha[:, None, None, None]
                 }.get(kind, alpha[:, None])
        weight = g.op("Mul", g.op("Sub", g.op("Mul", g.op("Cast", bits, to_i=1), const(np.array(2, np.float32))),
                                  const(np.array(1, np.float32))), const(scale.astype(np.float32)))
        if kind == "BinaryConv2d":
            out = g.op("Conv", signs, weight, strides_i=list(stride), pads_i=list(padding) * 2)
            return out if bias is None else g.op("Add", out, const(bias[None, :, None, None]))
        if kind == "BinaryConvTranspose2d":
            out = g.op("ConvTranspose", signs, weight, strides_i=list(stride), pads_i=list(padding) * 2,
                       kernel_shape_i=list(shape[2:]))
            return out if bias is None else g.op("Add", out, const(bias[None, :, None, None]))
        out = g.op("MatMul", signs, g.op("Transpose", weight, perm_i=[1, 0]))
        return out if bias is None else g.op("Add", out, const(bias))
