"""Export FBX: the selected rig with its meshes, shape keys and animation, for an engine preset."""

import bpy
from bpy_extras.io_utils import ExportHelper

from ..core.errors import PocketMocapError
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


CLASSES = (POCKETMOCAP_OT_export_fbx,)
