"""The main job, end to end, in headless Blender: build the zip, install it, run a job, add an animated
open body, export FBX and save a .blend.

Until the reconstruction pipeline lands, the job is the diagnostic one (decode every frame of a video,
with progress through ``poll()``); it runs on ../shared/media's taiji clip when that folder exists,
else on a clip this script renders. The body is the open default body, waving for two seconds.

    python tools/demo.py --output out
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
SHARED_VIDEO = ROOT.parent / "shared" / "media" / "videos" / "v01_taiji__hybrik.mp4"


def demo_video(folder: Path) -> Path:
    if SHARED_VIDEO.is_file():
        return SHARED_VIDEO
    import cv2
    import numpy as np

    path = folder / "demo clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 24, (320, 240))
    for index in range(96):
        frame = np.zeros((240, 320, 3), np.uint8)
        cv2.circle(frame, (40 + 2 * index, 120), 20, (255, 255, 255), -1)
        writer.write(frame)
    writer.release()
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=ROOT / "out")
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="pocket_mocap_demo_")

    from build_zip import build
    from dev import this_platform

    (zip_path,) = build([this_platform()], output_dir=ROOT / "dist")
    print(f"built {zip_path.name} ({zip_path.stat().st_size / 1e6:.1f} MB)")
    import bpy

    for obj in list(bpy.data.objects):  # Blender's startup cube, camera and light are not part of the demo
        bpy.data.objects.remove(obj)
    bpy.ops.extensions.package_install_files(filepath=str(zip_path), repo="user_default", enable_on_install=True)
    addon = importlib.import_module("bl_ext.user_default.pocket_mocap")
    try:
        return run_job(bpy, addon, demo_video(args.output), args.output)
    finally:
        bpy.ops.preferences.addon_disable(module=addon.__name__)


def run_job(bpy, addon, video: Path, output: Path) -> int:
    settings = bpy.context.scene.pocket_mocap
    settings.input_kind, settings.video_path = "VIDEO", str(video)
    bpy.ops.pocket_mocap.check_input()
    status = bpy.context.window_manager.pocket_mocap_job
    while (interval := addon.operators.jobs.poll_active_job(bpy.context)) is not None:
        print(f"\r{status.text:<60}", end="", flush=True)
        time.sleep(interval)
    print(f"\n{status.message_level}: {status.message}")
    if status.message_level != "INFO":
        return 1
    add_waving_body(bpy, addon)
    fbx = output / "demo.fbx"
    bpy.ops.pocket_mocap.export_fbx(filepath=str(fbx), preset="BLENDER")
    blend = output / "demo.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    print(f"saved {fbx} ({fbx.stat().st_size / 1e6:.1f} MB) and {blend}")
    return 0


def add_waving_body(bpy, addon) -> None:
    """The open body with a procedural wave (arms up and down, elbows bending), keyed at 24 fps."""
    import numpy as np

    bpy.context.scene.pocket_mocap.body_model = "open"
    bpy.ops.pocket_mocap.add_body()
    rig = bpy.context.active_object
    phase = np.linspace(0, 2 * np.pi, 48)
    poses = np.zeros((48, 55, 3), np.float32)
    poses[:, 16, 2] = -1.1 + 0.5 * np.sin(phase)  # left shoulder about the body's forward axis
    poses[:, 17, 2] = 1.1 - 0.5 * np.sin(phase)
    poses[:, 18, 1] = -0.8 * (1 + np.sin(phase)) / 2  # elbows
    poses[:, 19, 1] = 0.8 * (1 + np.sin(phase)) / 2
    animation = importlib.import_module(f"{addon.__name__}.scene.animation")
    animation.bake_animation(bpy.context.scene, rig, poses.reshape(48, -1), np.zeros((48, 3), np.float32), 24.0)
    print(f'added "{rig.name}" with {len(rig.data.bones)} bones, keyed 48 frames')


if __name__ == "__main__":
    sys.exit(main())
