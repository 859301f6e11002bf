"""An ONNX file's outline read straight from its protobuf bytes (no ``onnx`` package, no onnxruntime): metadata,
the graph's inputs and outputs with their types and shapes, and whether any tensor lives outside the file.

onnxruntime follows a tensor's "external data" location wherever it points (``/etc/passwd``, ``../``) and its
errors are C++ text; reading the outline first lets a weights file be judged, and refused with a sentence,
before onnxruntime ever opens it. Only the fields needed are decoded; everything else is skipped by length.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import PocketMocapError
from ..fileio import path_problem

MAX_BYTES = 2 << 30  # protobuf's own limit for one message
MAX_DEPTH = 16  # graphs nested in nodes' attributes (If, Loop, Scan); exported networks nest a few
FLOAT = 1  # TensorProto.DataType

# Field numbers of onnx.proto3 that lead to tensors or describe the graph's edges.
MODEL_GRAPH, MODEL_METADATA, MODEL_FUNCTIONS = 7, 14, 25
GRAPH_NODE, GRAPH_INITIALIZER, GRAPH_INPUT, GRAPH_OUTPUT, GRAPH_SPARSE = 1, 5, 11, 12, 15
NODE_ATTRIBUTE, FUNCTION_NODE = 5, 7
ATTRIBUTE_TENSOR, ATTRIBUTE_GRAPH, ATTRIBUTE_TENSORS, ATTRIBUTE_GRAPHS = 5, 6, 10, 11
ATTRIBUTE_SPARSE, ATTRIBUTE_SPARSES = 22, 23
TENSOR_NAME, TENSOR_EXTERNAL, TENSOR_LOCATION = 8, 13, 14
SPARSE_VALUES, SPARSE_INDICES = 1, 2


class Damaged(ValueError):
    """The bytes are not a well-formed protobuf message."""


@dataclass
class OnnxOutline:
    """``inputs``/``outputs``: name -> (element type, dims; an int, or ``None`` for a named or unknown size)."""

    metadata: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, tuple[int, tuple[int | None, ...]]] = field(default_factory=dict)
    outputs: dict[str, tuple[int, tuple[int | None, ...]]] = field(default_factory=dict)
    external: list[str] = field(default_factory=list)  # names of tensors stored outside the file


def read_outline(path: Path, label: str = "network") -> OnnxOutline:
    """The outline of the ONNX file ``path``; :class:`PocketMocapError` with a sentence when it is empty, too
    large, not an ONNX file, or keeps tensors in other files."""
    problem = path_problem(path, f"{label} weights file")
    if problem:
        raise PocketMocapError(problem)
    size = path.stat().st_size
    if size == 0:
        raise PocketMocapError(f'The {label} weights file "{path.name}" is empty (0 bytes). Copy or export it again.')
    if size > MAX_BYTES:
        raise PocketMocapError(f'"{path.name}" is {size / 1e9:.1f} GB, more than an ONNX file can hold; it is not '
                               f"a {label} network.")
    try:
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            outline = _model(data)
    except (Damaged, IndexError, UnicodeDecodeError, RecursionError):
        raise PocketMocapError(f'"{path.name}" is not an ONNX network (its contents are damaged or of another '
                               f"kind). Export the {label} network again.") from None
    except OSError as exc:
        raise PocketMocapError(f'"{path.name}" could not be read ({exc.strerror or "read error"}).') from None
    if outline.external:
        raise PocketMocapError(f'"{path.name}" keeps its weights ({outline.external[0]}, ...) in other files, which '
                               "Pocket Mocap does not read. Export the network as one self-contained .onnx file.")
    return outline


def _fields(data, start: int, end: int):
    """``(number, wire type, value)`` of each field in ``data[start:end]``; a length-delimited value is
    ``(offset, end)``."""
    offset = start
    while offset < end:
        key, offset = _varint(data, offset, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise Damaged("field 0")
        if wire == 0:
            value, offset = _varint(data, offset, end)
        elif wire == 1:
            value, offset = None, offset + 8
        elif wire == 5:
            value, offset = None, offset + 4
        elif wire == 2:
            length, offset = _varint(data, offset, end)
            value, offset = (offset, offset + length), offset + length
        else:
            raise Damaged(f"wire type {wire}")
        if offset > end:
            raise Damaged("field runs past its message")
        yield number, wire, value


def _varint(data, offset: int, end: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if offset >= end or shift > 63:
            raise Damaged("varint")
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, offset
        shift += 7


def _text(data, span: tuple[int, int]) -> str:
    return bytes(data[span[0]:span[1]]).decode("utf-8")


def _model(data) -> OnnxOutline:
    outline = OnnxOutline()
    graph = None
    for number, wire, value in _fields(data, 0, len(data)):
        if wire != 2:
            continue
        if number == MODEL_GRAPH:
            graph = value
        elif number == MODEL_METADATA:
            entry = {n: _text(data, v) for n, w, v in _fields(data, *value) if w == 2}
            outline.metadata[entry.get(1, "")] = entry.get(2, "")
        elif number == MODEL_FUNCTIONS:
            for n, w, v in _fields(data, *value):
                if n == FUNCTION_NODE and w == 2:
                    _node(data, v, outline, 1)
    if graph is None:
        raise Damaged("no graph")
    _graph(data, graph, outline, 0, top=True)
    return outline


def _graph(data, span, outline: OnnxOutline, depth: int, top: bool = False) -> None:
    if depth > MAX_DEPTH:
        raise Damaged("graphs nested too deep")
    for number, wire, value in _fields(data, *span):
        if wire != 2:
            continue
        if number == GRAPH_NODE:
            _node(data, value, outline, depth)
        elif number == GRAPH_INITIALIZER:
            _tensor(data, value, outline)
        elif number == GRAPH_SPARSE:
            _sparse(data, value, outline)
        elif top and number in (GRAPH_INPUT, GRAPH_OUTPUT):
            name, kind, dims = _value_info(data, value)
            (outline.inputs if number == GRAPH_INPUT else outline.outputs)[name] = (kind, dims)


def _node(data, span, outline: OnnxOutline, depth: int) -> None:
    for number, wire, value in _fields(data, *span):
        if number != NODE_ATTRIBUTE or wire != 2:
            continue
        for attribute, kind, inner in _fields(data, *value):
            if kind != 2:
                continue
            if attribute in (ATTRIBUTE_TENSOR, ATTRIBUTE_TENSORS):
                _tensor(data, inner, outline)
            elif attribute in (ATTRIBUTE_GRAPH, ATTRIBUTE_GRAPHS):
                _graph(data, inner, outline, depth + 1)
            elif attribute in (ATTRIBUTE_SPARSE, ATTRIBUTE_SPARSES):
                _sparse(data, inner, outline)


def _tensor(data, span, outline: OnnxOutline) -> None:
    name, external = "", False
    for number, wire, value in _fields(data, *span):
        if number == TENSOR_NAME and wire == 2:
            name = _text(data, value)
        elif (number == TENSOR_LOCATION and wire == 0 and value == 1) or (number == TENSOR_EXTERNAL and wire == 2):
            external = True
    if external:
        outline.external.append(name or "a tensor")


def _sparse(data, span, outline: OnnxOutline) -> None:
    for number, wire, value in _fields(data, *span):
        if number in (SPARSE_VALUES, SPARSE_INDICES) and wire == 2:
            _tensor(data, value, outline)


def _value_info(data, span) -> tuple[str, int, tuple[int | None, ...]]:
    """ValueInfoProto -> (name, element type (0 when not a tensor), dims)."""
    name, kind, dims = "", 0, ()
    for number, wire, value in _fields(data, *span):
        if number == 1 and wire == 2:
            name = _text(data, value)
        elif number == 2 and wire == 2:  # TypeProto
            for type_field, type_wire, tensor in _fields(data, *value):
                if type_field == 1 and type_wire == 2:  # tensor_type
                    kind, dims = _tensor_type(data, tensor)
    return name, kind, dims


def _tensor_type(data, span) -> tuple[int, tuple[int | None, ...]]:
    kind, dims = 0, []
    for number, wire, value in _fields(data, *span):
        if number == 1 and wire == 0:
            kind = value
        elif number == 2 and wire == 2:  # TensorShapeProto
            for dim_field, dim_wire, dim in _fields(data, *value):
                if dim_field == 1 and dim_wire == 2:
                    size = None
                    for n, w, v in _fields(data, *dim):
                        if n == 1 and w == 0:
                            size = v
                    dims.append(size)
    return kind, tuple(dims)
