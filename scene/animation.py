"""Key whole animations fast (``keyframe_points.add`` + ``foreach_set``) and read them back.

Blender 4.4+ stores keys in layered actions (slot -> layer -> strip -> channelbag); 5.0 removed the
legacy ``Action.fcurves``. Older versions (4.2, 4.3) use ``Action.fcurves``.
"""

from __future__ import annotations

import bpy
import numpy as np

from ..core.rotations import axis_angle_to_quaternion, continuous_quaternions, quaternion_to_axis_angle
from .rig import PROPERTY, joint_names_of, rig_mesh

LINEAR = 1  # enum value of 'LINEAR' in Keyframe.interpolation, for foreach_set


def layered_actions() -> bool:
    return "layers" in bpy.types.Action.bl_rna.properties


def new_channels(id_data: bpy.types.ID, name: str):
    """A fresh action assigned to ``id_data``; returns what holds its F-curves (``.fcurves.new``)."""
    action = bpy.data.actions.new(name)
    animation = id_data.animation_data or id_data.animation_data_create()
    if not layered_actions():
        animation.action = action
        return action
    slot = action.slots.new(id_type=id_data.id_type, name=id_data.name)
    strip = action.layers.new("Layer").strips.new(type="KEYFRAME")
    animation.action = action
    animation.action_slot = slot
    return strip.channelbag(slot, ensure=True)


def current_channels(id_data: bpy.types.ID):
    """What holds the F-curves of ``id_data``'s action, or ``None`` without animation."""
    animation = id_data.animation_data
    if animation is None or animation.action is None:
        return None
    if not layered_actions():
        return animation.action
    slot = animation.action_slot
    for layer in animation.action.layers:
        for strip in layer.strips:
            channelbag = strip.channelbag(slot) if slot else None
            if channelbag is not None:
                return channelbag
    return None


def key_curve(channels, data_path: str, index: int, frames: np.ndarray, values: np.ndarray, group: str = ""):
    """One F-curve with a linear key on every frame: ``frames: (F,)``, ``values: (F,)``."""
    if layered_actions():
        curve = channels.fcurves.new(data_path, index=index)
        if group:
            curve.group = channels.groups.get(group) or channels.groups.new(group)
    else:
        curve = channels.fcurves.new(data_path, index=index, action_group=group)
    points = curve.keyframe_points
    points.add(len(frames))
    points.foreach_set("co", np.column_stack([frames, values]).astype(np.float32).ravel())
    points.foreach_set("interpolation", np.full(len(frames), LINEAR, np.int32))
    curve.update()
    return curve


def set_frame_rate(scene: bpy.types.Scene, fps: float, frames: int, start: int = 1) -> None:
    """Scene fps as integer + base (23.976 -> 24 / 1.001) and the frame range of ``frames`` keys."""
    rounded = max(1, round(fps))
    scene.render.fps = rounded
    scene.render.fps_base = rounded / fps
    scene.frame_start, scene.frame_end = start, start + frames - 1


def bake_animation(scene: bpy.types.Scene, rig: bpy.types.Object, poses: np.ndarray, trans: np.ndarray,
                   fps: float, expression: np.ndarray | None = None, start: int = 1) -> None:
    """Key every frame: ``poses: (F, J*3)`` in the rig's joint order, ``trans: (F, 3)``,
    ``expression: (F, E)`` onto the expression shape keys; sets the scene's fps and frame range."""
    names = joint_names_of(rig)
    count = len(poses)
    frames = np.arange(start, start + count, dtype=np.float32)
    quaternions = continuous_quaternions(axis_angle_to_quaternion(
        np.asarray(poses, np.float64).reshape(count, len(names), 3)))
    channels = new_channels(rig, f"{rig.name} motion")
    for joint, name in enumerate(names):
        rig.pose.bones[name].rotation_mode = "QUATERNION"
        path = f'pose.bones["{name}"].rotation_quaternion'
        for component in range(4):
            key_curve(channels, path, component, frames, quaternions[:, joint, component], name)
    for axis in range(3):
        key_curve(channels, f'pose.bones["{names[0]}"].location', axis, frames, trans[:, axis], names[0])
    if expression is not None:
        _bake_expression(rig, frames, np.asarray(expression, np.float32))
    set_frame_rate(scene, fps, count, start)


def _bake_expression(rig: bpy.types.Object, frames: np.ndarray, expression: np.ndarray) -> None:
    body = rig_mesh(rig)
    keys = body.data.shape_keys if body is not None else None
    if keys is None:
        return
    names = list(rig[PROPERTY].get("expression_keys", []))
    channels = new_channels(keys, f"{rig.name} expression")
    for index, name in enumerate(names[: expression.shape[1]]):
        key_curve(channels, f'key_blocks["{name}"].value', 0, frames, expression[:, index], "Expression")


def read_animation(rig: bpy.types.Object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rig's keyed motion: ``(frames (F,), poses (F, J*3), trans (F, 3))`` on the keyed frames."""
    names = joint_names_of(rig)
    channels = current_channels(rig)
    if channels is None:
        raise ValueError(f'"{rig.name}" has no animation to export.')
    curves = {(c.data_path, c.array_index): c for c in channels.fcurves}
    root_curve = curves.get((f'pose.bones["{names[0]}"].rotation_quaternion', 0))
    frames = _keyed_frames(root_curve)
    quaternions = np.zeros((len(frames), len(names), 4), np.float64)
    quaternions[..., 0] = 1.0
    for joint, name in enumerate(names):
        for component in range(4):
            curve = curves.get((f'pose.bones["{name}"].rotation_quaternion', component))
            if curve is not None:
                quaternions[:, joint, component] = _sample(curve, frames)
    trans = np.zeros((len(frames), 3), np.float64)
    for axis in range(3):
        curve = curves.get((f'pose.bones["{names[0]}"].location', axis))
        if curve is not None:
            trans[:, axis] = _sample(curve, frames)
    poses = quaternion_to_axis_angle(quaternions).reshape(len(frames), -1)
    return frames, poses.astype(np.float32), trans.astype(np.float32)


def _keyed_frames(curve) -> np.ndarray:
    if curve is None or not len(curve.keyframe_points):
        raise ValueError("the rig has no rotation keys")
    first, last = curve.range()
    return np.arange(round(first), round(last) + 1, dtype=np.float64)


def _sample(curve, frames: np.ndarray) -> np.ndarray:
    """Values at ``frames``: read straight from the keys when there is one per frame, else evaluated."""
    points = curve.keyframe_points
    if len(points) == len(frames):
        co = np.empty(len(points) * 2, np.float32)
        points.foreach_get("co", co)
        co = co.reshape(-1, 2)
        if np.array_equal(co[:, 0], frames.astype(np.float32)):
            return co[:, 1].astype(np.float64)
    return np.array([curve.evaluate(frame) for frame in frames])
