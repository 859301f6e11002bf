"""The main job, end to end, in headless Blender from the built zip: reconstruct a person, write
``out/demo.blend`` and ``out/demo.fbx``.

The person is the taiji clip of ../shared/media when it exists. Without it, the open body is rendered
(Cycles) in a known pose, that picture is reconstructed, and the error against the known pose is printed:
a check anyone can run with no photo at hand.

    python tools/demo.py --output out
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
SHARED_VIDEO = ROOT.parent / "shared" / "media" / "videos" / "v01_taiji__hybrik.mp4"
KNOWN_POSE = {16: (0.0, 0.0, -1.0), 17: (0.0, 0.0, 0.6), 18: (0.0, -1.2, 0.0), 1: (-0.5, 0.0, 0.1),
              4: (0.9, 0.0, 0.0), 15: (0.0, 0.3, 0.0)}  # joint: axis-angle (shoulders, elbow, hip, knee, head)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=ROOT / "out")
    parser.add_argument("--render-check", action="store_true", help="use the rendered known pose even with media")
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
        if SHARED_VIDEO.is_file() and not args.render_check:
            return reconstruct(bpy, addon, "VIDEO", SHARED_VIDEO, args.output)
        picture, truth = render_known_pose(bpy, addon, args.output)
        code = reconstruct(bpy, addon, "PHOTO", picture, args.output)
        report_error(bpy, addon, truth)
        return code
    finally:
        bpy.ops.preferences.addon_disable(module=addon.__name__)


def reconstruct(bpy, addon, kind: str, path: Path, output: Path) -> int:
    settings = bpy.context.scene.pocket_mocap
    settings.input_kind = kind
    setattr(settings, "video_path" if kind == "VIDEO" else "photo_path", str(path))
    settings.body_model = "open"
    print(f"reconstructing {path.name} ...")
    started = time.monotonic()
    bpy.ops.pocket_mocap.reconstruct()
    status = bpy.context.window_manager.pocket_mocap_job
    while (interval := addon.operators.jobs.poll_active_job(bpy.context)) is not None:
        print(f"\r{status.text:<60}", end="", flush=True)
        time.sleep(interval)
    print(f"\n{status.message_level}: {status.message} ({time.monotonic() - started:.1f} s)")
    if status.message_level == "ERROR":
        return 1
    rig = next(o for o in bpy.data.objects if o.type == "ARMATURE" and o.name != "known pose")
    bpy.context.view_layer.objects.active = rig
    fbx, blend = output / "demo.fbx", output / "demo.blend"
    bpy.ops.pocket_mocap.export_fbx(filepath=str(fbx), preset="BLENDER")
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    print(f"saved {fbx} ({fbx.stat().st_size / 1e6:.1f} MB) and {blend}")
    return 0


def render_known_pose(bpy, addon, output: Path) -> tuple[Path, np.ndarray]:
    """Render the open body standing 3.5 m in front of a 55° camera in KNOWN_POSE; returns the picture
    and the true camera-space joints ``(24, 3)``."""
    library = importlib.import_module(f"{addon.__name__}.core.bodymodel.library")
    rig_module = importlib.import_module(f"{addon.__name__}.scene.rig")
    reconstruction = importlib.import_module(f"{addon.__name__}.scene.reconstruction")
    model = library.load_body("open", "smpl")
    poses = np.zeros((24, 3))
    poses[0] = (math.pi, 0.0, 0.0)  # Y-up body into the camera's y-down frame, facing the camera
    for joint, rotation in KNOWN_POSE.items():
        poses[joint] = rotation
    trans = np.array([0.0, 0.15, 3.5])
    rig = rig_module.build_rig(bpy.context, model, name="known pose", options=rig_module.RigOptions(up_axis="-Y"))
    rig_module.pose_rig(rig, poses.ravel(), trans)
    width, height = 480, 720
    focal = max(width, height) / (2 * math.tan(math.radians(55) / 2))
    intrinsics = np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]])
    camera = reconstruction.add_camera(bpy.context, intrinsics, "", "render", video=False)
    scene = bpy.context.scene
    scene.render.engine, scene.cycles.samples = "CYCLES", 16
    sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
    sun.rotation_euler = (0.4, 0.3, 0.0)
    bpy.context.collection.objects.link(sun)
    scene.world = scene.world or bpy.data.worlds.new("world")
    picture = output / "known_pose.png"
    scene.render.filepath = str(picture)
    bpy.ops.render.render(write_still=True)
    for obj in (camera, sun, rig, *rig.children):
        bpy.data.objects.remove(obj)
    truth = model.pose(poses.ravel()[None], None, trans[None]).joints[0]
    print(f"rendered the open body in a known pose: {picture}")
    return picture, truth


def report_error(bpy, addon, truth: np.ndarray) -> None:
    import metrics

    results = sorted(Path(addon.operators.jobs.cache_root(bpy.context), "results").glob("*/result.npz"),
                     key=lambda p: p.stat().st_mtime)
    with np.load(results[-1]) as data:
        found = data["joints"][0]
    error = metrics.pa_mpjpe(found[metrics.SMPL_LIMBS], truth[metrics.SMPL_LIMBS])
    print(f"error against the known pose: PA-MPJPE {error * 1000:.0f} mm over the 12 limb joints, "
          f"root position off by {np.linalg.norm(found[0] - truth[0]) * 100:.0f} cm")


if __name__ == "__main__":
    sys.exit(main())
