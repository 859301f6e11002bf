"""Add-on preferences: the user's SMPL / SMPL-X files (checked as they are set), threads, cache."""

from __future__ import annotations

import os

import bpy

from ..core.bodymodel.files import check_body_file
from ..core.errors import BodyModelError
from ..operators.settings import ADDON


def _check(family: str, path: str) -> str:
    if not path:
        return ""
    try:
        return "OK: " + check_body_file(family, bpy.path.abspath(path)).summary
    except BodyModelError as exc:
        return str(exc)


def _update_smpl(self, _context) -> None:
    self.smpl_status = _check("smpl", self.smpl_path)


def _update_smplx(self, _context) -> None:
    self.smplx_status = _check("smplx", self.smplx_path)


class POCKETMOCAP_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = ADDON

    smpl_path: bpy.props.StringProperty(
        name="SMPL model", subtype="FILE_PATH", update=_update_smpl,
        description="Your licensed SMPL model file (.pkl or .npz, 6890 vertices)")
    smplx_path: bpy.props.StringProperty(
        name="SMPL-X model", subtype="FILE_PATH", update=_update_smplx,
        description="Your licensed SMPL-X model file (.npz or .pkl, 10475 vertices)")
    smpl_status: bpy.props.StringProperty(name="SMPL status")
    smplx_status: bpy.props.StringProperty(name="SMPL-X status")
    efficienthuman_weights: bpy.props.StringProperty(
        name="EfficientHuman weights", subtype="FILE_PATH",
        description="A trained EfficientHuman network (.onnx exported by training/export.py)")
    binaryhpe_weights: bpy.props.StringProperty(
        name="BinaryHPE weights", subtype="FILE_PATH",
        description="A trained BinaryHPE network (.onnx exported by training/binaryhpe_train.py)")
    worker_threads: bpy.props.IntProperty(
        name="Worker threads", min=1, max=64, default=max(1, min(4, os.cpu_count() or 2)),
        description="CPU threads the background worker may use")
    cache_dir: bpy.props.StringProperty(
        name="Result cache", subtype="DIR_PATH",
        description="Where job results are kept for reuse; empty uses the extension's own user folder")

    def draw(self, context):
        layout = self.layout
        for path_prop, status in (("smpl_path", self.smpl_status), ("smplx_path", self.smplx_status)):
            layout.prop(self, path_prop)
            if status:
                layout.label(text=status, icon="CHECKMARK" if status.startswith("OK") else "ERROR")
        layout.prop(self, "efficienthuman_weights")
        layout.prop(self, "binaryhpe_weights")
        layout.prop(self, "worker_threads")
        layout.prop(self, "cache_dir")


CLASSES = (POCKETMOCAP_AP_preferences,)
