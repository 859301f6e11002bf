"""Reconstruct with BinaryHPE from the panel, with smoke-trained weights set in the preferences: an SMPL-X rig
with finger bones and the open body's ARKit face keys, keyed from the network's expression."""

from __future__ import annotations

import time

import pytest
from conftest import SHARED_MEDIA

pytestmark = [pytest.mark.blender,
              pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="../shared/media is absent: no real people")]
bpy = pytest.importorskip("bpy")
pytest.importorskip("torch")  # to train the smoke weights


def test_panel_reconstructs_a_photo_with_binaryhpe(addon, binaryhpe_smoke):
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj)
    prefs = bpy.context.preferences.addons[addon.__name__].preferences
    settings = bpy.context.scene.pocket_mocap
    with pytest.raises(RuntimeError, match="no trained weights"):
        bpy.ops.pocket_mocap.choose_estimator(name="binaryhpe")
    prefs.binaryhpe_weights = str(binaryhpe_smoke["weights"])
    try:
        assert bpy.ops.pocket_mocap.choose_estimator(name="binaryhpe") == {"FINISHED"}
        settings.input_kind = "PHOTO"
        settings.photo_path = str(SHARED_MEDIA / "images" / "single" / "s03_yoga_treepose__tfexamples_image3.jpeg")
        bpy.ops.pocket_mocap.reconstruct()
        deadline = time.monotonic() + 180
        while (interval := addon.operators.jobs.poll_active_job(bpy.context)) is not None:
            assert time.monotonic() < deadline
            time.sleep(interval)
        status = bpy.context.window_manager.pocket_mocap_job
        assert status.message_level == "INFO", status.message
        rig = next(o for o in bpy.data.objects if o.type == "ARMATURE")
        assert len(rig.data.bones) == 55 and "left_index1" in rig.data.bones and "jaw" in rig.data.bones
        body = next(o for o in bpy.data.objects if o.type == "MESH" and o.parent == rig)
        keys = body.data.shape_keys.key_blocks
        assert "jawOpen" in keys and any(key.value != 0 for key in keys if key.name != "Basis")
    finally:
        settings.estimator = "keypoints"
        prefs.binaryhpe_weights = ""
