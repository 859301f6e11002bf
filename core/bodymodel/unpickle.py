"""A restricted unpickler for SMPL / SMPL-X ``.pkl`` files.

A pickle can run any code while it loads. This one rebuilds only what model files hold: numpy
arrays, scipy sparse matrices (as dense arrays) and chumpy arrays (as plain arrays; chumpy itself is
never imported). Any other global a file asks for is refused before anything runs, with the file
and the offending name in the message.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from ..errors import BodyModelError


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
        return np.asarray(state["x"])


class _SparseMatrix:
    """Stands in for a scipy CSC/CSR matrix; becomes a dense array."""

    def __init__(self, *args, **kwargs):
        self.state: dict = {}

    def __setstate__(self, state):
        self.state = state

    def to_array(self) -> np.ndarray:
        state = self.state
        shape = tuple(state.get("_shape") or state.get("shape"))
        data, indices, indptr = (np.asarray(state[key]) for key in ("data", "indices", "indptr"))
        fmt = state.get("format", "csc")
        dense = np.zeros(shape if fmt == "csr" else shape[::-1], dtype=data.dtype)
        for outer in range(len(indptr) - 1):
            span = slice(indptr[outer], indptr[outer + 1])
            dense[outer, indices[span]] = data[span]
        return dense if fmt == "csr" else dense.T


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


def _plain(value):
    if isinstance(value, (_ChumpyArray, _SparseMatrix)):
        return value.to_array()
    return value


def load_model_pickle(path: Path) -> dict:
    """The dict a model ``.pkl`` holds, every array a plain ``np.ndarray``.

    Raises :class:`BodyModelError` for a refused global, a truncated file or a pickle that is not a dict.
    """
    try:
        with open(path, "rb") as handle:
            data = RestrictedUnpickler(handle, encoding="latin1").load()
    except RefusedGlobal as exc:
        raise BodyModelError(f'"{path.name}" was refused: it asks to load "{exc}", which no SMPL/SMPL-X model '
                             'file contains. Nothing in it was run. Download the model again from its '
                             'official site.') from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise BodyModelError(f'"{path.name}" is damaged or truncated ({type(exc).__name__}: {exc}). '
                             'Download the model again.') from None
    if not isinstance(data, dict):
        raise BodyModelError(f'"{path.name}" holds a {type(data).__name__}, not a model dictionary.')
    try:
        return {str(key): _plain(value) for key, value in data.items()}
    except (ValueError, KeyError, TypeError) as exc:
        raise BodyModelError(f'"{path.name}" holds an array that cannot be read ({exc}).') from None
