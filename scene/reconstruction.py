"""Bring a reconstruction result into the scene: a rig posed (photo) or animated (video), and optionally the
camera that saw it, with the photo or video as its background.

A photo, or a video without a floor, stays in camera space (the camera at the origin looking along +Y). A
grounded video is put in its world: the floor at Z = 0 (a floor object, a shadow catcher), the rig's root
motion in that world, the camera where the floor says it stood, and the foot contacts keyed on the rig as
``contact_left_heel`` … ``contact_right_toe`` (0..1).
"""

from __future__ import annotations

import math
from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix

from ..core.bodymodel.model import BodyModel
from ..core.grounding.skeleton import CONTACT_NAMES
from ..core.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from .animation import bake_animation, current_channels, key_curve
from .rig import PROPERTY, RigOptions, build_rig, pose_rig

SENSOR_WIDTH_MM = 36.0
WORLD_FIELDS = ("world_root_orient", "world_trans", "world_from_camera")
Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])  # the rig's data is Y up
FLOOR_MARGIN_M = 3.0


def load_result(path: str | Path) -> dict:
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def add_reconstruction(context: bpy.types.Context, result: dict, model: BodyModel, name: str,
                       with_camera: bool = True, first_frame: int = 1, with_floor: bool = True) -> bpy.types.Object:
    """A rig for ``result`` (the worker's .npz as a dict, one person); returns the armature. A grounded video also
    gets its floor unless ``with_floor`` is off (the other people of the same clip share the first one's)."""
    # The fitted betas live in the chosen model's own shape space, so they apply to it whatever it is.
    poses, trans, expression = result["poses"], result["trans"], result.get("expression")
    single = len(poses) == 1
    grounded = not single and all(field in result for field in WORLD_FIELDS)
    options = RigOptions(up_axis="Y" if grounded else "-Y")
    if grounded:
        poses, trans = world_motion(result, model.rest_joints(np.asarray(result["betas"])[: options.num_betas])[0])
    rig = build_rig(context, model, result["betas"], expression=expression[0] if single and expression is not None
                    else None, name=name, options=options)
    if single:
        pose_rig(rig, poses[0], trans[0])
    else:
        bake_animation(context.scene, rig, poses, trans, float(result["mocap_framerate"]), expression=expression,
                       start=first_frame)
    rig[PROPERTY]["source"] = str(result.get("source", ""))
    rig[PROPERTY]["mean_confidence"] = float(np.mean(result["confidence"]))
    if grounded:
        rig[PROPERTY]["camera_height"] = float(result.get("camera_height", 0.0))
        if "contacts" in result:
            key_contacts(rig, np.asarray(result["contacts"]), first_frame)
        if with_floor:
            add_floor(context, name, np.asarray(result["world_trans"]))
    if with_camera:
        add_camera(context, result["camera_intrinsics"], str(result.get("source", "")), name, len(poses) > 1,
                   world_from_camera=np.asarray(result["world_from_camera"]) if grounded else None)
    return rig


def world_motion(result: dict, pelvis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A grounded result's root motion in the rig's data space (Y up; the armature turns it Z up): poses with
    the world root orientation, and the translation that puts the pelvis (rest ``pelvis``) where the world says."""
    poses = np.array(result["poses"], np.float64)
    root = Z_UP_TO_Y_UP @ axis_angle_to_matrix(np.asarray(result["world_root_orient"], np.float64))
    poses[:, :3] = matrix_to_axis_angle(root)
    trans = (np.asarray(result["world_trans"], np.float64) + pelvis) @ Z_UP_TO_Y_UP.T - pelvis
    return poses, trans


def key_contacts(rig: bpy.types.Object, contacts: np.ndarray, first_frame: int) -> None:
    """Foot contact per frame as animated custom properties of the armature (heel and toe of each foot)."""
    channels = current_channels(rig)
    frames = np.arange(first_frame, first_frame + len(contacts), dtype=np.float32)
    for column, name in enumerate(CONTACT_NAMES):
        prop = f"contact_{name}"
        rig[prop] = float(contacts[0, column])
        rig.id_properties_ui(prop).update(min=0.0, max=1.0, description=f"Foot contact: {name.replace('_', ' ')}")
        key_curve(channels, f'["{prop}"]', 0, frames, contacts[:, column], "Contacts")


def add_floor(context: bpy.types.Context, name: str, world_trans: np.ndarray) -> bpy.types.Object:
    """A floor plane at Z = 0 under the whole path (a shadow catcher, so renders over the footage get shadows)."""
    low, high = world_trans[:, :2].min(axis=0) - FLOOR_MARGIN_M, world_trans[:, :2].max(axis=0) + FLOOR_MARGIN_M
    corners = [(low[0], low[1], 0.0), (high[0], low[1], 0.0), (high[0], high[1], 0.0), (low[0], high[1], 0.0)]
    mesh = bpy.data.meshes.new(f"{name} floor")
    mesh.from_pydata(corners, [], [(0, 1, 2, 3)])
    floor = bpy.data.objects.new(f"{name} floor", mesh)
    floor.is_shadow_catcher = True
    context.collection.objects.link(floor)
    return floor


def add_camera(context: bpy.types.Context, intrinsics: np.ndarray, source: str, name: str, video: bool,
               world_from_camera: np.ndarray | None = None) -> bpy.types.Object:
    """A camera with the reconstruction's focal length and the input as background: at the origin looking along
    +Y (the rig's camera space turned upright), or where ``world_from_camera`` (4 x 4, OpenCV camera axes to
    the world) puts it."""
    width, height = round(2 * float(intrinsics[0, 2])), round(2 * float(intrinsics[1, 2]))
    camera_data = bpy.data.cameras.new(f"{name} camera")
    camera_data.sensor_fit = "HORIZONTAL"
    camera_data.sensor_width = SENSOR_WIDTH_MM
    camera_data.lens = float(intrinsics[0, 0]) * SENSOR_WIDTH_MM / width
    camera = bpy.data.objects.new(f"{name} camera", camera_data)
    if world_from_camera is None:
        camera.rotation_euler = (math.pi / 2, 0.0, 0.0)
    else:
        matrix = np.array(world_from_camera, np.float64)
        matrix[:3, :3] = matrix[:3, :3] @ np.diag([1.0, -1.0, -1.0])  # Blender's camera looks down its -Z, +Y up
        camera.matrix_world = Matrix(matrix.tolist())
    context.collection.objects.link(camera)
    scene = context.scene
    scene.render.resolution_x, scene.render.resolution_y = width, height
    scene.camera = camera
    if source and Path(source).is_file():
        _background(camera_data, source, video)
    return camera


def _background(camera_data, source: str, video: bool) -> None:
    try:
        background = camera_data.background_images.new()
        if video:
            background.source = "MOVIE_CLIP"
            background.clip = bpy.data.movieclips.load(source)
        else:
            background.image = bpy.data.images.load(source)
        camera_data.show_background_images = True
    except RuntimeError:
        pass  # a background Blender cannot open is a nicety lost, not an error
