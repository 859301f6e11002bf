"""Makers of hostile files, all generated here (nothing binary is committed). Each maker is a function
``make(path)`` that creates ``path``; heavy libraries are imported inside, so this module imports anywhere."""

from __future__ import annotations

import os
import pickle
import socket
import struct
import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path

from .mp4 import fast_start, variable_rate

Maker = Callable[[Path], None]
SHARED_MEDIA = Path(__file__).resolve().parents[3] / "shared" / "media"
PHOTO = SHARED_MEDIA / "images" / "single" / "s03_yoga_treepose__tfexamples_image3.jpeg"
VIDEO = SHARED_MEDIA / "videos" / "v02_basketball_dribble__mmhuman3d_single_person_demo.mp4"


def data(content: bytes) -> Maker:
    return lambda path: path.write_bytes(content)


def random_bytes(count: int, seed: int = 0) -> Maker:
    def make(path: Path) -> None:
        import numpy as np

        path.write_bytes(np.random.default_rng(seed).bytes(count))
    return make


def copy_of(source: Path) -> Maker:
    return lambda path: path.write_bytes(source.read_bytes())


def renamed(maker: Maker, suffix: str) -> Maker:
    """What ``maker`` makes for a file ending in ``suffix``, under another name."""
    def make(path: Path) -> None:
        real = path.with_name(path.stem + ".real" + suffix)
        maker(real)
        real.rename(path)
    return make


def cut(maker: Maker, fraction: float) -> Maker:
    """What ``maker`` makes, cut to ``fraction`` of its length (a download that stopped)."""
    def make(path: Path) -> None:
        maker(path)
        content = path.read_bytes()
        path.write_bytes(content[: int(len(content) * fraction)])
    return make


# -- photos --------------------------------------------------------------------------------------------------


def picture(width: int = 64, height: int = 48, kind: str = "noise", seed: int = 0):
    import numpy as np

    if kind == "noise":
        return np.random.default_rng(seed).integers(0, 256, (height, width, 3), np.uint8)
    return np.full((height, width, 3), 0 if kind == "black" else 128, np.uint8)


def photo(width: int = 64, height: int = 48, kind: str = "noise", ext: str | None = None, params=(),
          channels: int = 3, depth: int = 8) -> Maker:
    """A real image encoded by OpenCV (``ext``: the format; by default the path's suffix)."""
    def make(path: Path) -> None:
        import cv2
        import numpy as np

        image = picture(width, height, kind)
        if channels == 1:
            image = image[:, :, 0]
        elif channels == 4:
            image = np.dstack([image, np.full(image.shape[:2], 200, np.uint8)])
        if depth == 16:
            image = image.astype(np.uint16) * 257
        ok, encoded = cv2.imencode(ext or path.suffix, image, list(params))
        assert ok
        path.write_bytes(encoded.tobytes())
    return make


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_claiming(width: int, height: int, payload: bytes | None = None, compressed_zeros: int = 0) -> Maker:
    """A PNG whose header says ``width`` x ``height``: random chunks after it, or rows of zeros (a real, tiny,
    enormous picture)."""
    def make(path: Path) -> None:
        header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
        if compressed_zeros:
            compressor = zlib.compressobj(9)
            row = b"\0" * (1 + 3 * width)
            body = b"".join(compressor.compress(row) for _ in range(compressed_zeros)) + compressor.flush()
        else:
            import numpy as np

            body = payload if payload is not None else np.random.default_rng(1).bytes(50_000)
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND", b""))
    return make


def jpeg_claiming(width: int, height: int, app1: int = 0) -> Maker:
    """SOI, an optional APP1 segment of ``app1`` bytes, a frame header saying ``width`` x ``height``, EOI."""
    segment = b"\xff\xe1" + struct.pack(">H", app1 + 2) + b"\0" * app1 if app1 else b""
    frame = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return data(b"\xff\xd8" + segment + frame + b"\xff\xd9")


def bmp_claiming(width: int, height: int) -> Maker:
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return data(b"BM" + struct.pack("<IHHI", 54 + 1000, 0, 0, 54) + info + b"\0" * 1000)


