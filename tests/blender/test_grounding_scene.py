"""A grounded video in real Blender: the rig stands on a floor at Z = 0 where its feet are in contact, the camera
stands where the floor says so the footage still lines up (projected and rendered), and the FBX keeps the feet
(skipped without ../shared/media)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SHARED_MEDIA, run_reconstruct

pytestmark = [pytest.mark.blender,
              pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="../shared/media is absent: no real people")]
bpy = pytest.importorskip("bpy")
TAIJI = SHARED_MEDIA / "videos" / "v01_taiji__hybrik.mp4"  # a static camera
CONTACTS = ("left_heel", "left_toe", "right_heel", "right_toe")
FEET = ("left_ankle", "right_ankle", "left_foot", "right_foot")


@pytest.fixture(scope="module")
def grounded(addon, tmp_path_factory):
    """Reconstruct the taiji clip from the panel once (body only) and keep the scene's objects and the result."""
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj)
    settings = bpy.context.scene.pocket_mocap
    settings.body_model, settings.estimator, settings.hands_and_face, settings.add_camera = "open", "keypoints", \
        False, True
    prefs = addon.operators.settings.preferences(bpy.context)
    cache, prefs.cache_dir = prefs.cache_dir, str(tmp_path_factory.mktemp("grounding_cache"))  # a result of its own
    try:
        status = run_reconstruct(addon, "VIDEO", TAIJI, timeout=600)
        path = next(addon.operators.jobs.cache_root(bpy.context).glob("results/*/result.npz"))
    finally:
        settings.hands_and_face, prefs.cache_dir = True, cache
    assert status.message_level in ("INFO", "WARNING") and "Reconstructed" in status.message, status.message
    assert "camera moves" not in status.message, "the taiji camera stands still"
    with np.load(path) as data:
        result = {key: data[key] for key in data.files}
    rig = next(o for o in bpy.data.objects if o.type == "ARMATURE")
    floor = next(o for o in bpy.data.objects if o.name.endswith("floor"))
    return {"rig": rig, "floor": floor, "camera": bpy.context.scene.camera, "result": result,
            "tmp": tmp_path_factory.mktemp("grounding")}


def _feet(addon, rig):
    """World positions ``(4, 3)`` of the heel and toe vertices of the rig's evaluated mesh, and their soles."""
    body = addon.scene.rig.rig_mesh(rig)
    model = addon.core.bodymodel.library.load_body("open", rig["pocket_mocap"]["family"], "", "neutral")
    found = addon.core.estimators.keypoints.landmarks.surface_vertices(model.v_template, model.weights,
                                                                      model.joint_names, model.rest_joints())
    ids = [found[name] for name in ("left_heel", "left_foot_index", "right_heel", "right_foot_index")]
    skeleton = addon.core.grounding.skeleton.FootSkeleton.of(model, np.asarray(rig["pocket_mocap"]["betas"]))
    vertices = addon.scene.rig.evaluated_vertices(bpy.context, body)[ids]
    matrix = np.array(body.matrix_world)
    return vertices @ matrix[:3, :3].T + matrix[:3, 3], skeleton.sole


def test_the_floor_is_at_zero_and_planted_feet_touch_it(addon, grounded):
    rig, floor, scene = grounded["rig"], grounded["floor"], bpy.context.scene
    corners = np.array([tuple(floor.matrix_world @ v.co) for v in floor.data.vertices])
    assert np.abs(corners[:, 2]).max() < 1e-6
    assert all(f"contact_{name}" in rig.keys() for name in CONTACTS)
    contacts = grounded["result"]["contacts"]
    assert contacts.shape == (scene.frame_end - scene.frame_start + 1, 4)
    gaps = []
    for frame in np.flatnonzero(contacts.max(axis=1) >= 0.5)[::20]:
        scene.frame_set(int(frame) + scene.frame_start)
        keyed = np.array([rig[f"contact_{name}"] for name in CONTACTS])
        assert np.allclose(keyed, contacts[frame], atol=1e-4), "the contacts are keyed on the rig"
        points, sole = _feet(addon, rig)
        for heel, toe in ((0, 1), (2, 3)):
            if max(contacts[frame, heel], contacts[frame, toe]) >= 0.5:
                gaps.append(min(points[heel, 2] - sole[heel], points[toe, 2] - sole[toe]))
    assert len(gaps) >= 10
    assert np.mean(np.abs(gaps) < 0.02) >= 0.95, np.round(gaps, 3)


