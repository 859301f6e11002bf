"""`Job`: start the worker process, feed it a request, and read its events without blocking.

Nothing here waits on the worker except :meth:`Job.cancel` (at most about one second). Blender calls
:meth:`Job.poll` from a timer or a modal operator; tests and the command line call it in a loop.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import JobError
from ..fileio import os_error_reason
from ..media import MAX_PIXELS
from . import protocol
from .request import absolute_paths

LAUNCH_SCRIPT = Path(__file__).resolve().parent / "launch.py"
POLL_INTERVAL_S = 0.1
# After the last event, how long a worker may take to exit before it is killed.
EXIT_GRACE_S = 2.0


@dataclass
class Progress:
    frame: int = 0
    total: int = 0
    fps: float = 0.0
    eta_s: float | None = None
    text: str = ""

    @property
    def fraction(self) -> float:
        return min(self.frame / self.total, 1.0) if self.total else 0.0

    def describe(self) -> str:
        """``"Frame 12/412 · 31.5 fps · 13 s left"`` for the panel and the status bar."""
        parts = [f"Frame {self.frame}/{self.total}"]
        if self.fps:
            parts.append(f"{self.fps:.1f} fps")
        if self.eta_s is not None:
            parts.append(f"{self.eta_s:.0f} s left")
        return " · ".join(parts)


@dataclass
class JobOutcome:
    state: str = "running"  # running, done, failed, cancelled
    message: str = ""
    result: str = ""
    summary: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def worker_environment(threads: int) -> dict[str, str]:
    """The worker sees the same packages as this process (the extension's wheels included)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONUNBUFFERED"] = "1"
    env["OMP_NUM_THREADS"] = str(threads)
    # numpy's OpenBLAS would otherwise start a thread per core that spins (sched_yield) after every small matrix
    # product of the fit, taking a core from the landmark networks: the fit's matrices gain nothing from threads.
    env["OPENBLAS_NUM_THREADS"] = "1"
    env["OPENCV_IO_MAX_IMAGE_PIXELS"] = str(MAX_PIXELS)  # a second fence behind media's header checks
    return env


class Job:
    """One run of the worker. ``request`` is the task's JSON (``kind``, ``inputs``, ...); its relative paths are
    made absolute here, against the caller's working folder, because the worker runs in ``job_dir``."""

    def __init__(self, request: dict, job_dir: Path, python: str | None = None):
        self.job_dir = Path(job_dir).absolute()
        self.request = dict(absolute_paths(request), job_dir=str(self.job_dir))
        self.python = python or sys.executable
        self.progress = Progress()
        self.outcome = JobOutcome()
        self.log_path = self.job_dir / "worker.log"
        self._events: queue.Queue = queue.Queue()
        self._arrived = threading.Event()  # set with each event, for wait()
        self._process: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None
        self._terminal_at: float | None = None
        self._pending_terminal: dict | None = None
        self.exit_code: int | None = None  # the worker's: 0 done or cancelled, 1 a user's error, 2 an internal one

    @property
    def finished(self) -> bool:
        return self.outcome.state != "running"

    def start(self) -> None:
        """Start the worker; :class:`JobError` with a sentence when its folder or process cannot be made."""
        threads = int(self.request.get("threads", 2))
        try:
            self.job_dir.mkdir(parents=True, exist_ok=True)
            with open(self.log_path, "ab") as log:
                self._process = subprocess.Popen(
                    [self.python, str(LAUNCH_SCRIPT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    stderr=log, cwd=self.job_dir, env=worker_environment(threads),
                    creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
        except OSError as exc:
            raise JobError(f'The background job could not start in "{self.job_dir}": {os_error_reason(exc)}. '
                           "Choose another cache folder.") from None
        self._send(protocol.start(self.request))
        self._reader = threading.Thread(target=self._read_events, daemon=True)
        self._reader.start()

    def _send(self, message: dict) -> None:
        try:
            self._process.stdin.write(protocol.encode(message).encode("ascii"))
            self._process.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass  # the worker is gone; poll() reports how it ended

    def _read_events(self) -> None:
        for raw in self._process.stdout:
            message = protocol.decode(raw.decode("utf-8", "replace"))
            if message is not None:
                self._events.put(message)
                self._arrived.set()
        self._events.put(None)  # end of stream
        self._arrived.set()

    def poll(self) -> float | None:
        """Handle pending events. Returns the next poll interval, or ``None`` once finished."""
        if self.finished:
            return None
        while True:
            try:
                message = self._events.get_nowait()
            except queue.Empty:
                break
            if message is None:
                return self._on_stream_closed()
            self._handle(message)
        if self._terminal_at is not None and self._process.poll() is None:
            if time.monotonic() - self._terminal_at > EXIT_GRACE_S:
                self._process.kill()
        return POLL_INTERVAL_S

    def wait(self, seconds: float) -> None:
        """Sleep until the worker says something (or exits), at most ``seconds``: a loop of ``poll()`` and
        ``wait(interval)`` sees the end of a job as it happens rather than up to one interval later."""
        self._arrived.wait(seconds)
        self._arrived.clear()

    def _handle(self, message: dict) -> None:
        kind = message["type"]
        if kind == "progress":
            self.progress = Progress(int(message.get("frame", 0)), int(message.get("total", 0)),
                                     float(message.get("fps") or 0.0), message.get("eta"), str(message.get("text", "")))
        elif kind == "warning":
            self.outcome.warnings.append(str(message.get("message", "")))
        elif kind in protocol.TERMINAL_EVENTS:
            self._pending_terminal = message
            self._terminal_at = time.monotonic()

    def _on_stream_closed(self) -> None:
        """The worker closed stdout: it exited (or is exiting). Settle the outcome."""
        code = self.exit_code = self._wait_exit(EXIT_GRACE_S)
        terminal = self._pending_terminal
        if terminal is None:
            self._finish("failed", f"The background worker stopped unexpectedly (exit code {code}). Nothing was "
                                   f"changed; details are in {self.log_path}")
        elif terminal["type"] == "done":
            self.outcome.result = str(terminal.get("result", ""))
            self.outcome.summary = dict(terminal.get("summary") or {})
            self._finish("done", "Finished.")
        elif terminal["type"] == "cancelled":
            self.outcome.result = str(terminal.get("result") or "")
            self._finish("cancelled", f"Cancelled after {terminal.get('frames_done', 0)} frames.")
        else:
            self._finish("failed", str(terminal.get("message", "The worker reported an error.")))
        return None

    def _wait_exit(self, timeout: float) -> int:
        try:
            return self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            return self._process.wait()

    def _finish(self, state: str, message: str) -> None:
        self.outcome.state = state
        self.outcome.message = message

    def cancel(self, grace_s: float = 0.5) -> None:
        """Stop the worker: ask politely, then terminate, then kill. Returns within about 1 s."""
        if self.finished or self._process is None:
            return
        self._send(protocol.cancel())
        try:
            self._process.wait(grace_s)
        except subprocess.TimeoutExpired:
            self._process.terminate()
            try:
                self._process.wait(0.25)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        try:
            self._process.stdin.close()
        except OSError:
            pass
        self._drain_after_cancel()
        self.exit_code = self._process.poll()
        if not self.finished:
            self._finish("cancelled", f"Cancelled after {self.progress.frame} frames.")

    def _drain_after_cancel(self) -> None:
        """Read what the worker said while stopping: a ``cancelled`` event may name the frames it kept."""
        self._reader.join(timeout=0.3)
        while True:
            try:
                message = self._events.get_nowait()
            except queue.Empty:
                return
            if message is not None and message["type"] == "cancelled":
                self.outcome.result = str(message.get("result") or "")
            elif message is not None and message["type"] == "progress":
                self._handle(message)

    def run_to_end(self, timeout_s: float = 600.0) -> JobOutcome:
        """Start (if needed) and poll until finished; for the command line and tests."""
        if self._process is None:
            self.start()
        deadline = time.monotonic() + timeout_s
        while (interval := self.poll()) is not None:
            if time.monotonic() > deadline:
                self.cancel()
                self._finish("failed", f"The job took longer than {timeout_s:.0f} s and was stopped.")
                break
            self.wait(interval)
        return self.outcome
