"""Build a body as an armature + mesh with shape keys, and pose it.

Every bone's rest orientation is the armature's own axes (head at the joint, tail along +Y, roll 0).
A pose bone's quaternion is then exactly the model's local joint rotation and the root bone's
location exactly the translation, so Blender's Armature modifier reproduces linear blend skinning,
and pose-corrective drivers are plain expressions of the quaternion (no Python drivers).
The body data stays Y-up; the armature object turns it Z-up (``up_axis="Y"``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import bpy
import numpy as np

from ..core.bodymodel.joints import JOINT_NAMES
from ..core.bodymodel.model import BodyModel
from ..core.errors import PocketMocapError
from ..core.rotations import axis_angle_to_quaternion

UP_AXIS_ROTATIONS = {"Y": (math.pi / 2, 0.0, 0.0), "Z": (0.0, 0.0, 0.0), "-Y": (-math.pi / 2, 0.0, 0.0)}
PROPERTY = "pocket_mocap"  # custom property on the armature: what the rig was built from
# (R - I)[row][col] of the rotation of a unit quaternion (w, x, y, z), as driver expressions.
ROTATION_MINUS_IDENTITY = (
    ("-2*(y*y+z*z)", "2*(x*y-w*z)", "2*(x*z+w*y)"),
    ("2*(x*y+w*z)", "-2*(x*x+z*z)", "2*(y*z-w*x)"),
    ("2*(x*z-w*y)", "2*(y*z+w*x)", "-2*(x*x+y*y)"),
)


@dataclass(frozen=True)
class RigOptions:
    num_betas: int = 10
    num_expressions: int = 10
    pose_correctives: bool = False
    up_axis: str = "Y"  # the data's up axis: "Y" (SMPL), "Z" (AMASS motion), "-Y" (camera space: y down)


def bone_lengths(joints: np.ndarray, parents: tuple[int, ...]) -> np.ndarray:
    """Display length per bone: distance to its first child, else half its parent's (min 2 cm)."""
    lengths = np.full(len(parents), 0.0)
    for joint in range(len(parents) - 1, -1, -1):
        children = [c for c, p in enumerate(parents) if p == joint]
        if children:
            lengths[joint] = np.linalg.norm(joints[children[0]] - joints[joint])
    for joint, parent in enumerate(parents):
        if lengths[joint] < 1e-6:
            lengths[joint] = lengths[parent] * 0.5 if parent >= 0 else 0.1
    return np.maximum(lengths, 0.02)


def build_rig(context: bpy.types.Context, model: BodyModel, betas: np.ndarray | None = None,
              expression: np.ndarray | None = None, name: str = "Body", options: RigOptions | None = None
              ) -> bpy.types.Object:
    """Create the armature (returned) and its mesh in ``context.collection``; shaped by ``betas``."""
    options = options or RigOptions()
    betas = np.zeros(0, np.float32) if betas is None else np.asarray(betas, np.float32)[: options.num_betas]
    joints = model.rest_joints(betas, expression)
    rig = _create_armature(context, name, model, joints, options.up_axis)
    body = _create_mesh(context, name, model, rig)
    expression_keys = _add_shape_keys(body, model, betas, expression, options)
    if options.pose_correctives and model.posedirs is not None:
        add_pose_correctives(body, rig, model)
    rig[PROPERTY] = {"family": model.family, "model": model.name, "betas": [float(b) for b in betas],
                     "up_axis": options.up_axis, "expression_keys": expression_keys}
    return rig


def _create_armature(context, name: str, model: BodyModel, joints: np.ndarray, up_axis: str) -> bpy.types.Object:
    armature = bpy.data.armatures.new(f"{name} skeleton")
    rig = bpy.data.objects.new(name, armature)
    context.collection.objects.link(rig)
    rig.rotation_mode = "XYZ"
    rig.rotation_euler = UP_AXIS_ROTATIONS[up_axis]
    previous_active, previous_mode = context.view_layer.objects.active, context.mode
    context.view_layer.objects.active = rig
    bpy.ops.object.mode_set(mode="EDIT")
    lengths = bone_lengths(joints, model.parents)
    bones = []
    for joint, (bone_name, parent) in enumerate(zip(model.joint_names, model.parents, strict=True)):
        bone = armature.edit_bones.new(bone_name)
        bone.head = joints[joint].tolist()
        bone.tail = (joints[joint] + (0.0, lengths[joint], 0.0)).tolist()
        bone.roll = 0.0
        if parent >= 0:
            bone.parent = bones[parent]
        bones.append(bone)
    bpy.ops.object.mode_set(mode="OBJECT")
    context.view_layer.objects.active = previous_active if previous_mode == "OBJECT" else rig
    for pose_bone in rig.pose.bones:
        pose_bone.rotation_mode = "QUATERNION"
    return rig


def _create_mesh(context, name: str, model: BodyModel, rig: bpy.types.Object) -> bpy.types.Object:
    mesh = bpy.data.meshes.new(f"{name} mesh")
    faces = model.faces.astype(np.int32)
    mesh.vertices.add(len(model.v_template))
    mesh.vertices.foreach_set("co", model.v_template.ravel())
    mesh.loops.add(faces.size)
    mesh.loops.foreach_set("vertex_index", faces.ravel())
    mesh.polygons.add(len(faces))
    mesh.polygons.foreach_set("loop_start", np.arange(0, faces.size, 3, dtype=np.int32))
    mesh.update()
    if hasattr(mesh, "shade_smooth"):
        mesh.shade_smooth()
    body = bpy.data.objects.new(f"{name} mesh", mesh)
    context.collection.objects.link(body)
    body.parent = rig
    modifier = body.modifiers.new("Armature", "ARMATURE")
    modifier.object = rig
    _add_vertex_groups(body, model)
    return body


