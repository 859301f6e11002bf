"""Armatures to retarget onto from the command line: a convention's skeleton proportioned like the
reconstructed body (``--retarget mixamo|rigify|unreal|vrm``), or the armature in a .blend / .fbx file."""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np

from ..core.errors import PocketMocapError
from .retarget import build_armature, detect_mapping, is_body_rig
from .retarget_presets import CHAIN_CHILD, PRESETS, joint_label, missing_required
from .rig import PROPERTY, joint_names_of, rig_mesh

SKELETON_PRESETS = ("mixamo", "rigify", "unreal", "vrm")
ROOT_BONES = {"unreal": "root"}  # conventions whose skeleton has a bone on the floor above the hips


def preset_skeleton(context: bpy.types.Context, rig: bpy.types.Object, preset: str) -> bpy.types.Object:
    """A skeleton with ``preset``'s bone names at the body's joints, in the body's rest (T-pose), standing on
    z = 0 and facing -Y; bones point at their chain's next joint (Blender's Y along the bone, roll 0)."""
    candidates = PRESETS[preset][1]
    names = joint_names_of(rig)
    data_heads = np.array([rig.data.bones[name].head_local for name in names], np.float64)
    heads = data_heads[:, [0, 2, 1]] * (1.0, -1.0, 1.0)  # the body's data is Y up, facing +Z
    body = rig_mesh(rig)
    sole = min(v.co.y for v in body.data.vertices) if body is not None else heads[:, 2].min()
    heads -= (heads[0, 0], heads[0, 1], sole)
    at = dict(zip(names, heads, strict=True))
    parents = dict(zip(names, (names[p] if p >= 0 else None for p in _parents(rig)), strict=True))
    rows, made = [], {}
    root = ROOT_BONES.get(preset)
    if root:
        rows.append({"name": root, "parent": None, "head": (0.0, 0.0, 0.0), "tail": (0.0, 0.2, 0.0), "roll": 0.0})
    for joint in names:
        if joint not in candidates:
            continue
        parent = parents[joint]
        while parent is not None and parent not in made:
            parent = parents[parent]
        made[joint] = candidates[joint][0]
        rows.append({"name": made[joint], "parent": made.get(parent, root), "head": tuple(at[joint]),
                     "tail": tuple(_tail(joint, at, parents)), "roll": 0.0})
    return build_armature(context, f"{rig.name} {preset}", rows)


def _parents(rig: bpy.types.Object) -> list[int]:
    from ..core.bodymodel.joints import PARENTS

    return list(PARENTS[rig[PROPERTY]["family"]])


def _tail(joint: str, at: dict[str, np.ndarray], parents: dict[str, str | None]) -> np.ndarray:
    """Toward the chain's next joint; the pelvis up to the spine; leaves on along their parent's line."""
    child = "spine1" if joint == "pelvis" else CHAIN_CHILD.get(joint)
    if child in at and np.linalg.norm(at[child] - at[joint]) > 1e-3:
        return at[child]
    parent = parents[joint]
    direction = at[joint] - at[parent] if parent else np.array([0.0, 0.0, 0.1])
    length = max(0.03, 0.5 * float(np.linalg.norm(direction)))
    return at[joint] + direction / max(float(np.linalg.norm(direction)), 1e-9) * length


def load_target(context: bpy.types.Context, path: Path) -> bpy.types.Object:
    """The humanoid armature in a .blend or .fbx file, brought into the scene with its meshes."""
    before = set(bpy.data.objects)
    try:
        if path.suffix.lower() == ".blend":
            with bpy.data.libraries.load(str(path), link=False) as (source, loaded):
                loaded.objects = list(source.objects)
            for obj in loaded.objects:
                if obj is not None:
                    context.collection.objects.link(obj)
        else:
            bpy.ops.import_scene.fbx(filepath=str(path), anim_offset=0.0)
    except (OSError, RuntimeError) as exc:
        raise PocketMocapError(f'"{path}" could not be read as a {path.suffix.lstrip(".")} file '
                               f"({str(exc).splitlines()[0]}). Save it again from its program.") from exc
    armatures = [obj for obj in bpy.data.objects if obj not in before and obj.type == "ARMATURE"
                 and not is_body_rig(obj)]
    if not armatures:
        raise PocketMocapError(f'"{path}" holds no armature to retarget onto. Give a file with your character\'s '
                               "rig, or a preset: mixamo, rigify, unreal or vrm.")
    # The one naming most joints; then the one deforming most meshes; then the one with most bones (Rigify's
    # generated rig over its meta-rig).
    deformed = [modifier.object for obj in bpy.data.objects if obj.type == "MESH" for modifier in obj.modifiers
                if modifier.type == "ARMATURE"]
    best = max(armatures, key=lambda obj: (len(detect_mapping(obj)[1]), deformed.count(obj), len(obj.data.bones)))
    missing = missing_required(detect_mapping(best)[1])
    if missing:
        raise PocketMocapError(f'The armature "{best.name}" in "{path}" has no bone named for '
                               f'{", ".join(joint_label(j) for j in missing)} in any preset (Mixamo, Rigify, Unreal, '
                               f"VRM, CMU, SMPL): rename those bones, or map them in Blender's Retarget panel.")
    return best
