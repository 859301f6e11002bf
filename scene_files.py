"""Write reconstruction results as .blend or .fbx files with Blender as a Python module (the CLI's
``reconstruct``). Importing this module imports ``bpy``."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="pocket_mocap_cli_"))

import bpy  # noqa: E402 - BLENDER_USER_RESOURCES must be set first

from .core.bodymodel.library import load_body  # noqa: E402
from .scene.fbx import export_rig_fbx  # noqa: E402
from .scene.reconstruction import add_reconstruction, load_result  # noqa: E402


def write_scene_files(results: list[dict], targets: list[Path], request: dict) -> None:
    """One file per result: a .blend with the rig, camera and footage, or an .fbx of the rig."""
    for item, target in zip(results, targets, strict=True):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        context = bpy.context
        result = load_result(item["result"])
        model = load_body(request["body_model"], str(result["surface_model_type"]), request.get("body_file", ""),
                          request.get("gender", "neutral"))
        rig = add_reconstruction(context, result, model, Path(item["input"]).stem,
                                 with_camera=target.suffix.lower() == ".blend")
        if target.suffix.lower() == ".fbx":
            export_rig_fbx(context, rig, target, "BLENDER")
        else:
            bpy.ops.wm.save_as_mainfile(filepath=str(target))