def webp_claiming(width: int, height: int) -> Maker:
    body = b"VP8X" + struct.pack("<I", 10) + b"\0\0\0\0" + (width - 1).to_bytes(3, "little") + \
        (height - 1).to_bytes(3, "little")
    return data(b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body)


def tiff_claiming(width: int, height: int, ifd_at: int | None = None) -> Maker:
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (277, 3, 1, 1)]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries) + b"\0\0\0\0"
    return data(b"II*\x00" + struct.pack("<I", ifd_at if ifd_at is not None else 8) + ifd + b"\0" * 64)


# -- videos --------------------------------------------------------------------------------------------------


def video(frames: int = 40, width: int = 64, height: int = 48, fps: float = 24.0, codec: str = "MJPG",
          kind: str = "ramp") -> Maker:
    """A video OpenCV writes (MJPG AVI, or mp4v MP4 by the path's suffix); frame i has brightness 6 i, or
    noise (``kind="noise"``: large frames, so the index is a small part of the file)."""
    def make(path: Path) -> None:
        import cv2
        import numpy as np

        chosen = "mp4v" if path.suffix == ".mp4" and codec == "MJPG" else codec
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*chosen), fps, (width, height))
        rng = np.random.default_rng(0)
        for index in range(frames):
            frame = rng.integers(0, 256, (height, width, 3), np.uint8) if kind == "noise" else \
                np.full((height, width, 3), (6 * index) % 256, np.uint8)
            writer.write(frame)
        writer.release()
        assert path.stat().st_size > 0
    return make


def fast_start_video(maker: Maker) -> Maker:
    """An MP4 with its index first, as phones and web encoders write them (it opens even when cut)."""
    def make(path: Path) -> None:
        plain = path.with_name(path.stem + ".plain.mp4")
        maker(plain)
        fast_start(plain, path)
        plain.unlink()
    return make


def variable_rate_video(maker: Maker, deltas: list[int] | Callable[[int], list[int]]) -> Maker:
    """``maker``'s MP4 with frame ``i`` lasting ``deltas[i]`` ticks (of a 12288 Hz clock for OpenCV's files)."""
    def make(path: Path) -> None:
        plain = path.with_name(path.stem + ".plain.mp4")
        maker(plain)
        durations = deltas(_frame_count(plain)) if callable(deltas) else deltas
        variable_rate(plain, path, durations)
        plain.unlink()
    return make


def _frame_count(path: Path) -> int:
    import cv2

    return int(cv2.VideoCapture(str(path), cv2.CAP_FFMPEG).get(cv2.CAP_PROP_FRAME_COUNT))


def avi_at_rate(rate: int) -> Maker:
    """A real MJPG AVI whose stream header says ``rate`` frames a second (0: none)."""
    def make(path: Path) -> None:
        video(10)(path)
        content = bytearray(path.read_bytes())
        stream = content.find(b"strh")
        struct.pack_into("<I", content, stream + 8 + 24, rate)
        main = content.find(b"avih")
        struct.pack_into("<I", content, main + 8, 0)
        path.write_bytes(bytes(content))
    return make


def avi_claiming(width: int, height: int) -> Maker:
    """A real MJPG AVI whose headers (avih and the stream format) claim ``width`` x ``height``."""
    def make(path: Path) -> None:
        video(10)(path)
        content = bytearray(path.read_bytes())
        main = content.find(b"avih")
        struct.pack_into("<II", content, main + 8 + 32, width, height)
        stream = content.find(b"strf")
        struct.pack_into("<ii", content, stream + 8 + 4, width, height)
        path.write_bytes(bytes(content))
    return make


# -- paths ---------------------------------------------------------------------------------------------------


def fifo(path: Path) -> None:
    os.mkfifo(path)


def unix_socket(path: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()


def link_to(target: str | Path) -> Maker:
    return lambda path: path.symlink_to(target)


def folder(path: Path) -> None:
    path.mkdir()


MOUNTS: list[Path] = []


def tmpfs(size: str, readonly: bool = False, fill: int = 0) -> Maker:
    """A small RAM disk at ``path`` (needs root): read-only, or nearly full (``fill`` bytes written)."""
    def make(path: Path) -> None:
        import pytest

        path.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                              capture_output=True)
        if done.returncode != 0:
            path.rmdir()
            pytest.skip("cannot mount a RAM disk here (needs root)")
        MOUNTS.append(path)
        if fill:
            (path / "filler").write_bytes(b"\0" * fill)
        if readonly:
            subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)
    return make


