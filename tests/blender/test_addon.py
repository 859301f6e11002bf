"""The add-on inside real Blender (bpy): registration, jobs through poll(), cancel, crashes,
preferences, choices and FBX export."""

from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import write_test_photo, write_test_video

pytestmark = pytest.mark.blender
bpy = pytest.importorskip("bpy")

PANELS = ("POCKETMOCAP_PT_input", "POCKETMOCAP_PT_reconstruct", "POCKETMOCAP_PT_export",
          "POCKETMOCAP_MT_estimators", "POCKETMOCAP_MT_body_models")
OPERATORS = ("reconstruct", "check_input", "cancel_job", "watch_job", "choose_estimator", "choose_body_model",
             "export_fbx")


@pytest.fixture
def video(addon, media_dir):
    return write_test_video(media_dir / "clip é.avi", frames=40, fps=24.0)


@pytest.fixture
def status(addon):
    return bpy.context.window_manager.pocket_mocap_job


def poll_until_done(addon, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while (interval := addon.operators.jobs.poll_active_job(bpy.context)) is not None:
        assert time.monotonic() < deadline, "job did not finish"
        time.sleep(interval)


def start_slow_job(addon, video, **extra) -> object:
    request = {"kind": "probe", "inputs": [str(video)], "simulate_work_s": 0.05, **extra}
    job = addon.operators.jobs.start_job(bpy.context, request)
    deadline = time.monotonic() + 30
    while job.progress.frame < 2 and time.monotonic() < deadline:
        addon.operators.jobs.poll_active_job(bpy.context)
        time.sleep(0.02)
    return job


def test_every_panel_operator_and_preference_registers(addon):
    for name in PANELS:
        assert hasattr(bpy.types, name), name
    for name in OPERATORS:
        assert getattr(bpy.ops.pocket_mocap, name).get_rna_type() is not None, name
    prefs = bpy.context.preferences.addons[addon.__name__].preferences
    for prop in ("smpl_path", "smplx_path", "worker_threads", "cache_dir"):
        assert prop in prefs.bl_rna.properties, prop
    assert bpy.context.scene.pocket_mocap.estimator == "keypoints"


def test_disable_and_enable_again(addon):
    bpy.ops.preferences.addon_disable(module=addon.__name__)
    assert not hasattr(bpy.types, "POCKETMOCAP_PT_input")
    assert not hasattr(bpy.types.Scene, "pocket_mocap")
    bpy.ops.preferences.addon_enable(module=addon.__name__)
    assert hasattr(bpy.types, "POCKETMOCAP_PT_input")


def test_check_input_runs_the_diagnostic_job_through_poll(addon, video, status):
    settings = bpy.context.scene.pocket_mocap
    settings.input_kind, settings.video_path = "VIDEO", str(video)
    objects_before = len(bpy.data.objects)
    assert bpy.ops.pocket_mocap.check_input() == {"FINISHED"}
    assert status.running
    assert not bpy.ops.pocket_mocap.check_input.poll(), "a second job must wait"
    poll_until_done(addon)
    assert not status.running
    assert status.message_level == "INFO"
    assert "40 frames at 24.00 fps, 64×48" in status.message
    assert len(bpy.data.objects) == objects_before


def test_check_input_on_a_photo(addon, media_dir, status):
    photo = write_test_photo(media_dir / "photo ü.png", size=(40, 30))
    settings = bpy.context.scene.pocket_mocap
    settings.input_kind, settings.photo_path = "PHOTO", str(photo)
    bpy.ops.pocket_mocap.check_input()
    poll_until_done(addon)
    assert "photo 40×30" in status.message


def test_esc_cancels_within_one_second_and_blender_stays_responsive(addon, video, status):
    job = start_slow_job(addon, video)
    started = time.monotonic()
    assert addon.operators.run.handle_watch_event(bpy.context, "ESC", "PRESS") == {"CANCELLED"}
    assert time.monotonic() - started <= 1.0
    assert job._process.poll() is not None
    assert status.message_level == "WARNING" and status.message.startswith("Cancelled after")
    assert addon.operators.jobs.active_job() is None
    assert bpy.ops.mesh.primitive_cube_add() == {"FINISHED"}


def test_cancel_button_ends_the_worker(addon, video, status):
    job = start_slow_job(addon, video)
    assert bpy.ops.pocket_mocap.cancel_job.poll()
    started = time.monotonic()
    bpy.ops.pocket_mocap.cancel_job()
    assert time.monotonic() - started <= 1.0
    assert job._process.poll() is not None
    assert not bpy.ops.pocket_mocap.cancel_job.poll()


def test_watch_event_passes_through_while_running(addon, video):
    start_slow_job(addon, video)
    assert addon.operators.run.handle_watch_event(bpy.context, "MOUSEMOVE", "NOTHING") == {"PASS_THROUGH"}
    addon.operators.jobs.cancel_active_job(bpy.context)
    assert addon.operators.run.handle_watch_event(bpy.context, "TIMER", "NOTHING") == {"FINISHED"}


@pytest.mark.parametrize("how", ["raises", "killed"])
def test_worker_crash_is_reported_and_scene_untouched(addon, video, status, how):
    objects_before = sorted(o.name for o in bpy.data.objects)
    if how == "raises":
        addon.operators.jobs.start_job(bpy.context, {"kind": "probe", "inputs": [str(video)],
                                                     "fail_after_frames": 3})
        expected = "internal error stopped the job while it worked on"
    else:
        start_slow_job(addon, video)._process.kill()
        expected = "stopped unexpectedly"
    poll_until_done(addon, timeout=20)
    assert status.message_level == "ERROR" and expected in status.message
    assert "Traceback" not in status.message
    assert sorted(o.name for o in bpy.data.objects) == objects_before
    assert bpy.ops.pocket_mocap.check_input.poll(), "a new job can start after a crash"


def test_reconstruct_explains_why_it_cannot_run(addon, media_dir):
    settings = bpy.context.scene.pocket_mocap
    settings.input_kind, settings.photo_path = "PHOTO", ""
    with pytest.raises(RuntimeError, match="Pick a photo first"):
        bpy.ops.pocket_mocap.reconstruct()
    settings.photo_path = str(write_test_photo(media_dir / "p.png"))
    settings.estimator = "efficienthuman"  # as a file saved by a build that had its weights would say
    try:
        with pytest.raises(RuntimeError, match="no trained weights"):
            bpy.ops.pocket_mocap.reconstruct()
    finally:
        settings.estimator = "keypoints"


def test_unavailable_choices_are_refused_with_the_reason(addon):
    with pytest.raises(RuntimeError, match="no trained weights"):
        bpy.ops.pocket_mocap.choose_estimator(name="efficienthuman")
    with pytest.raises(RuntimeError, match="There is no estimator"):
        bpy.ops.pocket_mocap.choose_estimator(name="nonsense")
    assert bpy.context.scene.pocket_mocap.estimator == "keypoints"


def write_fake_model(path, vertices: int) -> None:
    np.savez(path, v_template=np.zeros((vertices, 3)), shapedirs=np.zeros((vertices, 3, 10)),
             J_regressor=np.zeros((24, vertices)), weights=np.zeros((vertices, 24)),
             kintree_table=np.zeros((2, 24), np.int64), f=np.zeros((10, 3), np.int64))


def test_preferences_check_model_files_as_they_are_set(addon, tmp_path):
    prefs = bpy.context.preferences.addons[addon.__name__].preferences
    wrong, right = tmp_path / "wrong.npz", tmp_path / "SMPL_NEUTRAL.npz"
    write_fake_model(wrong, 10475)
    write_fake_model(right, 6890)
    try:
        prefs.smpl_path = str(wrong)
        assert "10475 vertices, so it is SMPL-X" in prefs.smpl_status
        prefs.smpl_path = str(tmp_path / "missing.pkl")
        assert "does not exist" in prefs.smpl_status
        prefs.smpl_path = str(right)
        assert prefs.smpl_status.startswith("OK")
        assert bpy.ops.pocket_mocap.choose_body_model(name="smpl") == {"FINISHED"}
        assert bpy.context.scene.pocket_mocap.body_model == "smpl"
    finally:
        prefs.smpl_path = ""
        bpy.context.scene.pocket_mocap.body_model = "open"


def make_rig() -> tuple:
    armature = bpy.data.armatures.new("rig")
    rig = bpy.data.objects.new("rig", armature)
    bpy.context.collection.objects.link(rig)
    bpy.context.view_layer.objects.active = rig
    bpy.ops.object.mode_set(mode="EDIT")
    root = armature.edit_bones.new("pelvis")
    root.head, root.tail = (0, 0, 0), (0, 0, 0.2)
    child = armature.edit_bones.new("spine1")
    child.head, child.tail, child.parent = (0, 0, 0.2), (0, 0, 0.4), root
    bpy.ops.object.mode_set(mode="OBJECT")
    mesh = bpy.data.meshes.new("body")
    mesh.from_pydata([(0.1, 0, 0), (-0.1, 0, 0), (0, 0.1, 0.3)], [], [(0, 1, 2)])
    body = bpy.data.objects.new("body", mesh)
    bpy.context.collection.objects.link(body)
    body.parent = rig
    body.modifiers.new("Armature", "ARMATURE").object = rig
    for name in ("pelvis", "spine1"):
        body.vertex_groups.new(name=name).add([0, 1, 2], 0.5, "REPLACE")
    body.shape_key_add(name="Basis")
    body.shape_key_add(name="Shape000").data[2].co.z += 0.05
    return rig, body


def test_export_fbx_writes_rig_with_shape_keys(addon, tmp_path):
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj)
    rig, body = make_rig()
    bpy.context.view_layer.objects.active = body
    assert bpy.ops.pocket_mocap.export_fbx.poll(), "a mesh deformed by a rig can be exported"
    path = tmp_path / "rig é.fbx"
    assert bpy.ops.pocket_mocap.export_fbx(filepath=str(path), preset="UNITY") == {"FINISHED"}
    assert path.stat().st_size > 1000
    bpy.data.objects.remove(body)
    bpy.data.objects.remove(rig)
    bpy.ops.import_scene.fbx(filepath=str(path), anim_offset=0)
    imported = {o.type: o for o in bpy.data.objects}
    assert sorted(b.name for b in imported["ARMATURE"].data.bones) == ["pelvis", "spine1"]
    keys = imported["MESH"].data.shape_keys.key_blocks
    assert [k.name for k in keys] == ["Basis", "Shape000"]


def test_export_needs_a_rig(addon):
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj)
    assert not bpy.ops.pocket_mocap.export_fbx.poll()


def test_a_failing_finish_is_reported_not_raised(addon, video, status, monkeypatch):
    jobs = addon.operators.jobs

    def broken(context, job):
        raise addon.core.errors.PocketMocapError("the body-model file was removed")

    monkeypatch.setitem(jobs._finish_handlers, "probe", broken)
    jobs.start_job(bpy.context, {"kind": "probe", "inputs": [str(video)]})
    poll_until_done(addon)
    assert status.message_level == "ERROR"
    assert "could not be brought into the scene: the body-model file was removed" in status.message
