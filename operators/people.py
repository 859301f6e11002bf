"""The people a reconstruction found: listed after the job (the People panel), built as rigs on request."""

from __future__ import annotations

import json
from pathlib import Path

import bpy
import numpy as np

from ..core.bodymodel.library import load_body
from ..core.pipeline.results import split_people
from ..scene.people import add_people, person_name
from ..scene.reconstruction import load_result
from .checks import no_job_running, poll_with


def list_people(settings, job_request: dict, found: list[tuple[dict, dict]]) -> int:
    """Fill the People list from ``found`` (the job's result entries with their loaded results), every person
    ticked; returns how many there are."""
    settings.people.clear()
    stems = len(found) > 1
    for item, result in found:
        for number, person in enumerate(split_people(result), start=1):
            presence = np.asarray(person["presence"], bool)
            entry = settings.people.add()
            entry.number, entry.result, entry.input = number, item["result"], item["input"]
            entry.stem = Path(item["input"]).stem if stems else ""
            entry.label = person_name(number, entry.stem)
            entry.frames, entry.frames_seen = len(presence), int(presence.sum())
            entry.first_frame = int(np.argmax(presence)) + 1 if presence.any() else 1  # scene frames start at 1
            entry.build = True
    settings.people_job = json.dumps({key: job_request.get(key, "") for key in ("body_model", "body_file", "gender")})
    return len(settings.people)


def chosen_problem(context: bpy.types.Context) -> str:
    people = context.scene.pocket_mocap.people
    if not len(people):
        return "No people are listed: reconstruct a photo or a video first."
    if not any(person.build for person in people):
        return "Tick at least one person to build."
    return ""


def build_chosen(context: bpy.types.Context) -> list[bpy.types.Object]:
    """Rigs for the ticked people, grouped by result file; the camera once."""
    settings = context.scene.pocket_mocap
    job = json.loads(settings.people_job or "{}")
    chosen: dict[str, list] = {}
    for person in settings.people:
        if person.build:
            chosen.setdefault(person.result, []).append(person)
    for path, people in chosen.items():  # all checked before anything is built
        if not Path(path).is_file():
            raise FileNotFoundError(f'The result for "{Path(people[0].input).name}" is no longer in the cache: '
                                    "reconstruct it again.")
    rigs = []
    for path, people in chosen.items():
        result = load_result(path)
        model = load_body(job.get("body_model", "open"), str(result["surface_model_type"]), job.get("body_file", ""),
                          job.get("gender", "neutral") or "neutral")
        rigs += add_people(context, result, model, [p.number for p in people], people[0].stem,
                           with_camera=settings.add_camera and not rigs)
    return rigs


class POCKETMOCAP_OT_build_people(bpy.types.Operator):
    """Build a rig for each person ticked in the People list"""

    bl_idname = "pocket_mocap.build_people"
    bl_label = "Build Rigs"
    bl_options = {"REGISTER"}  # one undo step, pushed below (an UNDO flag pushes none when run from Python)

    @classmethod
    def poll(cls, context):
        return poll_with(cls, context, no_job_running, chosen_problem)

    def execute(self, context):
        try:
            rigs = build_chosen(context)
        except FileNotFoundError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        bpy.ops.ed.undo_push(message="Pocket Mocap: Build Rigs")
        self.report({"INFO"}, f"Built {', '.join(rig.name for rig in rigs)}.")
        return {"FINISHED"}


class POCKETMOCAP_OT_tick_people(bpy.types.Operator):
    """Tick or untick every person in the People list"""

    bl_idname = "pocket_mocap.tick_people"
    bl_label = "Tick All"
    bl_options = {"INTERNAL"}

    build: bpy.props.BoolProperty(name="Build", default=True)

    def execute(self, context):
        for person in context.scene.pocket_mocap.people:
            person.build = self.build
        return {"FINISHED"}


CLASSES = (POCKETMOCAP_OT_build_people, POCKETMOCAP_OT_tick_people)
