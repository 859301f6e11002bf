"""glTF / GLB and BVH export of a rig through Blender's bundled exporters (FBX is ``fbx.py``).

GLB carries the armature, the meshes it deforms with their shape keys, and the active action; BVH the
skeleton and its motion only (MotionBuilder, game tools).
"""

from __future__ import annotations

from pathlib import Path

import bpy

from .fbx import export_selected

GLTF = {
    "export_format": "GLB",
    "use_selection": True,
    "export_skins": True,
    "export_morph": True,  # shape keys
    "export_animations": True,
    "export_force_sampling": True,
    "export_frame_range": True,  # the scene's range: the motion, not whatever else an action holds
    "export_optimize_animation_size": False,  # keep every key: mocap is dense on purpose
    "export_animation_mode": "ACTIVE_ACTIONS",
    "export_apply": False,  # the Armature modifier must stay a skin
}


def export_rig_gltf(context: bpy.types.Context, armature: bpy.types.Object, filepath: str | Path,
                    also: list | tuple = ()) -> Path:
    """Write ``armature`` (and the armatures ``also``: several people), their meshes (shape keys) and their
    actions as a binary glTF (.glb)."""
    filepath = Path(filepath)
    known = bpy.ops.export_scene.gltf.get_rna_type().properties.keys()
    options = {key: value for key, value in GLTF.items() if key in known}

    def export(chosen: list) -> set:
        with context.temp_override(selected_objects=chosen, active_object=armature, object=armature):
            return bpy.ops.export_scene.gltf(filepath=str(filepath), **options)

    return export_selected(context, [armature, *also], filepath, "glTF", export)


def export_rig_bvh(context: bpy.types.Context, armature: bpy.types.Object, filepath: str | Path) -> Path:
    """Write ``armature``'s skeleton and motion over the scene's frame range as BVH."""
    filepath = Path(filepath)
    scene = context.scene

    def export(_chosen: list) -> set:
        with context.temp_override(selected_objects=[armature], active_object=armature, object=armature):
            return bpy.ops.export_anim.bvh(filepath=str(filepath), frame_start=scene.frame_start,
                                           frame_end=scene.frame_end, rotate_mode="NATIVE",
                                           root_transform_only=False)

    return export_selected(context, [armature], filepath, "BVH", export)
