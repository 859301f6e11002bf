"""FBX export of a rig (armature + its meshes, shape keys, baked animation) with engine presets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import bpy

from ..core.errors import PocketMocapError

COMMON = {
    "use_selection": True,
    "object_types": {"ARMATURE", "MESH"},
    "add_leaf_bones": False,  # the default adds "_end" bones that engines then import as real bones
    "bake_anim": True,
    "bake_anim_use_all_actions": False,
    "bake_anim_use_nla_strips": False,
    "bake_anim_simplify_factor": 0.0,  # keep every key: mocap is dense on purpose
    "use_mesh_modifiers": False,  # the Armature modifier must stay a skin, not be applied
    "mesh_smooth_type": "FACE",
    "path_mode": "AUTO",
}
PRESETS = {
    "BLENDER": {"axis_forward": "-Z", "axis_up": "Y", "apply_scale_options": "FBX_SCALE_NONE"},
    "UNITY": {"axis_forward": "-Z", "axis_up": "Y", "apply_scale_options": "FBX_SCALE_UNITS"},
    "UNREAL": {"axis_forward": "-Z", "axis_up": "Y", "apply_scale_options": "FBX_SCALE_NONE",
               "use_armature_deform_only": True},
}


def rig_of(obj: bpy.types.Object | None) -> bpy.types.Object | None:
    """The armature ``obj`` is, or the armature it is parented to / deformed by."""
    if obj is None:
        return None
    if obj.type == "ARMATURE":
        return obj
    if obj.parent is not None and obj.parent.type == "ARMATURE":
        return obj.parent
    modifier = next((m for m in getattr(obj, "modifiers", ()) if m.type == "ARMATURE" and m.object), None)
    return modifier.object if modifier else None


def export_rig_fbx(context: bpy.types.Context, armature: bpy.types.Object, filepath: str | Path,
                   preset: str = "BLENDER", also: list | tuple = ()) -> Path:
    """Write ``armature`` and the meshes it deforms (and the armatures ``also``, several people, with theirs) to
    ``filepath``; the selection is restored after."""

    def export(chosen: list) -> set:
        with context.temp_override(selected_objects=chosen, active_object=armature):
            return bpy.ops.export_scene.fbx(filepath=str(filepath), **COMMON, **PRESETS[preset])

    return export_selected(context, [armature, *also], Path(filepath), "FBX", export)


def export_selected(context: bpy.types.Context, armatures: list, filepath: Path, kind: str,
                    export: Callable[[list], set]) -> Path:
    """Select ``armatures`` and the meshes they deform, run ``export(chosen)`` (one of Blender's exporters, ``kind``
    for messages), restore the selection; FBX here, glTF and BVH in ``exports.py``."""
    if not filepath.parent.is_dir():
        raise PocketMocapError(f'The folder "{filepath.parent}" does not exist. Choose another place to save.')
    context.view_layer.update()  # objects linked since the last sync are not in view_layer.objects yet
    armature = armatures[0]
    meshes = [obj for obj in context.view_layer.objects if obj.type == "MESH" and rig_of(obj) in armatures]
    chosen = [*armatures, *meshes]
    previous = [obj for obj in context.view_layer.objects if obj.select_get()]
    previous_active = context.view_layer.objects.active
    try:
        for obj in context.view_layer.objects:
            obj.select_set(obj in chosen)
        context.view_layer.objects.active = armature
        result = export(chosen)
    except RuntimeError as exc:
        raise PocketMocapError(f"{kind} export failed: {str(exc).splitlines()[0]}. Check that the folder is "
                               "writable and the file is not open in another program.") from exc
    finally:
        for obj in context.view_layer.objects:
            obj.select_set(obj in previous)
        context.view_layer.objects.active = previous_active
    if result != {"FINISHED"} or not filepath.is_file():
        raise PocketMocapError(f'{kind} export did not write "{filepath}". See the system console for details.')
    return filepath
