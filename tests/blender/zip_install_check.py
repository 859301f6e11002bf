"""Install a built zip into a fresh headless Blender and report, as JSON on the last line, what
registered and what the diagnostic job said. Run by test_zip_install.py in its own process, so the
installed copy cannot mix with the source tree the other tests enable.

    python zip_install_check.py ZIP VIDEO

VIDEO is written after the install, with whatever OpenCV the process then imports: in an environment
without one, that is the wheel the zip bundles.
"""

import json
import os
import sys
import tempfile
import time


def write_video(path: str, frames: int = 12) -> None:
    import cv2
    import numpy as np

    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 24, (64, 48))
    for index in range(frames):
        writer.write(np.full((48, 64, 3), index, np.uint8))
    writer.release()


def main(zip_path: str, video: str) -> dict:
    os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="pocket_mocap_zipcheck_")
    import importlib

    import bpy

    started = time.monotonic()
    result = bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default",
                                                      enable_on_install=True)
    install_s = time.monotonic() - started
    module = "bl_ext.user_default.pocket_mocap"
    addon = importlib.import_module(module)
    report = {
        "install": sorted(result), "install_s": round(install_s, 2), "blender": bpy.app.version_string,
        "enabled": module in bpy.context.preferences.addons,
        "classes": sorted(c.__name__ for c in addon.operators.CLASSES + addon.panels.CLASSES if c.is_registered),
        "expected_classes": sorted(c.__name__ for c in addon.operators.CLASSES + addon.panels.CLASSES),
        "cv2_from": importlib.util.find_spec("cv2").origin,
        "extension_dir": os.path.dirname(addon.__file__),
    }
    write_video(video)
    settings = bpy.context.scene.pocket_mocap
    settings.input_kind, settings.video_path = "VIDEO", video
    bpy.ops.pocket_mocap.check_input()
    deadline = time.monotonic() + 60
    while (interval := addon.operators.jobs.poll_active_job(bpy.context)) is not None:
        if time.monotonic() > deadline:
            addon.operators.jobs.cancel_active_job(bpy.context)
        time.sleep(interval)
    status = bpy.context.window_manager.pocket_mocap_job
    report["probe_message"], report["probe_level"] = status.message, status.message_level
    bpy.ops.preferences.addon_disable(module=module)
    report["disabled"] = not any(c.is_registered for c in addon.operators.CLASSES + addon.panels.CLASSES)
    return report


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
