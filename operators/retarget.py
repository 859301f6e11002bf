"""Retarget: the Pocket Mocap rig's motion onto another armature; the bone mapping to edit and save."""

from __future__ import annotations

import bpy

from ..core.errors import PocketMocapError
from ..scene.retarget import detect_mapping, is_body_rig, preset_mapping, retarget, save_user_preset, user_presets
from ..scene.retarget_presets import PRESETS
from .checks import object_mode, poll_with

ROOT_MOTIONS = (
    ("ROOT", "Root bone", "Travel on the armature's root bone (the hips when it has none), height on the hips"),
    ("HIPS", "Hips", "Travel and height on the hips bone"),
    ("IN_PLACE", "In place", "No travel: the hips keep their height changes only"),
)
_preset_items: list = []  # Blender keeps pointers to the strings of dynamic enum items: hold them here


def preset_items(_self, _context) -> list:
    _preset_items[:] = [("AUTO", "Detect", "The preset that names most of the target's bones")]
    _preset_items.extend((name, label, f"{label} bone names") for name, (label, _c) in PRESETS.items())
    _preset_items.extend((name, name, "Saved mapping") for name in user_presets())
    return _preset_items


def _is_target(_self, obj) -> bool:
    return obj.type == "ARMATURE" and not is_body_rig(obj)


def _is_source(_self, obj) -> bool:
    return is_body_rig(obj)


class POCKETMOCAP_PG_bone_pair(bpy.types.PropertyGroup):
    joint: bpy.props.StringProperty(name="Joint")
    bone: bpy.props.StringProperty(name="Bone", description="The target's bone that plays this joint")


class POCKETMOCAP_PG_retarget(bpy.types.PropertyGroup):
    source: bpy.props.PointerProperty(name="Source", type=bpy.types.Object, poll=_is_source,
                                      description="The Pocket Mocap rig whose motion is retargeted")
    target: bpy.props.PointerProperty(name="Target", type=bpy.types.Object, poll=_is_target,
                                      description="Your character's armature")
    preset: bpy.props.EnumProperty(name="Preset", items=preset_items)
    root_motion: bpy.props.EnumProperty(name="Root motion", items=ROOT_MOTIONS, default="ROOT")
    keep_contacts: bpy.props.BoolProperty(name="Keep foot contacts", default=True,
                                          description="Hold the target's feet where the source's touch the floor")
    mapping: bpy.props.CollectionProperty(type=POCKETMOCAP_PG_bone_pair)
    mapping_index: bpy.props.IntProperty()
    preset_name: bpy.props.StringProperty(name="Name", default="My character")


def _settings(context):
    return context.scene.pocket_mocap_retarget


def chosen_rigs(context) -> tuple:
    """(source, target): the panel's choices, else the selected Pocket Mocap rig and the other armature."""
    settings = _settings(context)
    selected = [obj for obj in context.selected_objects if obj.type == "ARMATURE"]
    source = settings.source or next((obj for obj in selected if is_body_rig(obj)), None)
    active = context.active_object
    fallback = active if active is not None and _is_target(None, active) else \
        next((obj for obj in selected if not is_body_rig(obj)), None)
    return source, settings.target or fallback


def _rigs_problem(context) -> str:
    source, target = chosen_rigs(context)
    if source is None:
        return "Choose the Pocket Mocap rig to take the motion from."
    if target is None:
        return "Choose the armature to retarget onto."
    return ""


class POCKETMOCAP_OT_detect_mapping(bpy.types.Operator):
    """Fill the mapping list from the target's bone names (the chosen preset, or the one that fits best)"""

    bl_idname = "pocket_mocap.detect_mapping"
    bl_label = "Detect Mapping"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return poll_with(cls, context, _rigs_problem)

    def execute(self, context):
        settings = _settings(context)
        _source, target = chosen_rigs(context)
        try:
            if settings.preset == "AUTO":
                preset, mapping = detect_mapping(target)
            else:
                preset, mapping = settings.preset, preset_mapping(target, settings.preset)
        except PocketMocapError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        settings.mapping.clear()
        joints = list(PRESETS["body"][1])
        for joint in joints:
            row = settings.mapping.add()
            row.joint, row.bone = joint, mapping.get(joint, "")
        self.report({"INFO"}, f'{len(mapping)} of {len(joints)} joints found with "{preset}".')
        return {"FINISHED"}


class POCKETMOCAP_OT_retarget(bpy.types.Operator):
    """Bake the Pocket Mocap rig's motion onto the target armature as a new action"""

    bl_idname = "pocket_mocap.retarget"
    bl_label = "Retarget"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return poll_with(cls, context, object_mode, _rigs_problem)

    def execute(self, context):
        settings = _settings(context)
        source, target = chosen_rigs(context)
        mapping = {row.joint: row.bone for row in settings.mapping} or None
        try:
            if mapping is None and settings.preset != "AUTO":
                mapping = preset_mapping(target, settings.preset)
            action = retarget(context, source, target, mapping, settings.root_motion, settings.keep_contacts)
        except PocketMocapError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f'Retargeted onto "{target.name}" as the action "{action.name}".')
        return {"FINISHED"}


class POCKETMOCAP_OT_save_retarget_preset(bpy.types.Operator):
    """Save the mapping list as a preset in your Blender user folder"""

    bl_idname = "pocket_mocap.save_retarget_preset"
    bl_label = "Save Mapping Preset"

    @classmethod
    def poll(cls, context):
        if not len(_settings(context).mapping):
            cls.poll_message_set("Detect or fill the mapping first.")
            return False
        return True

    def execute(self, context):
        settings = _settings(context)
        mapping = {row.joint: row.bone for row in settings.mapping if row.bone}
        try:
            path = save_user_preset(settings.preset_name, mapping)
        except (PocketMocapError, OSError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f'Saved the mapping as "{path.stem}".')
        return {"FINISHED"}


CLASSES = (POCKETMOCAP_PG_bone_pair, POCKETMOCAP_PG_retarget, POCKETMOCAP_OT_detect_mapping,
           POCKETMOCAP_OT_retarget, POCKETMOCAP_OT_save_retarget_preset)


def attach() -> None:
    bpy.types.Scene.pocket_mocap_retarget = bpy.props.PointerProperty(type=POCKETMOCAP_PG_retarget)


def detach() -> None:
    del bpy.types.Scene.pocket_mocap_retarget
