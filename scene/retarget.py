"""Retarget a Pocket Mocap rig's motion onto another armature (Mixamo, Rigify, Unreal, VRM, ...) as a new
action. Reading the rigs and writing the keys is here; the computation is ``transfer.py`` (arrays only).

Nothing in the scene changes until the whole motion is computed, so a refusal leaves the scene as it was.
"""

from __future__ import annotations

import json
from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix

from ..core.bodymodel.joints import PARENTS
from ..core.errors import PocketMocapError
from ..core.grounding.skeleton import CONTACT_NAMES
from ..core.rotations import axis_angle_to_matrix
from .animation import current_channels, key_curve, new_channels, read_animation
from .controls import driven_bones, plan_controls
from .retarget_presets import (
    PRESETS,
    REQUIRED,
    detect_preset,
    fit_chest,
    joint_label,
    match_preset,
    missing_required,
)
from .rig import PROPERTY, joint_names_of
from .transfer import Skeleton, SourceMotion, TargetMotion, drive_controls, transfer

CONTACT_PROPERTIES = tuple(f"contact_{name}" for name in CONTACT_NAMES)  # keyed by the grounding
PRESET_FOLDER = "presets/pocket_mocap/retarget"  # under Blender's user scripts folder


def is_body_rig(obj: bpy.types.Object | None) -> bool:
    return obj is not None and obj.type == "ARMATURE" and PROPERTY in obj


def skeleton_of(armature: bpy.types.Object) -> Skeleton:
    """The armature's rest layout, parents before children."""
    bones = armature.data.bones
    order = [bone.name for bone in bones if bone.parent is None]
    for name in order:  # grows while it is walked: breadth first
        order += [child.name for child in bones[name].children]
    position = {name: index for index, name in enumerate(order)}
    parents = np.array([position[bones[n].parent.name] if bones[n].parent else -1 for n in order], np.int64)
    rest = np.array([np.array(bones[name].matrix_local) for name in order], np.float64)
    return Skeleton(tuple(order), parents, rest, np.array(armature.matrix_world, np.float64))


def source_motion(rig: bpy.types.Object, fps: float, frame: int = 1) -> tuple[np.ndarray, SourceMotion]:
    """The keyed frames ``(F,)`` and the rig's joints in world space on them; a rig without keys (a photo's
    pose) is its current pose, one frame at ``frame``."""
    names = joint_names_of(rig)
    parents = PARENTS[rig[PROPERTY]["family"]]
    try:
        frames, poses, trans = read_animation(rig)
    except ValueError:
        frames, poses, trans = _current_pose(rig, names, frame)
    local = axis_angle_to_matrix(poses.reshape(len(frames), len(names), 3).astype(np.float64))
    heads = np.array([rig.data.bones[name].head_local for name in names], np.float64)
    rotations = np.empty_like(local)
    positions = np.empty((len(frames), len(names), 3))
    for joint, parent in enumerate(parents):
        if parent < 0:
            rotations[:, joint] = local[:, joint]
            positions[:, joint] = heads[joint] + trans
        else:
            rotations[:, joint] = rotations[:, parent] @ local[:, joint]
            positions[:, joint] = positions[:, parent] + rotations[:, parent] @ (heads[joint] - heads[parent])
    world = np.array(rig.matrix_world, np.float64)
    turn = world[:3, :3] / np.cbrt(np.linalg.det(world[:3, :3]))
    motion = SourceMotion(names, tuple(parents), turn @ rotations, positions @ world[:3, :3].T + world[:3, 3],
                          np.broadcast_to(turn, (len(names), 3, 3)), heads @ world[:3, :3].T + world[:3, 3], fps,
                          contact_curves(rig, frames))
    return frames, motion