def _add_vertex_groups(body: bpy.types.Object, model: BodyModel) -> None:
    groups = [body.vertex_groups.new(name=name) for name in model.joint_names]
    vertices, joints = np.nonzero(model.weights)
    for vertex, joint in zip(vertices.tolist(), joints.tolist(), strict=True):
        groups[joint].add((vertex,), float(model.weights[vertex, joint]), "REPLACE")


def _add_shape_keys(body, model: BodyModel, betas: np.ndarray, expression, options: RigOptions) -> list[str]:
    """Basis, ``Shape000…`` and the expression keys; returns the expression keys' names."""
    body.shape_key_add(name="Basis", from_mix=False)
    base = model.v_template
    count = min(options.num_betas, model.num_betas)
    for index in range(count):
        value = float(betas[index]) if index < len(betas) else 0.0
        _new_key(body, f"Shape{index:03d}", base + model.shapedirs[:, :, index], value, (-10.0, 10.0))
    expression = np.zeros(0) if expression is None else np.asarray(expression, np.float32)
    arkit = bool(model.expression_names) and not model.expression_names[0].startswith("Exp")
    count = model.exprdirs.shape[2] if arkit else min(options.num_expressions, model.exprdirs.shape[2])
    for index in range(count):
        value = float(expression[index]) if index < len(expression) else 0.0
        limits = (0.0, 1.0) if arkit else (-10.0, 10.0)
        _new_key(body, model.expression_names[index], base + model.exprdirs[:, :, index], value, limits)
    return list(model.expression_names[:count])


def _new_key(body, name: str, coordinates: np.ndarray, value: float, limits: tuple) -> bpy.types.ShapeKey:
    key = body.shape_key_add(name=name, from_mix=False)
    key.data.foreach_set("co", np.ascontiguousarray(coordinates, np.float32).ravel())
    key.slider_min, key.slider_max = limits
    key.value = value
    return key


def add_pose_correctives(body: bpy.types.Object, rig: bpy.types.Object, model: BodyModel) -> None:
    """``Pose000…``: one key per (joint, row, col) of R - I, driven from the bone's quaternion."""
    base = model.v_template
    for index, offsets in enumerate(model.posedirs):
        joint, element = divmod(index, 9)
        row, col = divmod(element, 3)
        key = _new_key(body, f"Pose{index:03d}", base + offsets.reshape(-1, 3), 0.0, (-2.0, 2.0))
        driver = key.driver_add("value").driver
        driver.type = "SCRIPTED"
        expression = ROTATION_MINUS_IDENTITY[row][col]
        bone = model.joint_names[joint + 1]
        for channel, letter in enumerate("wxyz"):
            if letter in expression:
                variable = driver.variables.new()
                variable.name, variable.type = letter, "SINGLE_PROP"
                variable.targets[0].id = rig
                variable.targets[0].data_path = f'pose.bones["{bone}"].rotation_quaternion[{channel}]'
        driver.expression = expression


def pose_rig(rig: bpy.types.Object, poses: np.ndarray, trans: np.ndarray | None = None) -> None:
    """Set one frame: ``poses: (J*3,)`` axis-angle per joint in the model's joint order, ``trans: (3,)``.

    Bones are addressed by name: Blender keeps pose bones in hierarchy order, not joint order.
    """
    names = joint_names_of(rig)
    quaternions = axis_angle_to_quaternion(np.asarray(poses, np.float64).reshape(-1, 3))
    for name, quaternion in zip(names, quaternions, strict=True):
        pose_bone = rig.pose.bones[name]
        pose_bone.rotation_mode = "QUATERNION"
        pose_bone.rotation_quaternion = quaternion.tolist()
    if trans is not None:
        rig.pose.bones[names[0]].location = np.asarray(trans, np.float64).tolist()


def joint_names_of(rig: bpy.types.Object) -> tuple[str, ...]:
    """The rig's joints in model order (from the family it was built for)."""
    family = rig.get(PROPERTY, {}).get("family")
    if family not in JOINT_NAMES:
        raise PocketMocapError(f'"{rig.name}" is not a Pocket Mocap body rig: add one with "Add Body" first.')
    return JOINT_NAMES[family]


def evaluated_vertices(context: bpy.types.Context, body: bpy.types.Object) -> np.ndarray:
    """The deformed mesh as Blender evaluates it (shape keys, drivers, Armature modifier): ``(V, 3)``,
    in the mesh's own (model) coordinates."""
    depsgraph = context.evaluated_depsgraph_get()
    evaluated = body.evaluated_get(depsgraph)
    mesh = evaluated.to_mesh()
    try:
        coordinates = np.empty(len(mesh.vertices) * 3, np.float32)
        mesh.vertices.foreach_get("co", coordinates)
    finally:
        evaluated.to_mesh_clear()
    return coordinates.reshape(-1, 3)


def rig_mesh(rig: bpy.types.Object) -> bpy.types.Object | None:
    return next((child for child in rig.children if child.type == "MESH"), None)
