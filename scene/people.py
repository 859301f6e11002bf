"""Several people from one result: one rig each ("Person 1", "Person 2", … in distinct colours), one scene and
one camera; in a video a person's mesh is hidden in the frames where they were not seen."""

from __future__ import annotations

import colorsys
from pathlib import Path

import bpy
import numpy as np

from ..core.bodymodel.model import BodyModel
from ..core.pipeline.results import join_people, split_people
from .reconstruction import add_reconstruction

GOLDEN_TURN = 0.618033988749895  # hues this far apart around the wheel stay distinct for any number of people


def person_colour(number: int) -> tuple[float, float, float, float]:
    """A distinct RGBA colour for person ``number`` (1, 2, …)."""
    red, green, blue = colorsys.hsv_to_rgb((0.08 + GOLDEN_TURN * (number - 1)) % 1.0, 0.55, 0.9)
    return red, green, blue, 1.0


def person_name(number: int, stem: str = "") -> str:
    return f"{stem} Person {number}" if stem else f"Person {number}"


def add_people(context: bpy.types.Context, result: dict, model: BodyModel, numbers: list[int], stem: str = "",
               with_camera: bool = True, first_frame: int = 1) -> list[bpy.types.Object]:
    """Rigs for the people ``numbers`` (1-based, in the result's order) of ``result`` (the worker's .npz as a
    dict, one-person or person-axis layout); the camera comes once, with the first. Returns the armatures."""
    people = split_people(result)
    rigs = []
    for number in numbers:
        person = join_people([people[number - 1]])
        rig = add_reconstruction(context, person, model, person_name(number, stem),
                                 with_camera=with_camera and not rigs, first_frame=first_frame, with_floor=not rigs)
        colour_rig(rig, person_colour(number))
        presence = np.asarray(people[number - 1]["presence"], bool)
        if len(presence) > 1 and not presence.all():
            key_visibility(rig, presence, first_frame)
        rig["pocket_mocap_person"] = int(people[number - 1]["track_id"])
        rigs.append(rig)
    if with_camera and rigs and context.scene.camera is not None:  # made with the first rig, it serves them all
        context.scene.camera.name = f"{stem or Path(str(result.get('source', 'People'))).stem} camera"
    return rigs


def colour_rig(rig: bpy.types.Object, colour: tuple[float, float, float, float]) -> None:
    """The rig's meshes in ``colour``: the object colour (Solid view, Object colour) and a material of their own."""
    material = bpy.data.materials.new(f"{rig.name} skin")
    material.diffuse_color = colour
    for child in rig.children:
        if child.type == "MESH":
            child.color = colour
            child.data.materials.append(material)


def key_visibility(rig: bpy.types.Object, presence: np.ndarray, first_frame: int) -> None:
    """The rig's meshes hidden (viewport and render) in the frames where the person was not seen; keys only where
    that changes, held constant between."""
    changes = np.flatnonzero(np.diff(presence.astype(np.int8))) + 1
    for child in rig.children:
        if child.type != "MESH":
            continue
        for frame in [0, *changes.tolist()]:
            hidden = not bool(presence[frame])
            child.hide_viewport = child.hide_render = hidden
            child.keyframe_insert("hide_viewport", frame=first_frame + frame)
            child.keyframe_insert("hide_render", frame=first_frame + frame)
        child.hide_viewport = child.hide_render = not bool(presence[0])
