"""The jobs a worker can run, by name. Each takes ``(job, ctx)`` and returns ``(result_path, summary)``."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from .. import media
from ..errors import PocketMocapError
from .context import TaskContext


def write_json_atomic(path: Path, data: dict) -> None:
    """Write ``data`` next to ``path`` and rename it into place, so readers never see half a file."""
    temp = path.with_name(path.name + ".part")
    temp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(temp, path)


def run_probe(job: dict, ctx: TaskContext) -> tuple[str, dict]:
    """Diagnostic job: decode every frame of every input and report what was found.

    It checks an input before a long reconstruction, and it exercises the whole job plumbing
    (progress, cancel, errors) without any estimator. ``simulate_work_s`` adds a pause per frame
    and ``fail_after_frames`` raises an unexpected error, so crash handling can be checked too.
    """
    inputs = media.collect_inputs(job.get("inputs", []))
    infos = [media.probe(path) for path in inputs]
    total = sum(info.frame_count for info in infos)
    pause = float(job.get("simulate_work_s", 0.0))
    fail_after = job.get("fail_after_frames")
    done = 0
    started = time.monotonic()
    files = []
    for info in infos:
        decoded = 0
        for _, _frame in media.iter_frames(info.path):
            ctx.check_cancelled()
            if fail_after is not None and done >= int(fail_after):
                raise RuntimeError(f"self-test failure after {done} frames, as requested")
            if pause:
                time.sleep(pause)
            decoded += 1
            done += 1
            ctx.progress(done, max(total, done), info.path.name)
        if info.kind == "video" and decoded < info.frame_count:
            ctx.warn(f'"{info.path.name}" ended after {decoded} of the {info.frame_count} frames its header '
                     'announces: the file is probably truncated.')
        files.append({"path": str(info.path), "kind": info.kind, "frames": decoded, "fps": info.fps,
                      "width": info.width, "height": info.height})
    ctx.progress(done, done, "", force=True)
    elapsed = time.monotonic() - started
    summary = {"files": files, "frames": done, "decode_fps": round(done / max(elapsed, 1e-6), 1)}
    result = ctx.job_dir / "probe.json"
    write_json_atomic(result, summary)
    return str(result), summary


def run_reconstruct(job: dict, ctx: TaskContext) -> tuple[str, dict]:
    from ..pipeline.reconstruct import run_reconstruct as run  # MediaPipe loads only for this job

    return run(job, ctx)


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
