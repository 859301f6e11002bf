"""Install a built zip into a fresh headless Blender and report, as JSON on the last line, what
registered and what the diagnostic job said. Run by test_zip_install.py in its own process, so the
installed copy cannot mix with the source tree the other tests enable.

    python zip_install_check.py ZIP VIDEO

VIDEO is written after the install, with whatever OpenCV the process then imports: in an environment
without one, that is the wheel the zip bundles. The report also says which wheels Blender installed (their
tags must fit its Python: cp311 or cp313) and what a process in the worker's environment imports.
"""

import glob
import json
import os
import subprocess
import sys
import tempfile
import time

# Run with Blender's Python in the worker's environment. onnxruntime declares dependencies that the zip does
# not bundle (Blender does not ship them): refusing them proves the extension never needs them. If the
# extension carries an ONNX model, one inference runs on it.
WORKER_PROBE = r"""
import glob, json, sys
UNBUNDLED = {"coloredlogs", "flatbuffers", "packaging", "sympy", "google"}

class RefuseUnbundled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in UNBUNDLED:
            raise ImportError(f"{name} is not bundled")

sys.meta_path.insert(0, RefuseUnbundled())
import cv2, numpy, onnxruntime, scipy.linalg, scipy.spatial.transform
turn = scipy.spatial.transform.Rotation.from_rotvec(numpy.array([0.0, 0.0, numpy.pi / 2])).as_matrix()
report = {"python": "%d.%d" % sys.version_info[:2], "numpy": numpy.__version__,
          "modules": {m.__name__: m.__file__ for m in (numpy, cv2, onnxruntime, scipy)},
          "scipy_turn_ok": bool(abs(turn[1, 0] - 1.0) < 1e-12), "onnx_outputs": None}
models = sorted(glob.glob(sys.argv[1] + "/core/**/*.onnx", recursive=True))
if models:
    session = onnxruntime.InferenceSession(models[0], providers=["CPUExecutionProvider"])
    feeds = {i.name: numpy.zeros([d if isinstance(d, int) else 1 for d in i.shape], numpy.float32)
             for i in session.get_inputs()}
    report["onnx_model"] = models[0].rpartition("/")[2]
    report["onnx_outputs"] = [list(out.shape) for out in session.run(None, feeds)]
print(json.dumps(report))
"""


def write_video(path: str, frames: int = 12) -> None:
    import cv2
    import numpy as np

    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 24, (64, 48))
    for index in range(frames):
        writer.write(np.full((48, 64, 3), index, np.uint8))
    writer.release()


def installed_wheels(site_packages: str) -> dict[str, list[str]]:
    """``{distribution: [wheel tags]}`` from the ``*.dist-info/WHEEL`` files Blender extracted."""
    wheels = {}
    for wheel_file in glob.glob(os.path.join(site_packages, "*.dist-info", "WHEEL")):
        name = os.path.basename(os.path.dirname(wheel_file)).split("-")[0].lower()
        with open(wheel_file, encoding="utf-8") as file:
            wheels[name] = sorted(line.split(":", 1)[1].strip() for line in file if line.startswith("Tag:"))
    return wheels


def worker_imports(addon_module: str, extension_dir: str) -> dict:
    import importlib

    job = importlib.import_module(addon_module + ".core.worker.job")
    done = subprocess.run([sys.executable, "-c", WORKER_PROBE, extension_dir], capture_output=True, text=True,
                          timeout=120, env=job.worker_environment(threads=1))
    if done.returncode != 0:
        return {"error": done.stderr[-3000:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


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
        "python": f"{sys.version_info[0]}.{sys.version_info[1]}",
    }
    report["site_packages"] = os.path.join(bpy.utils.user_resource("EXTENSIONS"), ".local", "lib",
                                           f"python{report['python']}", "site-packages")
    report["installed_wheels"] = installed_wheels(report["site_packages"])
    report["worker"] = worker_imports(module, report["extension_dir"])
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