def unmount_all() -> None:
    while MOUNTS:
        subprocess.run(["umount", "-l", str(MOUNTS.pop())], capture_output=True)


# -- body models ---------------------------------------------------------------------------------------------


def model_arrays(family: str = "smpl") -> dict:
    import numpy as np
    from support.bodyfiles import random_model_arrays

    arrays = random_model_arrays(family, seed=3)
    return {key: value.astype(np.float32) if value.dtype == np.float64 else value for key, value in arrays.items()}


def model_npz(family: str = "smpl", change: Callable[[dict], None] | None = None, posedirs: bool = False) -> Maker:
    """A random, well-formed model's .npz, with ``change(arrays)`` applied (what makes it hostile)."""
    def make(path: Path) -> None:
        import numpy as np

        arrays = model_arrays(family)
        if not posedirs:
            arrays.pop("posedirs")
        if change is not None:
            change(arrays)
        with open(path, "wb") as handle:
            np.savez(handle, **arrays)
    return make


def model_pickle(family: str = "smpl", change: Callable[[dict], None] | None = None) -> Maker:
    def make(path: Path) -> None:
        arrays = model_arrays(family)
        arrays.pop("posedirs")
        if change is not None:
            change(arrays)
        path.write_bytes(pickle.dumps(arrays, protocol=2))
    return make


def npz_claiming(shapes: dict[str, tuple], dtype: str = "<f8") -> Maker:
    """An .npz whose array headers claim ``shapes`` (a few bytes of data behind each)."""
    def make(path: Path) -> None:
        import zipfile

        with zipfile.ZipFile(path, "w") as archive:
            for name, shape in shapes.items():
                header = repr({"descr": dtype, "fortran_order": False, "shape": shape}).encode()
                header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
                archive.writestr(f"{name}.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header
                                 + b"\0" * 64)
    return make


