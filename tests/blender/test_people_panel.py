"""Several people in real Blender, from the panel: the list of people found, the choice, one rig each in its own
colour, one camera (skipped without ../shared/media)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SHARED_MEDIA, run_reconstruct
from support.people import SIX, tiled_photo

pytestmark = [pytest.mark.blender,
              pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="../shared/media is absent: no real people")]
bpy = pytest.importorskip("bpy")
TWO_PEOPLE = SHARED_MEDIA / "videos" / "v05_two_people_multi__mmhuman3d_multi_person_demo.mp4"


@pytest.fixture(autouse=True)
def empty_scene(addon):
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj)
    settings = bpy.context.scene.pocket_mocap
    settings.body_model, settings.estimator, settings.hands_and_face = "open", "keypoints", False
    yield
    bpy.context.scene.pocket_mocap.hands_and_face = True  # fetched again: an undo replaces the scene's data


def rigs() -> list:
    return sorted((o for o in bpy.data.objects if o.type == "ARMATURE"), key=lambda o: o.name)


def test_two_people_are_listed_then_built_as_chosen(addon):
    status = run_reconstruct(addon, "VIDEO", TWO_PEOPLE)
    assert status.message_level != "ERROR" and "Found 2 people" in status.message, status.message
    assert rigs() == [], "nothing is built before the artist chooses"
    people = bpy.context.scene.pocket_mocap.people
    assert [(p.label, p.frames_seen, p.frames, p.first_frame) for p in people] == [
        ("Person 1", 40, 40, 1), ("Person 2", 40, 40, 1)]
    people[1].build = False
    assert bpy.ops.pocket_mocap.build_people() == {"FINISHED"}
    assert [r.name for r in rigs()] == ["Person 1"]
    assert len([o for o in bpy.data.objects if o.type == "CAMERA"]) == 1

    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj)
    people[1].build = True
    bpy.ops.ed.undo_push(message="before")  # background Blender starts its undo system only when asked
    assert bpy.ops.pocket_mocap.build_people() == {"FINISHED"}
    first, second = rigs()
    assert (first.name, second.name) == ("Person 1", "Person 2")
    assert first["pocket_mocap_person"] == 1 and second["pocket_mocap_person"] == 2
    cameras = [o for o in bpy.data.objects if o.type == "CAMERA"]
    assert len(cameras) == 1 and bpy.context.scene.camera == cameras[0], "one camera for everyone"
    meshes = [next(c for c in rig.children if c.type == "MESH") for rig in (first, second)]
    colours = [tuple(mesh.color) for mesh in meshes]
    assert np.abs(np.subtract(*colours)).max() > 0.2, "distinct colours"
    assert [tuple(mesh.active_material.diffuse_color) for mesh in meshes] == colours
    scene = bpy.context.scene
    assert (scene.frame_start, scene.frame_end) == (1, 40)
    from bpy_extras.object_utils import world_to_camera_view

    for frame in (1, 20, 40):
        scene.frame_set(frame)
        seen = [world_to_camera_view(scene, cameras[0], rig.matrix_world @ rig.pose.bones["pelvis"].head)
                for rig in (first, second)]
        assert seen[0].x < seen[1].x - 0.1, "in the camera's view person 1 stays on the left, person 2 on the right"
        assert all(0 < point.x < 1 and 0 < point.y < 1 for point in seen), "both in the picture"
    assert bpy.ops.ed.undo() == {"FINISHED"}
    assert rigs() == [] and not [o for o in bpy.data.objects if o.type == "CAMERA"], "one undo step takes all back"


def test_tick_all_and_none(addon):
    run_reconstruct(addon, "VIDEO", TWO_PEOPLE)
    assert bpy.ops.pocket_mocap.tick_people(build=False) == {"FINISHED"}
    assert not bpy.ops.pocket_mocap.build_people.poll()
    assert bpy.ops.pocket_mocap.tick_people(build=True) == {"FINISHED"}
    assert all(p.build for p in bpy.context.scene.pocket_mocap.people)
    assert bpy.ops.pocket_mocap.build_people.poll()


def test_a_photo_of_six_people_becomes_six_rigs(addon, tmp_path):
    photo = tiled_photo(tmp_path / "six people.png", list(SIX), columns=3, cell=400)
    status = run_reconstruct(addon, "PHOTO", photo)
    assert status.message_level != "ERROR" and "Found 6 people" in status.message, status.message
    assert bpy.ops.pocket_mocap.build_people() == {"FINISHED"}
    built = rigs()
    assert [r.name for r in built] == [f"Person {n}" for n in range(1, 7)]
    colours = {tuple(round(c, 3) for c in next(c for c in r.children if c.type == "MESH").color) for r in built}
    assert len(colours) == 6
    assert all(r.animation_data is None or r.animation_data.action is None for r in built), "poses, not motions"
    assert len([o for o in bpy.data.objects if o.type == "CAMERA"]) == 1


def test_a_person_is_hidden_where_they_were_not_seen(addon):
    """Keyed visibility from ``presence``: person 2 arrives at frame 4 and is away for frames 7-8."""
    from pocket_mocap.core.bodymodel.library import load_body

    model = load_body("open", "smpl", "", "neutral")
    frames, joints = 10, len(model.parents)
    presence = np.ones((2, frames), bool)
    presence[1, :3] = presence[1, 6:8] = False
    trans = np.zeros((2, frames, 3))
    trans[..., 2], trans[1, :, 0] = 3.0, 0.8
    result = {"poses": np.zeros((2, frames, joints * 3), np.float32), "trans": trans.astype(np.float32),
              "betas": np.zeros((2, 10), np.float32), "confidence": presence.astype(np.float32),
              "person_box": np.zeros((2, frames, 4), np.float32), "joints": np.zeros((2, frames, 24, 3), np.float32),
              "joints_2d": np.zeros((2, frames, 24, 2), np.float32), "presence": presence,
              "track_id": np.array([1, 2]), "mocap_framerate": np.float64(12.0),
              "camera_intrinsics": np.array([[1000.0, 0, 320], [0, 1000.0, 240], [0, 0, 1]], np.float32),
              "surface_model_type": np.str_("smpl"), "source": np.str_(""),
              "person_keys": np.array(["poses", "trans", "betas", "confidence", "person_box", "joints", "joints_2d",
                                       "presence"])}
    first, second = addon.scene.people.add_people(bpy.context, result, model, [1, 2], with_camera=False)
    meshes = [next(c for c in rig.children if c.type == "MESH") for rig in (first, second)]
    scene = bpy.context.scene
    seen = []
    for frame in range(1, frames + 1):
        scene.frame_set(frame)
        seen.append([not mesh.hide_viewport and not mesh.hide_render for mesh in meshes])
    assert [s[0] for s in seen] == [True] * frames, "person 1 is always there: no keys needed"
    assert [s[1] for s in seen] == presence[1].tolist()


def test_a_result_gone_from_the_cache_is_one_sentence_and_builds_nothing(addon, tmp_path):
    settings = bpy.context.scene.pocket_mocap
    settings.people.clear()
    entry = settings.people.add()
    entry.label, entry.number, entry.result, entry.input = "Person 1", 1, str(tmp_path / "gone.npz"), "clip.mp4"
    with pytest.raises(RuntimeError, match="no longer in the cache: reconstruct it again"):
        bpy.ops.pocket_mocap.build_people()
    assert rigs() == []
