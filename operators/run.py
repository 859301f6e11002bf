"""Reconstruct, Check Input, Cancel, and the modal watcher that polls a running job."""

from __future__ import annotations

from pathlib import Path

import bpy

from ..core import catalog
from ..core.bodymodel.library import load_body
from ..core.errors import PocketMocapError
from ..core.fileio import path_problem
from ..scene.reconstruction import add_reconstruction, load_result
from . import jobs
from .checks import job_running, no_job_running, poll_with
from .people import list_people
from .settings import body_model_choices, estimator_choices, input_path, user_model_path, user_weights_path

KIND_NOUNS = {"PHOTO": "photo", "VIDEO": "video", "FOLDER": "folder"}


def _input_problem(context: bpy.types.Context) -> str:
    """Why the chosen input cannot be used, or "" when it can."""
    settings = context.scene.pocket_mocap
    path = input_path(settings)
    noun = KIND_NOUNS[settings.input_kind]
    if not path:
        return f"Pick a {noun} first."
    return path_problem(Path(path), noun, "folder" if settings.input_kind == "FOLDER" else "file")


def _choice_problem(context: bpy.types.Context) -> str:
    settings = context.scene.pocket_mocap
    for choice in (catalog.find(estimator_choices(context), settings.estimator),
                   catalog.find(body_model_choices(context), settings.body_model)):
        if choice is None:
            return "Choose an estimator and a body model."
        if not choice.available:
            return choice.reason
    return ""


def _start_and_watch(context: bpy.types.Context, request: dict) -> str:
    """Start the job and follow it; "" when it started, else the sentence why not."""
    try:
        jobs.start_job(context, request)
    except PocketMocapError as exc:
        return str(exc)
    if context.window is not None and not bpy.app.background:
        bpy.ops.pocket_mocap.watch_job("INVOKE_DEFAULT")
    else:
        jobs.watch_with_timer()
    return ""


class POCKETMOCAP_OT_reconstruct(bpy.types.Operator):
    """Reconstruct the person in the chosen input as a rig in this scene"""

    bl_idname = "pocket_mocap.reconstruct"
    bl_label = "Reconstruct"

    @classmethod
    def poll(cls, context):
        return poll_with(cls, context, no_job_running, _input_problem, _choice_problem)

    def execute(self, context):
        if problem := _start_and_watch(context, reconstruct_request(context)):
            self.report({"ERROR"}, problem)
            return {"CANCELLED"}
        return {"FINISHED"}


def reconstruct_request(context: bpy.types.Context) -> dict:
    settings = context.scene.pocket_mocap
    return {"kind": "reconstruct", "inputs": [input_path(settings)], "estimator": settings.estimator,
            "body_model": settings.body_model, "body_file": user_model_path(context, settings.body_model),
            "gender": settings.gender, "fov_degrees": settings.fov, "smoothing": settings.smoothing,
            "foot_lock": settings.foot_lock, "pose_prior": settings.pose_prior, "contacts": settings.contacts,
            "temporal_lifter": settings.temporal_lifter, "hands_and_face": settings.hands_and_face,
            "weights": user_weights_path(context, settings.estimator)}


@jobs.on_finish("reconstruct")
def apply_reconstruction(context: bpy.types.Context, job) -> tuple[str, str]:
    """One rig per result when every input held one person (one undo step for all of them); when some held
    several, the people are listed (People panel) for the artist to choose and build."""
    request = job.request
    found = [(item, load_result(item["result"])) for item in job.outcome.summary.get("results", [])]
    count = list_people(context.scene.pocket_mocap, request, found)
    if count > len(found):
        inputs = ", ".join(f'"{Path(item["input"]).name}"' for item, _ in found)
        return "INFO", (f"Found {count} people in {inputs}: tick the ones to build under People, then press "
                        "Build Rigs.")
    added = []
    for item, result in found:
        family = str(result["surface_model_type"])
        model = load_body(request["body_model"], family, request.get("body_file", ""), request.get("gender", "neutral"))
        rig = add_reconstruction(context, result, model, Path(item["input"]).stem,
                                 with_camera=context.scene.pocket_mocap.add_camera)
        added.append((rig.name, len(result["poses"])))
    bpy.ops.ed.undo_push(message="Pocket Mocap: Reconstruct")
    frames = sum(count for _, count in added)
    what = "a photo" if frames == len(added) == 1 else f"{frames} frames"
    return "INFO", f"Reconstructed {what} as {', '.join(name for name, _ in added)}."


