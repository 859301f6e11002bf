"""The worker process: read one ``start`` request, run its task, report events, exit.

Exit codes: 0 done or cancelled, 1 a user-facing error, 2 an unexpected failure (traceback in the log).
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from pathlib import Path
from typing import TextIO

from ..errors import JobCancelled, PocketMocapError
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
    """Cap the math libraries' thread pools (must run before numpy-heavy imports)."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)


def run(request: dict, emit, cancel: threading.Event) -> int:
    job = request.get("job") or {}
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
        emit(protocol.error("The worker ran out of memory. Use a smaller photo or video, or close other "
                            "programs.", log))
        return 2
    except Exception as exc:  # noqa: BLE001 - any bug must become a report, not a hang
        traceback.print_exc()
        emit(protocol.error(f"The worker failed unexpectedly ({type(exc).__name__}: {exc}). "
                            f"Nothing was changed; details are in {log}", log))
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
    limit_threads(int(request.get("job", {}).get("threads", 2)))
    cancel = threading.Event()
    threading.Thread(target=watch_stdin, args=(cancel,), daemon=True).start()
    return run(request, emit, cancel)
