"""A restricted unpickler for SMPL / SMPL-X ``.pkl`` files.

A pickle can run any code while it loads. This one rebuilds only what model files hold: numpy
arrays, scipy sparse matrices (as dense arrays) and chumpy arrays (as plain arrays; chumpy itself is
never imported). Any other global a file asks for is refused before anything runs, with the file
and the offending name in the message.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np

from ..errors import BodyModelError

MAX_DENSE = 50_000_000  # numbers in a sparse matrix made dense (SMPL-X's joint regressor: 576,125)
# What a value that is not an array, a string or a number becomes: its name stays (so a check can say
# "v_template holds Python objects"), its contents go, never walked.
NOT_AN_ARRAY = np.empty(0, dtype=object)


class RefusedGlobal(pickle.UnpicklingError):
    """The file asked for a global outside the allow-list; its text is ``module.name``."""


class _ChumpyArray:
    """Stands in for ``chumpy.ch.Ch``: its pickled state keeps the value under ``"x"``."""

    def __setstate__(self, state):
        self.state = state

    def to_array(self) -> np.ndarray:
        state = self.state if isinstance(self.state, dict) else {}
        if "x" not in state:
            raise ValueError("a chumpy object without a stored value")
        return _numbers(state["x"])


class _SparseMatrix:
    """Stands in for a scipy CSC/CSR matrix; becomes a dense array (at most ``MAX_DENSE`` numbers)."""

    def __init__(self, *args, **kwargs):
        self.state: dict = {}

    def __setstate__(self, state):
        self.state = state

    def to_array(self) -> np.ndarray:
        state = self.state if isinstance(self.state, dict) else {}
        shape = state.get("_shape") or state.get("shape")
        if not (isinstance(shape, tuple) and len(shape) == 2 and all(isinstance(n, int) and n > 0 for n in shape)
                and shape[0] * shape[1] <= MAX_DENSE):
            raise ValueError(f"a sparse matrix of shape {str(shape)[:40]}")
        data, indices, indptr = (_numbers(state.get(key)) for key in ("data", "indices", "indptr"))
        fmt = state.get("format", "csc")
        outer, inner = shape if fmt == "csr" else shape[::-1]
        if (indptr.shape != (outer + 1,) or indices.shape != data.shape or indices.ndim != 1
                or indices.dtype.kind not in "iu" or indptr.dtype.kind not in "iu" or np.any(np.diff(indptr) < 0)
                or indptr[0] != 0 or indptr[-1] != len(indices)
                or (len(indices) and (indices.min() < 0 or indices.max() >= inner))):
            raise ValueError("a sparse matrix whose indices do not fit its shape")
        dense = np.zeros((outer, inner), dtype=data.dtype)
        dense[np.repeat(np.arange(outer), np.diff(indptr)), indices] = data
        return dense if fmt == "csr" else dense.T


def _numbers(value) -> np.ndarray:
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf" or value.dtype.itemsize == 0:
        raise ValueError("a matrix without numbers")
    return value


def _reconstructor(cls, base, state):
    """``copyreg._reconstructor`` for the stand-in classes only."""
    if cls not in (_ChumpyArray, _SparseMatrix) or base is not object:
        raise RefusedGlobal(f"{cls!r} rebuilt from {base!r}")
    return cls.__new__(cls)


def _encode(text: str, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode``: how protocol-2 pickles written by Python 3 store bytes (array buffers)."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1", "utf-8"):
        raise RefusedGlobal("_codecs.encode with unexpected arguments")
    return text.encode(encoding)


_NUMPY = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
          ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
          ("numpy._core.multiarray", "scalar")}
_SPARSE_MODULES = {"scipy.sparse.csc", "scipy.sparse._csc", "scipy.sparse.csr", "scipy.sparse._csr"}
_SPARSE_CLASSES = {"csc_matrix", "csr_matrix", "csc_array", "csr_array"}


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _NUMPY:
            return getattr(np.core.multiarray if name in ("_reconstruct", "scalar") else np, name)
        if module in ("chumpy.ch", "chumpy") and name == "Ch":
            return _ChumpyArray
        if module in _SPARSE_MODULES and name in _SPARSE_CLASSES:
            return _SparseMatrix
        if (module, name) in (("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor")):
            return _reconstructor
        if (module, name) == ("_codecs", "encode"):
            return _encode
        if (module, name) in (("__builtin__", "object"), ("builtins", "object")):
            return object
        raise RefusedGlobal(f"{module}.{name}")


class _BoundedFile:
    """A file that never hands the unpickler more than the bytes left in it, so a length field claiming
    terabytes cannot make it allocate them before finding the file short."""

    def __init__(self, handle, size: int):
        self._handle, self._left = handle, size

    def read(self, count: int = -1) -> bytes:
        count = self._left if count is None or count < 0 else min(count, self._left)
        data = self._handle.read(count)
        self._left -= len(data)
        return data

    def readinto(self, buffer) -> int:
        view = memoryview(buffer)[: self._left]
        count = self._handle.readinto(view)
        self._left -= count
        return count

    def readline(self) -> bytes:
        data = self._handle.readline(self._left)
        self._left -= len(data)
        return data


def _plain(value):
    """A model file's value as a plain array (or a string, or a number); anything else (a list, a dict, an
    object array) is :data:`NOT_AN_ARRAY`, never walked (a "billion laughs" structure stays unexpanded)."""
    if isinstance(value, (_ChumpyArray, _SparseMatrix)):
        return value.to_array()
    if isinstance(value, np.ndarray):
        return NOT_AN_ARRAY if value.dtype.hasobject or value.dtype.itemsize == 0 else value
    if isinstance(value, (str, bytes, int, float, np.generic)):
        return value
    return NOT_AN_ARRAY


def load_model_pickle(path: Path) -> dict:
    """The dict a model ``.pkl`` holds, every array a plain ``np.ndarray``; values that are not arrays,
    strings or numbers become :data:`NOT_AN_ARRAY`.

    Raises :class:`BodyModelError` for a refused global, a truncated file or a pickle that is not a dict.
    """
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            data = RestrictedUnpickler(_BoundedFile(handle, size), encoding="latin1").load()
    except RefusedGlobal as exc:
        raise BodyModelError(f'"{path.name}" was refused: it asks to load "{exc}", which no SMPL/SMPL-X model '
                             'file contains. Nothing in it was run. Download the model again from its '
                             'official site.') from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            OverflowError) as exc:
        raise BodyModelError(f'"{path.name}" is damaged or truncated ({_first_words(exc)}). '
                             'Download the model again.') from None
    except RecursionError:
        raise BodyModelError(f'"{path.name}" nests its contents thousands of levels deep, which no model file '
                             "does. Download the model again.") from None
    except MemoryError:
        raise BodyModelError(f'"{path.name}" needs more memory than this computer has free to read. Download the '
                             "model again, or close other programs.") from None
    if not isinstance(data, dict):
        raise BodyModelError(f'"{path.name}" holds a {type(data).__name__}, not a model dictionary.')
    if not all(isinstance(key, str) for key in data):
        raise BodyModelError(f'"{path.name}" has names that are not text, which no model file has. '
                             "Download the model again.")
    try:
        return {key: _plain(value) for key, value in data.items()}
    except (ValueError, KeyError, TypeError) as exc:
        raise BodyModelError(f'"{path.name}" holds an array that cannot be read ({_first_words(exc)}).') from None
    except MemoryError:
        raise BodyModelError(f'"{path.name}" needs more memory than this computer has free to read.') from None


def _first_words(exc: Exception) -> str:
    """The start of an error's text, for a sentence: no Python class names, no more than a line."""
    text = str(exc).splitlines()[0] if str(exc) else "unreadable data"
    return text[:80].rstrip(".")
