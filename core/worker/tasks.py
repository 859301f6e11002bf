"""The jobs a worker can run, by name. Each takes ``(job, ctx)`` and returns ``(result_path, summary)``."""

from __future__ import annotations

import time
from collections.abc import Callable

from .. import media
from ..errors import PocketMocapError
from ..fileio import write_json_atomically
from .context import TaskContext
from .request import check_common, check_reconstruct


def run_probe(job: dict, ctx: TaskContext) -> tuple[str, dict]:
    """Diagnostic job: decode every frame of every input and report what was found.

    It checks an input before a long reconstruction, and it exercises the whole job plumbing
    (progress, cancel, errors) without any estimator. ``simulate_work_s`` adds a pause per frame
    and ``fail_after_frames`` raises an unexpected error, so crash handling can be checked too.
    With several inputs, one that cannot be read is a warning and the others are still checked.
    """
    job = check_common(job)
    skipped: list[str] = []
    inputs = media.collect_inputs(job.get("inputs", []), skipped)
    for note in skipped:
        ctx.warn(note)
    infos = media.probe_inputs(inputs, ctx.warn)
    total = sum(info.frame_count for info in infos)
    pause = float(job.get("simulate_work_s", 0.0))
    fail_after = job.get("fail_after_frames")
    done = 0
    started = time.monotonic()
    files = []
    for info in infos:
        decoded = 0
        ctx.current = info.path.name
        frames = media.VideoFrames(info.path) if info.kind == "video" else media.iter_frames(info.path)
        for _, _frame in frames:
            ctx.check_cancelled()
            if fail_after is not None and done >= int(fail_after):
                raise RuntimeError(f"self-test failure after {done} frames, as requested")
            if pause:
                time.sleep(pause)
            decoded += 1
            done += 1
            ctx.progress(done, max(total, done), info.path.name)
        if warning := media.truncation_warning(info, decoded):
            ctx.warn(warning)
        files.append({"path": str(info.path), "kind": info.kind, "frames": decoded, "fps": info.fps,
                      "width": info.width, "height": info.height, **_timing(frames, info)})
    ctx.progress(done, done, "", force=True)
    elapsed = time.monotonic() - started
    summary = {"files": files, "frames": done, "decode_fps": round(done / max(elapsed, 1e-6), 1)}
    result = ctx.job_dir / "probe.json"
    write_json_atomically(result, summary, durable=False)  # the job folder's scratch: the summary travels by event
    return str(result), summary


def _timing(frames, info: media.MediaInfo) -> dict:
    """For a video with a variable frame rate: its frames' shortest and longest interval and the constant rate
    a reconstruction resamples it to."""
    if info.kind != "video" or (resampled := media.constant_rate(frames.times)) is None:
        return {}
    steps = [b - a for a, b in zip(frames.times, frames.times[1:], strict=False) if b > a]
    return {"variable_frame_rate": True, "interval_ms": [round(min(steps) * 1000, 1), round(max(steps) * 1000, 1)],
            "resampled_fps": round(resampled[1], 3)}


def run_reconstruct(job: dict, ctx: TaskContext) -> tuple[str, dict]:
    from ..pipeline.reconstruct import run_reconstruct as run  # MediaPipe loads only for this job

    return run(check_reconstruct(job), ctx)


TASKS: dict[str, Callable[[dict, TaskContext], tuple[str, dict]]] = {
    "probe": run_probe,
    "reconstruct": run_reconstruct,
}


def task_for(kind: str) -> Callable[[dict, TaskContext], tuple[str, dict]]:
    try:
        return TASKS[kind]
    except KeyError:
        known = ", ".join(sorted(TASKS))
        raise PocketMocapError(f'This version of Pocket Mocap cannot run "{kind}" jobs (it knows: {known}). '
                               'Update the extension.') from None
