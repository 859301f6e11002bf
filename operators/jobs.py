"""The one job Blender is running, and the ``poll`` that moves it along.

A modal operator (with a window) or a timer (without one) calls :func:`poll_active_job`; in
Blender-as-a-module nothing fires timers, so scripts and tests call it in a loop themselves.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import bpy

from ..core.errors import JobError, PocketMocapError, one_line
from ..core.fileio import folder_problem, os_error_sentence
from ..core.worker.job import Job
from .settings import ADDON, preferences

# What to do with a finished job's outcome, by job kind: returns (level, message) for the user.
FinishHandler = Callable[[bpy.types.Context, Job], tuple[str, str]]
_finish_handlers: dict[str, FinishHandler] = {}
_active: dict[str, Job] = {}


def on_finish(kind: str) -> Callable[[FinishHandler], FinishHandler]:
    def register(handler: FinishHandler) -> FinishHandler:
        _finish_handlers[kind] = handler
        return handler
    return register


def active_job() -> Job | None:
    return _active.get("job")


def cache_root(context: bpy.types.Context) -> Path:
    """Where jobs and results go: the preference, else the extension's user folder, else a temp folder."""
    prefs = preferences(context)
    if prefs is not None and prefs.cache_dir:
        return Path(bpy.path.abspath(prefs.cache_dir))
    try:
        return Path(bpy.utils.extension_path_user(ADDON, path="cache", create=True))
    except ValueError:  # loaded as a legacy add-on, not as an extension
        return Path(tempfile.gettempdir()) / "pocket_mocap"


def worker_threads(context: bpy.types.Context) -> int:
    prefs = preferences(context)
    return int(prefs.worker_threads) if prefs is not None else 2


def start_job(context: bpy.types.Context, request: dict) -> Job:
    """Start the worker for ``request``; the caller must check no job is running. :class:`JobError` with a
    sentence when the cache folder cannot take the job."""
    stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{time.monotonic_ns() % 1_000_000:06d}"
    root = cache_root(context)
    if problem := folder_problem(root, "Result cache"):  # the add-on preference's name
        raise JobError(problem)
    job = Job(dict(request, threads=worker_threads(context), cache_dir=str(root)),
              root / "jobs" / f"{stamp}-{request['kind']}")
    job.start()
    _active["job"] = job
    status = context.window_manager.pocket_mocap_job
    status.running, status.progress, status.text = True, 0.0, "Starting…"
    status.message, status.message_level = "", "INFO"
    return job


def poll_active_job(context: bpy.types.Context) -> float | None:
    """Move the running job along; returns the next poll interval, or ``None`` when none runs."""
    job = active_job()
    if job is None:
        return None
    interval = job.poll()
    status = context.window_manager.pocket_mocap_job
    status.progress, status.text = job.progress.fraction, job.progress.describe()
    if interval is None:
        _settle(context, job)
    _redraw(context)
    return interval


def cancel_active_job(context: bpy.types.Context, keep_frames: bool = False) -> None:
    """Stop the worker; with ``keep_frames``, what it finished is brought into the scene."""
    job = active_job()
    if job is not None:
        job.cancel()
        _settle(context, job, keep_frames)
        _redraw(context)


def _settle(context: bpy.types.Context, job: Job, keep_frames: bool = False) -> None:
    _active.pop("job", None)
    status = context.window_manager.pocket_mocap_job
    status.running = False
    outcome = job.outcome
    if outcome.state == "done":
        level, message = _apply(context, job)
    elif outcome.state == "cancelled" and keep_frames and outcome.result:
        outcome.summary = {"results": [{"input": job.request["inputs"][0], "result": outcome.result}]}
        level, kept = _apply(context, job)
        level, message = ("WARNING" if level != "ERROR" else level), f"{outcome.message} {kept}"
    elif outcome.state == "cancelled":
        level, message = "WARNING", outcome.message
    else:
        level, message = "ERROR", outcome.message
    if outcome.warnings:
        level = "WARNING" if level == "INFO" else level
        message = " ".join([message, *outcome.warnings])
    status.message, status.message_level = one_line(message), level
    status.text = outcome.state.capitalize()
    if job.exit_code != 2:  # the job's folder is only worth keeping for the log of an internal error
        shutil.rmtree(job.job_dir, ignore_errors=True)


def _apply(context: bpy.types.Context, job: Job) -> tuple[str, str]:
    """Run the job kind's finish handler; a failure there is reported, the scene left as it was."""
    handler = _finish_handlers.get(job.request["kind"])
    if handler is None:
        return "INFO", job.outcome.message
    try:
        return handler(context, job)
    except PocketMocapError as exc:
        return "ERROR", f"The result could not be brought into the scene: {exc}"
    except OSError as exc:
        return "ERROR", os_error_sentence(exc, "Bringing the result into the scene")
    except Exception:  # noqa: BLE001 - a bug here must be one sentence in the UI, the traceback in the console
        traceback.print_exc()
        return "ERROR", ("The result could not be brought into the scene (an internal error; the details are in "
                         "Blender's system console). Nothing else was changed.")


def stop_active_job() -> None:
    """Called on unregister: a worker must never outlive the add-on."""
    job = _active.pop("job", None)
    if job is not None:
        job.cancel()
    if bpy.app.timers.is_registered(_timer_tick):
        bpy.app.timers.unregister(_timer_tick)


def _timer_tick() -> float | None:
    return poll_active_job(bpy.context)


def watch_with_timer() -> None:
    """Poll through a timer, for a job started where no window can run a modal operator."""
    if not bpy.app.timers.is_registered(_timer_tick):
        bpy.app.timers.register(_timer_tick, first_interval=0.1)


def _redraw(context: bpy.types.Context) -> None:
    screen = getattr(context, "screen", None)
    for area in (screen.areas if screen else ()):
        if area.type == "VIEW_3D":
            area.tag_redraw()
