"""The worker process: read one ``start`` request, run its task, report events, exit.

Exit codes: 0 done or cancelled, 1 a user-facing error, 2 an unexpected failure (traceback in the log only; the
user reads one sentence naming the input it was working on).
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from pathlib import Path
from typing import TextIO

from ..errors import JobCancelled, PocketMocapError
from ..fileio import os_error_sentence
from . import protocol
from .context import TaskContext
from .tasks import task_for


def claim_stdout() -> TextIO:
    """Keep the real stdout for protocol lines and send everything else printed (by us or by a
    library) to stderr, which the parent writes to the job's log file."""
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="ascii", buffering=1)
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return channel


def watch_stdin(cancel: threading.Event) -> None:
    """Set ``cancel`` on a cancel request, or when stdin closes because Blender went away."""
    for line in sys.stdin:
        message = protocol.decode(line)
        if message is not None and message["type"] == "cancel":
            break
    cancel.set()


def limit_threads(threads: int) -> None:
    """Cap the math libraries' thread pools (must run before numpy-heavy imports). OpenBLAS gets one thread, as
    ``Job`` starts the worker with: its second thread would spin after each of the fit's small products."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    os.environ["OPENBLAS_NUM_THREADS"] = "1"


def log_traceback() -> None:
    """The current exception's traceback into the log; nothing when the log cannot be written (a full disk)."""
    try:
        traceback.print_exc()
        sys.stderr.flush()
    except OSError:
        pass


def working_on(ctx: TaskContext, job: dict) -> str:
    """The input a failure happened on, in quotes, for the user's sentence."""
    if ctx.current:
        return f'"{ctx.current}"'
    inputs = job.get("inputs") if isinstance(job.get("inputs"), list) else []
    if len(inputs) == 1 and isinstance(inputs[0], str):
        return f'"{Path(inputs[0]).name}"'
    return "the inputs"


def run(request: dict, emit, cancel: threading.Event) -> int:
    job = request.get("job") if isinstance(request.get("job"), dict) else {}
    job_dir = Path(job.get("job_dir") or ".")
    ctx = TaskContext(emit, cancel, job_dir)
    log = str(job_dir / "worker.log")
    try:
        result, summary = task_for(str(job.get("kind")))(job, ctx)
    except JobCancelled:
        emit(protocol.cancelled(ctx.frames_done, ctx.partial_result))
        return 0
    except PocketMocapError as exc:
        emit(protocol.error(str(exc), log))
        return 1
    except MemoryError:
        log_traceback()
        emit(protocol.error(f"The computer ran out of memory while working on {working_on(ctx, job)}. Use a "
                            "smaller photo or video, or close other programs, and try again.", log))
        return 1
    except OSError as exc:
        log_traceback()
        cache = f' (results go to "{job["cache_dir"]}")' if job.get("cache_dir") and exc.filename is None else ""
        emit(protocol.error(os_error_sentence(exc, f"Working on {working_on(ctx, job)}{cache}"), log))
        return 1
    except Exception:  # noqa: BLE001 - any bug must become a report, not a hang
        log_traceback()
        emit(protocol.error(f"An internal error stopped the job while it worked on {working_on(ctx, job)}; nothing "
                            f"was changed. Try another file, and report the problem with the log {log}", log))
        return 2
    emit(protocol.done(result, summary))
    return 0


def main() -> int:
    channel = claim_stdout()

    def emit(message: dict) -> None:
        channel.write(protocol.encode(message))
        channel.flush()

    request = protocol.decode(sys.stdin.readline())
    if request is None or request["type"] != "start":
        emit(protocol.error("The worker received no valid start request. Reinstall the extension."))
        return 1
    job = request.get("job") if isinstance(request.get("job"), dict) else {}
    limit_threads(_threads(job))
    cancel = threading.Event()
    threading.Thread(target=watch_stdin, args=(cancel,), daemon=True).start()
    return run(request, emit, cancel)


def _threads(job: dict) -> int:
    try:
        return min(max(int(job.get("threads", 2)), 1), 64)
    except (TypeError, ValueError, OverflowError):
        return 2
