"""The "Pocket Mocap" tab in the 3D viewport's sidebar."""

from __future__ import annotations

import bpy

from ..core import catalog
from ..operators import jobs
from ..operators.settings import body_model_choices, estimator_choices


def draw_choices(layout: bpy.types.UILayout, choices: list, operator: str) -> None:
    """A menu of choices; unavailable ones are greyed out with the reason under them."""
    for choice in choices:
        row = layout.row()
        row.enabled = choice.available
        row.operator(operator, text=choice.label).name = choice.name
        if not choice.available:
            layout.label(text=choice.reason, icon="INFO")


class POCKETMOCAP_MT_estimators(bpy.types.Menu):
    bl_label = "Estimator"

    def draw(self, context):
        draw_choices(self.layout, estimator_choices(context), "pocket_mocap.choose_estimator")


class POCKETMOCAP_MT_body_models(bpy.types.Menu):
    bl_label = "Body Model"

    def draw(self, context):
        draw_choices(self.layout, body_model_choices(context), "pocket_mocap.choose_body_model")


class SidebarPanel:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Pocket Mocap"


class POCKETMOCAP_PT_input(SidebarPanel, bpy.types.Panel):
    bl_label = "Input"

    def draw(self, context):
        settings = context.scene.pocket_mocap
        layout = self.layout
        layout.row().prop(settings, "input_kind", expand=True)
        path_prop = {"PHOTO": "photo_path", "VIDEO": "video_path", "FOLDER": "folder_path"}[settings.input_kind]
        layout.prop(settings, path_prop, text="")
        layout.operator("pocket_mocap.check_input", icon="VIEWZOOM")


class POCKETMOCAP_PT_reconstruct(SidebarPanel, bpy.types.Panel):
    bl_label = "Reconstruct"

    def draw(self, context):
        settings = context.scene.pocket_mocap
        layout = self.layout
        self._draw_choice(layout, "Estimator", estimator_choices(context), settings.estimator,
                          "POCKETMOCAP_MT_estimators")
        self._draw_choice(layout, "Body", body_model_choices(context), settings.body_model,
                          "POCKETMOCAP_MT_body_models")
        column = layout.column(align=True)
        column.prop(settings, "fov")
        column.prop(settings, "smoothing")
        column.prop(settings, "foot_lock")
        column.prop(settings, "contacts")
        column.prop(settings, "pose_prior")
        column.prop(settings, "temporal_lifter")
        row = layout.row()
        row.prop(settings, "hands_and_face")
        row.prop(settings, "add_camera")
        row = layout.row(align=True)
        row.scale_y = 1.4
        row.operator("pocket_mocap.reconstruct", icon="ARMATURE_DATA")
        row.operator("pocket_mocap.cancel_job", text="", icon="CANCEL")
        status = context.window_manager.pocket_mocap_job
        if status.running or jobs.active_job() is not None:
            layout.progress(factor=status.progress, type="BAR", text=status.text)
            layout.operator("pocket_mocap.cancel_job", text="Stop and keep frames done",
                            icon="PAUSE").keep_frames = True
        if status.message:
            icon = {"ERROR": "ERROR", "WARNING": "ERROR"}.get(status.message_level, "INFO")
            layout.label(text=status.message, icon=icon)

    @staticmethod
    def _draw_choice(layout, label: str, choices: list, current: str, menu: str) -> None:
        choice = catalog.find(choices, current)
        row = layout.row()
        row.label(text=label)
        row.menu(menu, text=choice.label if choice else current)
        if choice is not None and not choice.available:
            layout.label(text=choice.reason, icon="ERROR")


class POCKETMOCAP_UL_people(bpy.types.UIList):
    """The people the last reconstruction found: tick, name, frames seen and the frame of first appearance."""

    def draw_item(self, context, layout, data, item, icon, active_data, active_property, index=0, flt_flag=0):
        row = layout.row(align=True)
        row.prop(item, "build", text="")
        row.label(text=item.label, icon="ARMATURE_DATA")
        if item.frames > 1:
            row.label(text=f"{item.frames_seen}/{item.frames} frames, from {item.first_frame}")


class POCKETMOCAP_PT_people(SidebarPanel, bpy.types.Panel):
    bl_label = "People"

    @classmethod
    def poll(cls, context):
        return len(context.scene.pocket_mocap.people) > 0

    def draw(self, context):
        settings = context.scene.pocket_mocap
        layout = self.layout
        layout.template_list("POCKETMOCAP_UL_people", "", settings, "people", settings, "people_index",
                             rows=min(6, max(2, len(settings.people))))
        row = layout.row(align=True)
        row.operator("pocket_mocap.tick_people", text="All").build = True
        row.operator("pocket_mocap.tick_people", text="None").build = False
        row = layout.row()
        row.scale_y = 1.4
        row.operator("pocket_mocap.build_people", icon="ARMATURE_DATA")


class POCKETMOCAP_PT_body(SidebarPanel, bpy.types.Panel):
    bl_label = "Body"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        settings = context.scene.pocket_mocap
        layout = self.layout
        layout.prop(settings, "gender")
        layout.prop(settings, "pose_correctives")
        if settings.body_model == "open":
            layout.prop(settings, "lowres")
        column = layout.column(align=True)
        column.prop(settings, "betas")
        layout.operator("pocket_mocap.add_body", icon="OUTLINER_OB_ARMATURE")
        layout.operator("pocket_mocap.import_motion", icon="IMPORT")


class POCKETMOCAP_PT_export(SidebarPanel, bpy.types.Panel):
    bl_label = "Export"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        layout.prop(context.scene.pocket_mocap, "export_preset")
        layout.operator("pocket_mocap.export_fbx", icon="EXPORT")
        layout.operator("pocket_mocap.export_motion", icon="EXPORT")


CLASSES = (POCKETMOCAP_MT_estimators, POCKETMOCAP_MT_body_models, POCKETMOCAP_PT_input,
           POCKETMOCAP_PT_reconstruct, POCKETMOCAP_UL_people, POCKETMOCAP_PT_people, POCKETMOCAP_PT_body,
           POCKETMOCAP_PT_export)
