"""Reconstruct from the panel, in real Blender, on real media (skipped without ../shared/media)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import SHARED_MEDIA, run_reconstruct

pytestmark = [pytest.mark.blender,
              pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="../shared/media is absent: no real people")]
bpy = pytest.importorskip("bpy")
PHOTO = SHARED_MEDIA / "images" / "single" / "s03_yoga_treepose__tfexamples_image3.jpeg"
VIDEO = SHARED_MEDIA / "videos" / "v02_basketball_dribble__mmhuman3d_single_person_demo.mp4"


@pytest.fixture(autouse=True)
def empty_scene(addon):
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj)
    settings = bpy.context.scene.pocket_mocap
    settings.body_model, settings.estimator = "open", "keypoints"


def test_photo_becomes_a_posed_rig_with_its_camera(addon):
    status = run_reconstruct(addon, "PHOTO", PHOTO)
    assert status.message_level == "INFO", status.message
    rigs = [o for o in bpy.data.objects if o.type == "ARMATURE"]
    assert len(rigs) == 1 and len(rigs[0].data.bones) == 55
    rig = rigs[0]
    assert rig.animation_data is None or rig.animation_data.action is None, "a photo is a pose, not a motion"
    knees = [rig.pose.bones[f"{side}_knee"].rotation_quaternion.angle for side in ("left", "right")]
    assert max(knees) > 1.0, "the tree pose bends one knee (her right) sharply"
    camera = bpy.context.scene.camera
    assert camera is not None and camera.data.background_images[0].image is not None
    assert (bpy.context.scene.render.resolution_x, bpy.context.scene.render.resolution_y) == (426, 640)


def test_video_becomes_an_animated_rig_at_the_video_frame_rate(addon):
    status = run_reconstruct(addon, "VIDEO", VIDEO)
    assert status.message_level == "WARNING" and "The camera moves" in status.message, status.message  # a phone pans
    scene = bpy.context.scene
    assert (scene.frame_start, scene.frame_end) == (1, 40)
    assert scene.render.fps / scene.render.fps_base == pytest.approx(12.0)
    rig = next(o for o in bpy.data.objects if o.type == "ARMATURE")
    heights = []
    for frame in (1, 20, 40):
        scene.frame_set(frame)
        heights.append(np.array(rig.matrix_world @ rig.pose.bones["left_wrist"].head))
    assert np.ptp(np.array(heights), axis=0).max() > 0.05, "the dribbling arm moves"


def test_stop_and_keep_brings_the_frames_done_into_the_scene(addon):
    video = SHARED_MEDIA / "videos" / "v01_taiji__hybrik.mp4"
    settings = bpy.context.scene.pocket_mocap
    settings.input_kind, settings.video_path = "VIDEO", str(video)
    settings.hands_and_face = False
    try:
        bpy.ops.pocket_mocap.reconstruct()
        job = addon.operators.jobs.active_job()
        deadline = time.monotonic() + 120
        while job.progress.frame < 60 and time.monotonic() < deadline:
            addon.operators.jobs.poll_active_job(bpy.context)
            time.sleep(0.05)
        started = time.monotonic()
        bpy.ops.pocket_mocap.cancel_job(keep_frames=True)
        assert time.monotonic() - started <= 3.0  # the worker stops within 1 s; the rig is built after
    finally:
        settings.hands_and_face = True
    status = bpy.context.window_manager.pocket_mocap_job
    assert "Cancelled after" in status.message and "Reconstructed" in status.message, status.message
    frames = bpy.context.scene.frame_end
    assert 48 <= frames < 412, "at least the first chunk (two seconds) is kept, and not the whole clip"
    assert next(o for o in bpy.data.objects if o.type == "ARMATURE").animation_data.action is not None
