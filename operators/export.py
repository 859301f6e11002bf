"""Export the selected rig with its meshes, shape keys and animation: FBX for an engine preset, glTF (.glb),
or BVH (skeleton and motion only)."""

import bpy
from bpy_extras.io_utils import ExportHelper

from ..core.errors import PocketMocapError
from ..scene.exports import export_rig_bvh, export_rig_gltf
from ..scene.fbx import export_rig_fbx, rig_of
from .settings import EXPORT_PRESETS


class POCKETMOCAP_OT_export_fbx(bpy.types.Operator, ExportHelper):
    """Export the active rig (armature, meshes, shape keys, animation) as FBX"""

    bl_idname = "pocket_mocap.export_fbx"
    bl_label = "Export FBX"

    filename_ext = ".fbx"
    filter_glob: bpy.props.StringProperty(default="*.fbx", options={"HIDDEN"})
    preset: bpy.props.EnumProperty(name="Preset", items=EXPORT_PRESETS, default="BLENDER")

    @classmethod
    def poll(cls, context):
        if rig_of(context.active_object) is None:
            cls.poll_message_set("Select a rig (an armature, or a mesh it deforms) to export.")
            return False
        return True

    def invoke(self, context, event):
        self.preset = context.scene.pocket_mocap.export_preset
        return super().invoke(context, event)

    def execute(self, context):
        try:
            path = export_rig_fbx(context, rig_of(context.active_object), self.filepath, self.preset)
        except PocketMocapError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f'Exported "{path.name}".')
        return {"FINISHED"}


def _poll_rig(cls, context) -> bool:
    if rig_of(context.active_object) is None:
        cls.poll_message_set("Select a rig (an armature, or a mesh it deforms) to export.")
        return False
    return True


class POCKETMOCAP_OT_export_gltf(bpy.types.Operator, ExportHelper):
    """Export the active rig (armature, meshes, shape keys, active action) as binary glTF"""

    bl_idname = "pocket_mocap.export_gltf"
    bl_label = "Export glTF (.glb)"

    filename_ext = ".glb"
    filter_glob: bpy.props.StringProperty(default="*.glb", options={"HIDDEN"})

    poll = classmethod(_poll_rig)

    def execute(self, context):
        try:
            path = export_rig_gltf(context, rig_of(context.active_object), self.filepath)
        except PocketMocapError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f'Exported "{path.name}".')
        return {"FINISHED"}


class POCKETMOCAP_OT_export_bvh(bpy.types.Operator, ExportHelper):
    """Export the active rig's skeleton and motion over the scene's frame range as BVH"""

    bl_idname = "pocket_mocap.export_bvh"
    bl_label = "Export BVH"

    filename_ext = ".bvh"
    filter_glob: bpy.props.StringProperty(default="*.bvh", options={"HIDDEN"})

    poll = classmethod(_poll_rig)

    def execute(self, context):
        try:
            path = export_rig_bvh(context, rig_of(context.active_object), self.filepath)
        except PocketMocapError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f'Exported "{path.name}".')
        return {"FINISHED"}


CLASSES = (POCKETMOCAP_OT_export_fbx, POCKETMOCAP_OT_export_gltf, POCKETMOCAP_OT_export_bvh)