class _Reduce:
    """Pickles as a call of ``function(*args)``: what a malicious model file carries."""

    def __init__(self, function, args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def malicious_pickle(function, args=("true",)) -> Maker:
    return lambda path: path.write_bytes(pickle.dumps({"v_template": _Reduce(function, args)}, protocol=2))


def raw_global_pickle(module: str, name: str) -> Maker:
    """A pickle calling ``module.name("true")`` written opcode by opcode (for modules not importable here)."""
    return data(b"\x80\x02}q\x00X\x0a\x00\x00\x00v_templateq\x01c" + module.encode() + b"\n" + name.encode()
                + b"\nq\x02X\x04\x00\x00\x00trueq\x03\x85q\x04Rq\x05s.")


def billion_laughs(levels: int = 30, width: int = 10) -> Maker:
    """A model dict whose v_template is ``width ** levels`` floats as shared references: a few hundred bytes
    on disk, terabytes if anything expanded it."""
    def make(path: Path) -> None:
        arrays = model_arrays("smpl")
        arrays.pop("posedirs")
        laugh: list = [1.0]
        for _ in range(levels):
            laugh = [laugh] * width
        arrays["v_template"] = laugh
        path.write_bytes(pickle.dumps(arrays, protocol=2))
    return make


def deeply_nested_pickle(depth: int = 200_000) -> Maker:
    return data(b"\x80\x02}q\x00(X\x0a\x00\x00\x00v_template" + b"]" * depth + b"a" * (depth - 1) + b"u.")


def huge_length_pickle() -> Maker:
    return data(b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8e" + struct.pack("<Q", 1 << 60) + b"abc.")


def sparse_regressor(shape: tuple[int, int] | None = None, bad_index: bool = False) -> Maker:
    """A model pickle whose J_regressor is a scipy sparse matrix, as SMPL's is: of ``shape``, or with an index
    outside it."""
    def change(arrays: dict) -> None:
        import scipy.sparse

        matrix = scipy.sparse.csc_matrix(arrays["J_regressor"])
        if shape is not None:
            matrix._shape = shape
        if bad_index:
            matrix.indices[0] = 10 ** 6
        arrays["J_regressor"] = matrix
    return model_pickle("smpl", change)


def chumpy_without_value() -> Maker:
    return data(b"\x80\x02}q\x00(X\x0a\x00\x00\x00v_templatecchumpy.ch\nCh\nq\x01)\x81q\x02}q\x03X\x01\x00\x00"
                b"\x00yK\x01sbu.")


# -- network weights -----------------------------------------------------------------------------------------

EFFICIENTHUMAN_OUTPUTS = {"uvd": (1, 96, 3), "sigma": (1, 96, 3), "betas": (1, 10), "twist": (1, 23, 2),
                          "camera": (1, 3)}
BINARYHPE_OUTPUTS = {"root": (1, 3, 3), "body_pose": (1, 21, 3, 3), "left_hand": (1, 15, 3, 3),
                     "right_hand": (1, 15, 3, 3), "jaw": (1, 3, 3), "betas": (1, 10), "expression": (1, 10),
                     "camera": (1, 3)}
TRAINED = {"pocket_mocap.model": "efficienthuman", "pocket_mocap.trained_steps": "30"}


def onnx_network(outputs: dict | None = None, image: tuple = (1, 3, 256, 256), metadata: dict | None = None,
                 input_name: str = "image", input_type: str = "float", external: str = "", external_in: str = "",
                 custom_op: bool = False, nested: int = 0) -> Maker:
    """An ONNX graph with the estimator's input and constant outputs (onnx package, test-only): right or wrong
    in one respect. ``external``: a tensor whose data lives at that path (in an initializer, a Constant node's
    attribute or a sparse initializer: ``external_in``)."""
    def make(path: Path) -> None:
        import numpy as np
        from onnx import TensorProto, helper, numpy_helper

        shapes = EFFICIENTHUMAN_OUTPUTS if outputs is None else outputs
        nodes = [helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.zeros(shape, np.float32)))
                 for name, shape in shapes.items()]
        initializers, sparse = [], []
        if custom_op:
            nodes.append(helper.make_node("Mystery", [input_name], ["unused"], domain="com.example"))
        if external:
            tensor = numpy_helper.from_array(np.zeros(4, np.float32), "leak")
            tensor.ClearField("raw_data")
            tensor.data_location = TensorProto.EXTERNAL
            entry = tensor.external_data.add()
            entry.key, entry.value = "location", external
            if external_in == "attribute":
                nodes.append(helper.make_node("Constant", [], ["leaked"], value=tensor))
            elif external_in == "sparse":
                indices = numpy_helper.from_array(np.array([0], np.int64), "leak_indices")
                sparse.append(helper.make_sparse_tensor(tensor, indices, [8]))
            else:
                initializers.append(tensor)
        kind = {"float": TensorProto.FLOAT, "int": TensorProto.INT64}[input_type]
        graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(input_name, kind, image)],
                                  [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in shapes.items()],
                                  initializer=initializers, sparse_initializer=sparse)
        for _ in range(nested):  # a graph inside an If node inside ...: a protobuf nested too deep
            branch = helper.make_graph([], "b", [], [])
            graph.node.append(helper.make_node("If", ["cond"], [], then_branch=branch, else_branch=branch))
            graph = helper.make_graph([helper.make_node("If", ["cond"], [], then_branch=graph, else_branch=branch)],
                                      "g", list(graph.input), list(graph.output))
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
        for key, value in (TRAINED if metadata is None else metadata).items():
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
        path.write_bytes(model.SerializeToString())
    return make


def identity_network(metadata: dict | None = None) -> Maker:
    """One Identity node from "image" to "image_out", metadata spoofed to look trained."""
    def make(path: Path) -> None:
        import onnx
        from onnx import TensorProto, helper

        graph = helper.make_graph([helper.make_node("Identity", ["image"], ["image_out"])], "g",
                                  [helper.make_tensor_value_info("image", TensorProto.FLOAT, (1, 3, 256, 256))],
                                  [helper.make_tensor_value_info("image_out", TensorProto.FLOAT, (1, 3, 256, 256))])
        model = helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 17)])
        for key, value in (TRAINED if metadata is None else metadata).items():
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.save(model, str(path))
    return make
