"""The line protocol between Blender and the worker: one JSON object per line.

Requests (Blender -> worker, on stdin)::

    {"type": "start", "job": {"kind": "probe", "inputs": [...], ...}}
    {"type": "cancel"}

Events (worker -> Blender, on stdout)::

    {"type": "progress", "frame": 12, "total": 412, "fps": 31.5, "eta": 12.7, "text": "taiji.mp4"}
    {"type": "warning", "message": "..."}
    {"type": "error", "message": "...", "log": "/path/worker.log"}
    {"type": "done", "result": "/path/result.json", "summary": {...}}
    {"type": "cancelled", "frames_done": 12, "result": "/path/partial.npz"}

``error``, ``done`` and ``cancelled`` end a job. Messages are sentences for humans.
"""

from __future__ import annotations

import json

TERMINAL_EVENTS = frozenset({"error", "done", "cancelled"})


def encode(message: dict) -> str:
    """One message as one line of ASCII JSON (non-ASCII escaped, so no encoding can break it)."""
    return json.dumps(message, ensure_ascii=True, separators=(",", ":")) + "\n"


def decode(line: str) -> dict | None:
    """Parse one line; ``None`` for anything that is not a JSON object with a ``type``."""
    try:
        message = json.loads(line)
    except ValueError:
        return None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return None
    return message


def start(job: dict) -> dict:
    return {"type": "start", "job": job}


def cancel() -> dict:
    return {"type": "cancel"}


def progress(frame: int, total: int, fps: float, eta: float | None, text: str = "") -> dict:
    return {"type": "progress", "frame": frame, "total": total, "fps": round(fps, 2),
            "eta": None if eta is None else round(eta, 1), "text": text}


def warning(message: str) -> dict:
    return {"type": "warning", "message": message}


def error(message: str, log: str = "") -> dict:
    return {"type": "error", "message": message, "log": log}


def done(result: str, summary: dict) -> dict:
    return {"type": "done", "result": result, "summary": summary}


def cancelled(frames_done: int, result: str = "") -> dict:
    """``result``: the frames finished before the cancel, as a result file, when the task kept them."""
    return {"type": "cancelled", "frames_done": frames_done, "result": result}
