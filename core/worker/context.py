"""What a task running inside the worker sees: progress reporting, warnings, cancellation."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import JobCancelled
from . import protocol

# At most this many progress events a second: enough for a smooth bar, little pipe traffic.
PROGRESS_EVENTS_PER_SECOND = 10.0


class TaskContext:
    """Handed to every task: ``progress()`` after each frame, ``check_cancelled()`` often."""

    def __init__(self, emit: Callable[[dict], None], cancel: threading.Event, job_dir: Path,
                 clock: Callable[[], float] = time.monotonic):
        self.job_dir = job_dir
        self._emit = emit
        self._cancel = cancel
        self._clock = clock
        self._started = clock()
        self._last_sent = float("-inf")
        self.frames_done = 0
        self.current = ""  # the input being worked on, for a message if the job fails
        self.partial_result = ""  # set by a task that saved the frames it finished before a cancel

    def check_cancelled(self) -> None:
        """Raise :class:`JobCancelled` once the user has asked to stop."""
        if self._cancel.is_set():
            raise JobCancelled("cancelled by the user")

    def progress(self, frames_done: int, total: int, text: str = "", force: bool = False) -> None:
        """Report ``frames_done`` of ``total``; throttled unless ``force`` (used for the last frame)."""
        self.frames_done = frames_done
        self.current = text or self.current
        now = self._clock()
        if not force and now - self._last_sent < 1.0 / PROGRESS_EVENTS_PER_SECOND:
            return
        self._last_sent = now
        elapsed = max(now - self._started, 1e-6)
        fps = frames_done / elapsed
        eta = (total - frames_done) / fps if fps > 0 and total >= frames_done else None
        self._emit(protocol.progress(frames_done, total, fps, eta, text))

    def warn(self, message: str) -> None:
        self._emit(protocol.warning(message))
