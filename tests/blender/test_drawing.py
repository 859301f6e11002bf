"""Every panel, menu and the preferences draw without error and show what they must.

Headless Blender has no UI layout to draw into, so ``draw()`` runs against a recording stand-in that
checks each property and operator it is asked to show really exists.
"""

from __future__ import annotations

import types

import pytest

pytestmark = pytest.mark.blender
bpy = pytest.importorskip("bpy")


class RecordingLayout:
    def __init__(self, record: list):
        self.record = record
        self.enabled = True
        self.scale_y = 1.0

    def row(self, **_kwargs):
        return RecordingLayout(self.record)

    column = box = row

    def prop(self, data, name, **_kwargs):
        assert name in data.bl_rna.properties, f"no property {name!r} on {data}"
        self.record.append(("prop", name))

    def operator(self, idname, text="", **_kwargs):
        module, name = idname.split(".")
        assert getattr(getattr(bpy.ops, module), name).get_rna_type(), idname
        self.record.append(("operator", idname, text, self.enabled))
        return types.SimpleNamespace(name="")

    def menu(self, name, text="", **_kwargs):
        assert hasattr(bpy.types, name), name
        self.record.append(("menu", name, text))

    def label(self, text="", **_kwargs):
        self.record.append(("label", text))

    def progress(self, factor=0.0, type="BAR", text=""):
        assert 0.0 <= factor <= 1.0
        self.record.append(("progress", text))


def draw(cls, context, owner=None) -> list:
    record: list = []
    target = owner if owner is not None else types.SimpleNamespace()
    target.layout = RecordingLayout(record)
    cls.draw(target, context)
    return record


def test_sidebar_panels_show_inputs_choices_buttons_and_export(addon):
    context = bpy.context
    record = draw(bpy.types.POCKETMOCAP_PT_input, context)
    assert ("prop", "input_kind") in record and ("operator", "pocket_mocap.check_input", "", True) in record
    panel = addon.panels.sidebar.POCKETMOCAP_PT_reconstruct
    owner = types.SimpleNamespace(_draw_choice=panel._draw_choice)
    record = draw(panel, context, owner)
    assert ("menu", "POCKETMOCAP_MT_estimators", "Keypoint-guided (default)") in record
    assert any(r[:2] == ("operator", "pocket_mocap.reconstruct") for r in record)
    assert any(r[:2] == ("operator", "pocket_mocap.cancel_job") for r in record)
    assert ("prop", "fov") in record and ("prop", "smoothing") in record
    record = draw(bpy.types.POCKETMOCAP_PT_export, context)
    assert ("prop", "export_preset") in record
    assert [r[1] for r in record if r[0] == "operator"] == ["pocket_mocap.export_fbx", "pocket_mocap.export_motion"]
    record = draw(bpy.types.POCKETMOCAP_PT_body, context)
    assert [r[1] for r in record if r[0] == "operator"] == ["pocket_mocap.add_body", "pocket_mocap.import_motion"]
    assert ("prop", "betas") in record and ("prop", "gender") in record


def test_menus_grey_out_what_cannot_run_and_say_why(addon):
    record = draw(bpy.types.POCKETMOCAP_MT_estimators, bpy.context)
    entries = {r[2]: r[3] for r in record if r[0] == "operator"}
    assert entries == {"Keypoint-guided (default)": True, "EfficientHuman (lightweight)": False,
                       "BinaryHPE (1-bit, whole body)": False}
    assert sum(1 for r in record if r[0] == "label" and "no trained weights" in r[1]) == 2
    record = draw(bpy.types.POCKETMOCAP_MT_body_models, bpy.context)
    assert [r[2] for r in record if r[0] == "operator"] == ["Open body (default)", "SMPL", "SMPL-X"]


def test_progress_bar_shows_while_a_job_runs(addon):
    status = bpy.context.window_manager.pocket_mocap_job
    status.running, status.progress, status.text = True, 0.25, "Frame 10/40 · 20.0 fps · 2 s left"
    try:
        panel = addon.panels.sidebar.POCKETMOCAP_PT_reconstruct
        record = draw(panel, bpy.context, types.SimpleNamespace(_draw_choice=panel._draw_choice))
        assert ("progress", "Frame 10/40 · 20.0 fps · 2 s left") in record
    finally:
        status.running = False


def test_preferences_draw_paths_and_their_status(addon):
    prefs = bpy.context.preferences.addons[addon.__name__].preferences
    prefs.smplx_status = "OK: SMPL-X, 10475 vertices"
    record = draw(type(prefs), bpy.context, prefs)
    assert [r[1] for r in record if r[0] == "prop"] == ["smpl_path", "smplx_path", "efficienthuman_weights",
                                                         "binaryhpe_weights", "worker_threads", "cache_dir"]
    assert ("label", "OK: SMPL-X, 10475 vertices") in record
    prefs.smplx_status = ""