def test_the_camera_still_sees_the_person_where_the_video_shows_them(addon, grounded):
    from bpy_extras.object_utils import world_to_camera_view

    rig, camera, result, scene = grounded["rig"], grounded["camera"], grounded["result"], bpy.context.scene
    width, height = scene.render.resolution_x, scene.render.resolution_y
    assert camera.matrix_world.translation.z == pytest.approx(float(result["camera_height"]), abs=1e-4)
    errors = []
    for frame in (0, 100, 200, 300):
        scene.frame_set(frame + scene.frame_start)
        for joint, name in ((0, "pelvis"), (7, "left_ankle"), (8, "right_ankle"), (15, "head")):
            seen = world_to_camera_view(scene, camera, rig.matrix_world @ rig.pose.bones[name].head)
            pixel = np.array([seen.x * width, (1 - seen.y) * height])
            errors.append(np.linalg.norm(pixel - result["joints_2d"][frame, joint]))
    assert max(errors) < 2.0, np.round(errors, 2)


def test_a_rendered_frame_lines_up_with_the_projected_body(addon, grounded, tmp_path):
    result, scene = grounded["result"], bpy.context.scene
    frame = 150
    scene.frame_set(frame + scene.frame_start)
    render = scene.render
    saved = (render.engine, render.resolution_percentage, render.film_transparent, render.filepath)
    grounded["floor"].hide_render = True
    try:
        render.engine, render.resolution_percentage, render.film_transparent = "CYCLES", 10, True
        scene.cycles.samples, scene.cycles.device = 1, "CPU"
        render.filepath = str(tmp_path / "frame.png")
        bpy.ops.render.render(write_still=True)
        image = bpy.data.images.load(render.filepath)
        pixels = np.array(image.pixels[:], np.float32).reshape(image.size[1], image.size[0], 4)[::-1]
    finally:
        render.engine, render.resolution_percentage, render.film_transparent, render.filepath = saved
        grounded["floor"].hide_render = False
    body = pixels[..., 3] > 0.5
    assert body.any(), "the body is in the camera's view"
    scale = body.shape[1] / render.resolution_x
    for joint in (0, 12, 15):  # pelvis, neck, head: inside the rendered silhouette
        x, y = np.round(result["joints_2d"][frame, joint] * scale).astype(int)
        assert body[max(0, y - 1): y + 2, max(0, x - 1): x + 2].any(), joint
    rows, columns = np.flatnonzero(body.any(axis=1)), np.flatnonzero(body.any(axis=0))
    projected = result["joints_2d"][frame] * scale
    assert rows[0] - 3 <= projected[15, 1] and projected[[7, 8], 1].max() <= rows[-1] + 3
    assert columns[0] - 3 <= projected[:, 0].min() and projected[:, 0].max() <= columns[-1] + 3


def test_the_fbx_keeps_the_planted_feet(addon, grounded):
    rig, scene = grounded["rig"], bpy.context.scene
    path = grounded["tmp"] / "taiji.fbx"
    addon.scene.fbx.export_rig_fbx(bpy.context, rig, path, "BLENDER")
    before = set(bpy.data.objects)
    bpy.ops.import_scene.fbx(filepath=str(path), anim_offset=0)
    imported = next(o for o in set(bpy.data.objects) - before if o.type == "ARMATURE")
    try:
        contacts = grounded["result"]["contacts"]
        stretch = scene.render.fps_base  # Blender's importer keys 23.976 fps files as if at 24 (the file is right)
        for frame in np.flatnonzero(contacts.max(axis=1) >= 0.5)[::60]:
            scene.frame_set(int(frame) + scene.frame_start)
            original = [np.array(rig.matrix_world @ rig.pose.bones[bone].head) for bone in FEET]
            whole, part = divmod((int(frame) + scene.frame_start) * stretch, 1.0)
            scene.frame_set(int(whole), subframe=part)
            again = [np.array(imported.matrix_world @ imported.pose.bones[bone].head) for bone in FEET]
            assert np.abs(np.array(original) - np.array(again)).max() < 0.01, frame
    finally:
        for obj in set(bpy.data.objects) - before:
            bpy.data.objects.remove(obj)
