"""Add Body, Import Motion (.npz), Export Motion (.npz)."""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np
from bpy_extras.io_utils import ExportHelper, ImportHelper

from ..core.bodymodel.library import load_body
from ..core.errors import PocketMocapError
from ..core.motion import Motion, convert_layout, read_motion, write_motion
from ..scene.animation import bake_animation, read_animation
from ..scene.rig import PROPERTY, RigOptions, build_rig
from .checks import object_mode, poll_with
from .settings import body_model_choices, user_model_path

UP_AXES = (("Z", "Z up", "AMASS and most motion capture"), ("Y", "Y up", "SMPL's own frame, Pocket Mocap results"))


def _body_problem(context: bpy.types.Context) -> str:
    choice = next((c for c in body_model_choices(context) if c.name == context.scene.pocket_mocap.body_model), None)
    if choice is None:
        return "Choose a body model."
    return "" if choice.available else choice.reason


def _family_for(body_model: str, motion_type: str | None) -> str:
    """SMPL files give SMPL rigs, SMPL-X files SMPL-X; the open body follows the motion (SMPL-X by default)."""
    if body_model in ("smpl", "smplx"):
        return body_model
    return "smpl" if motion_type == "smpl" else "smplx"


def _load(context: bpy.types.Context, family: str):
    settings = context.scene.pocket_mocap
    return load_body(settings.body_model, family, user_model_path(context, settings.body_model), settings.gender,
                     settings.lowres)


def _poll_body(cls, context) -> bool:
    return poll_with(cls, context, object_mode, _body_problem)


def _select_only(context: bpy.types.Context, obj: bpy.types.Object) -> None:
    for other in context.view_layer.objects:
        other.select_set(False)
    obj.select_set(True)
    context.view_layer.objects.active = obj


class POCKETMOCAP_OT_add_body(bpy.types.Operator):
    """Add a body (armature and mesh with shape keys) of the chosen body model and shape"""

    bl_idname = "pocket_mocap.add_body"
    bl_label = "Add Body"
    bl_options = {"REGISTER", "UNDO"}

    poll = classmethod(_poll_body)

    def execute(self, context):
        settings = context.scene.pocket_mocap
        try:
            model = _load(context, _family_for(settings.body_model, None))
        except PocketMocapError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        rig = build_rig(context, model, np.array(settings.betas), name=model.name.split(".")[0].replace("_", " "),
                        options=RigOptions(pose_correctives=settings.pose_correctives))
        _select_only(context, rig)
        self.report({"INFO"}, f'Added "{rig.name}" ({len(model.v_template)} vertices, {len(model.parents)} joints).')
        return {"FINISHED"}


class POCKETMOCAP_OT_import_motion(bpy.types.Operator, ImportHelper):
    """Import an AMASS / SMPL-X motion file (.npz) as an animated body"""

    bl_idname = "pocket_mocap.import_motion"
    bl_label = "Import Motion (.npz)"
    bl_options = {"REGISTER", "UNDO"}

    filename_ext = ".npz"
    filter_glob: bpy.props.StringProperty(default="*.npz", options={"HIDDEN"})
    up_axis: bpy.props.EnumProperty(name="Up axis", items=UP_AXES, default="Z")

    poll = classmethod(_poll_body)

    def execute(self, context):
        settings = context.scene.pocket_mocap
        try:
            motion = read_motion(self.filepath)
            family = _family_for(settings.body_model, motion.surface_model_type)
            model = _load(context, family)
        except PocketMocapError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        own_betas = settings.body_model != "open"  # the open body's shape space is its own: betas don't carry
        rig = build_rig(context, model, motion.betas if own_betas else None, name=Path(self.filepath).stem,
                        options=RigOptions(pose_correctives=settings.pose_correctives, up_axis=self.up_axis))
        poses = convert_layout(motion.poses, motion.surface_model_type, family)
        bake_animation(context.scene, rig, poses, motion.trans, motion.fps)
        rig[PROPERTY]["gender"] = motion.gender
        _select_only(context, rig)
        note = "" if own_betas else " The file's body shape was not applied: the open body has its own shape space."
        self.report({"INFO"}, f"Imported {motion.frames} frames at {motion.fps:g} fps.{note}")
        return {"FINISHED"}


class POCKETMOCAP_OT_export_motion(bpy.types.Operator, ExportHelper):
    """Write the active body's animation as an AMASS / SMPL-X motion file (.npz)"""

    bl_idname = "pocket_mocap.export_motion"
    bl_label = "Export Motion (.npz)"

    filename_ext = ".npz"
    filter_glob: bpy.props.StringProperty(default="*.npz", options={"HIDDEN"})

    @classmethod
    def poll(cls, context):
        rig = context.active_object
        if rig is None or rig.type != "ARMATURE" or PROPERTY not in rig:
            cls.poll_message_set("Select a body added or imported by Pocket Mocap.")
            return False
        return True

    def execute(self, context):
        rig = context.active_object
        try:
            _frames, poses, trans = read_animation(rig)
        except ValueError as exc:
            self.report({"ERROR"}, f"Nothing to export: {exc}. Import or reconstruct a motion first.")
            return {"CANCELLED"}
        info = rig[PROPERTY]
        render = context.scene.render
        motion = Motion(poses, trans, np.array(info.get("betas", []), np.float32), render.fps / render.fps_base,
                        info["family"], str(info.get("gender", "neutral")))
        path = write_motion(self.filepath, motion)
        self.report({"INFO"}, f'Wrote {motion.frames} frames to "{path.name}".')
        return {"FINISHED"}


CLASSES = (POCKETMOCAP_OT_add_body, POCKETMOCAP_OT_import_motion, POCKETMOCAP_OT_export_motion)