def _current_pose(rig: bpy.types.Object, names: tuple[str, ...], frame: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``read_animation``'s arrays for the pose the rig holds now."""
    from ..core.rotations import quaternion_to_axis_angle

    quaternions = np.array([rig.pose.bones[name].matrix_basis.to_quaternion() for name in names], np.float64)
    trans = np.array(rig.pose.bones[names[0]].location, np.float64)
    return np.array([float(frame)]), quaternion_to_axis_angle(quaternions).reshape(1, -1), trans[None]


def contact_curves(rig: bpy.types.Object, frames: np.ndarray) -> dict[str, np.ndarray]:
    """The grounding's animated foot-contact properties on the rig object, sampled on ``frames``."""
    channels = current_channels(rig)
    curves = {curve.data_path: curve for curve in channels.fcurves} if channels is not None else {}
    found = {}
    for name in CONTACT_PROPERTIES:
        curve = curves.get(f'["{name}"]')
        if curve is not None and len(curve.keyframe_points):
            keys = np.empty(2 * len(curve.keyframe_points), np.float32)
            curve.keyframe_points.foreach_get("co", keys)
            keys = keys.reshape(-1, 2)
            found[name] = np.interp(frames, keys[:, 0], keys[:, 1])
        elif name in rig and isinstance(rig[name], (int, float)):
            found[name] = np.full(len(frames), float(rig[name]))
    return found


def detect_mapping(target: bpy.types.Object) -> tuple[str, dict[str, str]]:
    """The preset that fits ``target`` best and its joint -> bone mapping (the chest where the collars hang)."""
    preset, mapping = detect_preset([bone.name for bone in target.data.bones])
    return preset, fit_chest(mapping, _parents_of(target))


def preset_mapping(target: bpy.types.Object, preset: str) -> dict[str, str]:
    """The joints of a built-in preset (or a saved user preset's file, taken as it is) that ``target`` has."""
    if preset not in PRESETS:
        candidates = {joint: (bone,) for joint, bone in read_user_preset(preset).items()}
        return match_preset(candidates, [bone.name for bone in target.data.bones])
    return fit_chest(match_preset(PRESETS[preset][1], [bone.name for bone in target.data.bones]), _parents_of(target))


def _parents_of(target: bpy.types.Object) -> dict[str, str | None]:
    return {bone.name: bone.parent.name if bone.parent else None for bone in target.data.bones}


def check_mapping(target: bpy.types.Object, mapping: dict[str, str]) -> dict[str, str]:
    """The mapping without empty rows; a sentence naming the missing required bones, or bones the rig lacks."""
    mapping = {joint: bone for joint, bone in mapping.items() if bone}
    missing = missing_required(mapping)
    if missing:
        named = ", ".join(joint_label(joint) for joint in missing)
        hint = "it does not look like a humanoid" if len(missing) > len(REQUIRED) // 2 else "map them in the list"
        raise PocketMocapError(f'The armature "{target.name}" has no bone mapped for {named}: {hint} '
                               "(Retarget panel), then retarget again.")
    absent = [bone for bone in mapping.values() if bone not in target.data.bones]
    if absent:
        raise PocketMocapError(f'The mapping names bones that "{target.name}" does not have '
                               f'({", ".join(absent)}): detect the mapping again or correct those rows.')
    return mapping


def retarget(context: bpy.types.Context, source: bpy.types.Object, target: bpy.types.Object,
             mapping: dict[str, str] | None = None, root_motion: str = "ROOT", keep_contacts: bool = True
             ) -> bpy.types.Action:
    """Bake ``source``'s motion onto ``target`` as a new action (assigned to it); returns the action."""
    if not is_body_rig(source):
        raise PocketMocapError(f'"{getattr(source, "name", "")}" is not a Pocket Mocap rig: reconstruct a video '
                               "or import a motion first.")
    if target is None or target.type != "ARMATURE" or target == source:
        raise PocketMocapError("Select the armature to retarget onto (not the Pocket Mocap rig itself).")
    mapping = check_mapping(target, detect_mapping(target)[1] if mapping is None else mapping)
    render = context.scene.render
    frames, motion = source_motion(source, render.fps / render.fps_base, context.scene.frame_current)
    mapping = {joint: bone for joint, bone in mapping.items() if joint in motion.names}
    settings = {}
    if driven_bones(target, mapping.values()):  # a control rig (Rigify's generated rig): key its controls
        plan = plan_controls(context, target, mapping, motion.joint_parents())
        anchored = transfer(motion, plan.anchors, plan.mapping, root_motion, keep_contacts)
        result, settings = drive_controls(anchored, plan.anchors, plan.controls, plan.drives), plan.settings
    else:
        result = transfer(motion, skeleton_of(target), mapping, root_motion, keep_contacts)
    return write_action(target, f"{target.name} from {source.name}", frames, result, settings)


def write_action(target: bpy.types.Object, name: str, frames: np.ndarray, motion: TargetMotion,
                 settings: dict[tuple[str, str], float] | None = None) -> bpy.types.Action:
    """Key the computed pose bones and the rig's switches (``settings``: (pose bone, property) -> value, one
    key); bones the motion does not drive go back to their rest."""
    for pose_bone in target.pose.bones:
        pose_bone.matrix_basis = Matrix()
    channels = new_channels(target, name)
    frames = np.asarray(frames, np.float32)
    for (bone, prop), value in (settings or {}).items():
        target.pose.bones[bone][prop] = value
        key_curve(channels, f'pose.bones["{bone}"]["{prop}"]', 0, frames[:1], np.array([value], np.float32), bone)
    for bone, quaternions in motion.rotations.items():
        target.pose.bones[bone].rotation_mode = "QUATERNION"
        path = f'pose.bones["{bone}"].rotation_quaternion'
        for component in range(4):
            key_curve(channels, path, component, frames, quaternions[:, component], bone)
    for bone, locations in motion.locations.items():
        for axis in range(3):
            key_curve(channels, f'pose.bones["{bone}"].location', axis, frames, locations[:, axis], bone)
    return target.animation_data.action


def user_preset_folder(create: bool = False) -> Path:
    """Where saved mappings live: Blender's user scripts folder, ``presets/pocket_mocap/retarget``."""
    return Path(bpy.utils.user_resource("SCRIPTS", path=PRESET_FOLDER, create=create))


def user_presets() -> list[str]:
    folder = user_preset_folder()
    return sorted(path.stem for path in folder.glob("*.json")) if folder.is_dir() else []


def save_user_preset(name: str, mapping: dict[str, str]) -> Path:
    """Write ``mapping`` as ``<name>.json`` in the user preset folder; returns the file."""
    from ..core.fileio import write_json_atomically

    clean = "".join(c for c in name.strip() if c.isalnum() or c in " _-").strip()
    if not clean:
        raise PocketMocapError("Give the preset a name made of letters, digits, spaces, '-' or '_'.")
    return write_json_atomically(user_preset_folder(create=True) / f"{clean}.json",
                                 {"pocket_mocap_retarget": 1, "mapping": mapping})


def read_user_preset(name: str) -> dict[str, str]:
    path = user_preset_folder() / f"{name}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        mapping = data["mapping"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PocketMocapError(f'The retarget preset "{name}" could not be read ({path}): save it again.') from exc
    return {str(joint): str(bone) for joint, bone in mapping.items()}


def build_armature(context: bpy.types.Context, name: str, bones: list[dict]) -> bpy.types.Object:
    """An armature from a rest layout: ``bones`` rows with ``name``, ``parent`` (a name or None, parents
    first), ``head``, ``tail`` (armature space, metres) and ``roll`` (radians)."""
    armature = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, armature)
    context.collection.objects.link(obj)
    previous_active, previous_mode = context.view_layer.objects.active, context.mode
    context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    made = {}
    for row in bones:
        bone = armature.edit_bones.new(row["name"])
        bone.head, bone.tail, bone.roll = row["head"], row["tail"], row["roll"]
        if row.get("parent"):
            bone.parent = made[row["parent"]]
            bone.use_connect = bool(row.get("connected", False))
        made[row["name"]] = bone
    bpy.ops.object.mode_set(mode="OBJECT")
    context.view_layer.objects.active = previous_active if previous_mode == "OBJECT" else obj
    return obj
