"""Bring a reconstruction result into the scene: a rig posed (photo) or animated (video) in camera
space, and optionally the camera that saw it, with the photo or video as its background."""

from __future__ import annotations

import math
from pathlib import Path

import bpy
import numpy as np

from ..core.bodymodel.model import BodyModel
from .animation import bake_animation
from .rig import PROPERTY, RigOptions, build_rig, pose_rig

SENSOR_WIDTH_MM = 36.0


def load_result(path: str | Path) -> dict:
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def add_reconstruction(context: bpy.types.Context, result: dict, model: BodyModel, name: str,
                       with_camera: bool = True, first_frame: int = 1) -> bpy.types.Object:
    """A rig for ``result`` (the worker's .npz as a dict); returns the armature."""
    # The fitted betas live in the chosen model's own shape space, so they apply to it whatever it is.
    poses, trans, expression = result["poses"], result["trans"], result.get("expression")
    single = len(poses) == 1
    rig = build_rig(context, model, result["betas"], expression=expression[0] if single and expression is not None
                    else None, name=name, options=RigOptions(up_axis="-Y"))
    if single:
        pose_rig(rig, poses[0], trans[0])
    else:
        bake_animation(context.scene, rig, poses, trans, float(result["mocap_framerate"]), expression=expression,
                       start=first_frame)
    rig[PROPERTY]["source"] = str(result.get("source", ""))
    rig[PROPERTY]["mean_confidence"] = float(np.mean(result["confidence"]))
    if with_camera:
        add_camera(context, result["camera_intrinsics"], str(result.get("source", "")), name, len(poses) > 1)
    return rig


def add_camera(context: bpy.types.Context, intrinsics: np.ndarray, source: str, name: str, video: bool
               ) -> bpy.types.Object:
    """A camera at the origin looking along +Y (the rig's camera space turned upright), with the
    reconstruction's focal length and the input as background."""
    width, height = round(2 * float(intrinsics[0, 2])), round(2 * float(intrinsics[1, 2]))
    camera_data = bpy.data.cameras.new(f"{name} camera")
    camera_data.sensor_fit = "HORIZONTAL"
    camera_data.sensor_width = SENSOR_WIDTH_MM
    camera_data.lens = float(intrinsics[0, 0]) * SENSOR_WIDTH_MM / width
    camera = bpy.data.objects.new(f"{name} camera", camera_data)
    camera.rotation_euler = (math.pi / 2, 0.0, 0.0)
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
