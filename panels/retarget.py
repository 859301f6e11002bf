"""The "Retarget" panel: source and target rigs, the bone mapping list, options, and the exports."""

from __future__ import annotations

import bpy

from ..scene.retarget_presets import REQUIRED, joint_label
from .sidebar import SidebarPanel


class POCKETMOCAP_UL_bone_map(bpy.types.UIList):
    """One row per body joint: the target's bone that plays it (required joints marked)."""

    def draw_item(self, context, layout, _data, item, _icon, _active_data, _active_property, _index=0, _flt_flag=0):
        row = layout.row(align=True)
        required = item.joint in REQUIRED
        row.label(text=joint_label(item.joint).capitalize(), icon="DOT" if required else "BLANK1")
        target = context.scene.pocket_mocap_retarget.target
        if target is not None and target.type == "ARMATURE":
            row.prop_search(item, "bone", target.data, "bones", text="")
        else:
            row.prop(item, "bone", text="")
        if required and not item.bone:
            row.label(text="", icon="ERROR")


class POCKETMOCAP_PT_retarget(SidebarPanel, bpy.types.Panel):
    bl_label = "Retarget"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        settings = context.scene.pocket_mocap_retarget
        layout = self.layout
        column = layout.column(align=True)
        column.prop(settings, "source")
        column.prop(settings, "target")
        row = layout.row(align=True)
        row.prop(settings, "preset", text="")
        row.operator("pocket_mocap.detect_mapping", text="", icon="VIEWZOOM")
        layout.template_list("POCKETMOCAP_UL_bone_map", "", settings, "mapping", settings, "mapping_index", rows=6)
        row = layout.row(align=True)
        row.prop(settings, "preset_name", text="")
        row.operator("pocket_mocap.save_retarget_preset", text="", icon="FILE_TICK")
        layout.prop(settings, "root_motion")
        layout.prop(settings, "keep_contacts")
        row = layout.row()
        row.scale_y = 1.3
        row.operator("pocket_mocap.retarget", icon="ARMATURE_DATA")
        column = layout.column(align=True)
        column.operator("pocket_mocap.export_gltf", icon="EXPORT")
        column.operator("pocket_mocap.export_bvh", icon="EXPORT")


CLASSES = (POCKETMOCAP_UL_bone_map, POCKETMOCAP_PT_retarget)