class POCKETMOCAP_OT_check_input(bpy.types.Operator):
    """Decode every frame of the chosen input in the background and report what it holds"""

    bl_idname = "pocket_mocap.check_input"
    bl_label = "Check Input"

    @classmethod
    def poll(cls, context):
        return poll_with(cls, context, no_job_running, _input_problem)

    def execute(self, context):
        if problem := _start_and_watch(context, {"kind": "probe", "inputs": [input_path(context.scene.pocket_mocap)]}):
            self.report({"ERROR"}, problem)
            return {"CANCELLED"}
        return {"FINISHED"}


@jobs.on_finish("probe")
def describe_probe(context: bpy.types.Context, job) -> tuple[str, str]:
    files = job.outcome.summary.get("files", [])
    parts = []
    for item in files[:3]:
        if item["kind"] == "video":
            parts.append(f'{item["frames"]} frames at {item["fps"]:.2f} fps, {item["width"]}×{item["height"]}')
        else:
            parts.append(f'photo {item["width"]}×{item["height"]}')
    more = f" and {len(files) - 3} more" if len(files) > 3 else ""
    noun = "file" if len(files) == 1 else "files"
    return "INFO", f"Checked {len(files)} {noun}: {'; '.join(parts)}{more}."


class POCKETMOCAP_OT_cancel_job(bpy.types.Operator):
    """Stop the running job (the worker ends within a second)"""

    bl_idname = "pocket_mocap.cancel_job"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, context):
        return poll_with(cls, context, job_running)

    keep_frames: bpy.props.BoolProperty(
        name="Keep frames done", default=False,
        description="Bring the frames reconstructed so far into the scene instead of discarding them")

    def execute(self, context):
        jobs.cancel_active_job(context, self.keep_frames)
        self.report({"WARNING"}, context.window_manager.pocket_mocap_job.message)
        return {"FINISHED"}


def handle_watch_event(context: bpy.types.Context, event_type: str, value: str) -> set[str]:
    """The modal watcher's logic, separate from the operator so tests can drive it headless."""
    if event_type == "ESC" and value == "PRESS":
        jobs.cancel_active_job(context)
        return {"CANCELLED"}
    if event_type == "TIMER" and jobs.poll_active_job(context) is None:
        return {"FINISHED"}
    if jobs.active_job() is None:
        return {"FINISHED"}
    return {"PASS_THROUGH"}


class POCKETMOCAP_OT_watch_job(bpy.types.Operator):
    """Follow the running job: progress in the panel and status bar, ESC cancels"""

    bl_idname = "pocket_mocap.watch_job"
    bl_label = "Watch Job"
    bl_options = {"INTERNAL"}

    _timer = None

    @classmethod
    def poll(cls, context):
        return poll_with(cls, context, job_running)

    def invoke(self, context, event):
        self._timer = context.window_manager.event_timer_add(0.1, window=context.window)
        context.window_manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        result = handle_watch_event(context, event.type, event.value)
        status = context.window_manager.pocket_mocap_job
        if result == {"PASS_THROUGH"}:
            context.workspace.status_text_set(f"Pocket Mocap: {status.text} (ESC to cancel)")
            return result
        context.window_manager.event_timer_remove(self._timer)
        context.workspace.status_text_set(None)
        if status.message:
            self.report({status.message_level}, status.message)
        return result


CLASSES = (POCKETMOCAP_OT_reconstruct, POCKETMOCAP_OT_check_input, POCKETMOCAP_OT_cancel_job,
           POCKETMOCAP_OT_watch_job)
