"""Opening a lifter's bundled weights: an onnxruntime session on the worker's threads, and the training record the
file carries in its metadata. A file that is missing, unreadable or without a record of a training run is refused
with a sentence: the extension never runs untrained weights."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import PocketMocapError


def trained_session(path: Path, what: str, required: tuple[str, ...]):
    """``(session, record)`` of the ``what`` ("lifter", "temporal lifter") in ``path``; ``record`` maps the
    metadata's keys (without the ``pocket_mocap.`` prefix) to their values, and holds every key of ``required``
    and a positive ``trained_steps``."""
    import onnxruntime

    if not path.is_file():
        raise PocketMocapError(f"The {what}'s weights {path.name} are missing from the extension. Reinstall it.")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = max(1, int(os.environ.get("OMP_NUM_THREADS", "2")))
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types for broken files
        raise PocketMocapError(f"The {what}'s weights {path.name} cannot be read ({type(exc).__name__}). "
                               "Reinstall the extension.") from None
    record = {key.removeprefix("pocket_mocap."): value
              for key, value in session.get_modelmeta().custom_metadata_map.items()}
    missing = [key for key in required if key not in record]
    if missing or int(record.get("trained_steps", "0") or 0) <= 0:
        raise PocketMocapError(f"{path.name} has no record of a training run ({', '.join(missing) or 'no steps'}), "
                               f"so it is not used: only trained {what} weights run.")
    return session, record
