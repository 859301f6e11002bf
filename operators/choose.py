"""Pick an estimator or a body model from the panel's menus (unavailable entries are greyed out)."""

import bpy

from ..core import catalog
from .checks import no_job_running, poll_with
from .settings import body_model_choices, estimator_choices


def _no_job_running(cls, context) -> bool:
    return poll_with(cls, context, no_job_running)


class POCKETMOCAP_OT_choose_estimator(bpy.types.Operator):
    """Use this estimator for the next reconstruction"""

    bl_idname = "pocket_mocap.choose_estimator"
    bl_label = "Choose Estimator"
    bl_options = {"REGISTER", "UNDO", "INTERNAL"}

    name: bpy.props.StringProperty()

    poll = classmethod(_no_job_running)

    def execute(self, context):
        choice = catalog.find(estimator_choices(context), self.name)
        if choice is None or not choice.available:
            self.report({"ERROR"}, choice.reason if choice else f'There is no estimator "{self.name}".')
            return {"CANCELLED"}
        context.scene.pocket_mocap.estimator = self.name
        return {"FINISHED"}


class POCKETMOCAP_OT_choose_body_model(bpy.types.Operator):
    """Use this body model for the next reconstruction"""

    bl_idname = "pocket_mocap.choose_body_model"
    bl_label = "Choose Body Model"
    bl_options = {"REGISTER", "UNDO", "INTERNAL"}

    name: bpy.props.StringProperty()

    poll = classmethod(_no_job_running)

    def execute(self, context):
        choice = catalog.find(body_model_choices(context), self.name)
        if choice is None or not choice.available:
            self.report({"ERROR"}, choice.reason if choice else f'There is no body model "{self.name}".')
            return {"CANCELLED"}
        context.scene.pocket_mocap.body_model = self.name
        return {"FINISHED"}


CLASSES = (POCKETMOCAP_OT_choose_estimator, POCKETMOCAP_OT_choose_body_model)
