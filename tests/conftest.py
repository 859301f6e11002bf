"""Shared fixtures. Blender writes into BLENDER_USER_RESOURCES, so it points at a temp folder before
anything imports ``bpy``."""

from __future__ import annotations

import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_MEDIA = ROOT.parent / "shared" / "media"
_USER_RESOURCES = tempfile.mkdtemp(prefix="pocket_mocap_blender_user_")
os.environ["BLENDER_USER_RESOURCES"] = _USER_RESOURCES
sys.path.insert(0, str(ROOT / "tools"))
EXIT_STATUS = pytest.StashKey[int]()


def pytest_sessionfinish(session, exitstatus):
    session.config.stash[EXIT_STATUS] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """Leave without running bpy's static destructors once pytest has reported: bpy as a module can hang in them
    for good (the main thread destroying a condition variable its worker threads still wait on; seen after the
    video tests), which would eat CI's time and fail it although every test passed."""
    if "bpy" in sys.modules and EXIT_STATUS in config.stash:
        sys.stdout.flush()
        sys.stderr.flush()
        shutil.rmtree(_USER_RESOURCES, ignore_errors=True)
        os._exit(config.stash[EXIT_STATUS])


def this_platform() -> str:
    machine = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine().lower()]
    system = {"linux": "linux", "darwin": "macos", "windows": "windows"}[platform.system().lower()]
    return f"{system}-{machine}"


def write_test_video(path: Path, frames: int = 40, size: tuple[int, int] = (64, 48), fps: float = 24.0) -> Path:
    """A small MJPEG AVI whose frame i has brightness 4*i (so decoded order can be checked)."""
    import cv2
    import numpy as np

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    for index in range(frames):
        writer.write(np.full((size[1], size[0], 3), (4 * index) % 256, np.uint8))
    writer.release()
    return path


def run_reconstruct(addon, kind: str, path, timeout: float = 300) -> object:
    """Press Reconstruct in Blender on ``path`` (``kind`` "PHOTO" or "VIDEO") and poll the job to its end, as the
    add-on's timer would; returns the window manager's job status."""
    import time

    import bpy

    settings = bpy.context.scene.pocket_mocap
    settings.input_kind = kind
    setattr(settings, {"PHOTO": "photo_path", "VIDEO": "video_path"}[kind], str(path))
    assert bpy.ops.pocket_mocap.reconstruct() == {"FINISHED"}
    deadline = time.monotonic() + timeout
    while (interval := addon.operators.jobs.poll_active_job(bpy.context)) is not None:
        assert time.monotonic() < deadline, "the job hangs"
        time.sleep(interval)
    return bpy.context.window_manager.pocket_mocap_job


def write_test_photo(path: Path, size: tuple[int, int] = (40, 30)) -> Path:
    import cv2
    import numpy as np

    image = np.zeros((size[1], size[0], 3), np.uint8)
    image[:, : size[0] // 2] = (0, 0, 255)
    ok, encoded = cv2.imencode(path.suffix, image)
    assert ok
    encoded.tofile(path)
    return path


@pytest.fixture(scope="session")
def addon():
    """The add-on, enabled in Blender: from the source tree (a LOCAL extension repository) by
    default, or installed from the built zip when POCKET_MOCAP_ADDON_SOURCE=zip."""
    import importlib

    import bpy

    if os.environ.get("POCKET_MOCAP_ADDON_SOURCE", "source") == "zip":
        module = _install_zip(bpy)
    else:
        module = _enable_source(bpy)
    assert module in bpy.context.preferences.addons, f"{module} did not enable"
    yield importlib.import_module(module)
    bpy.ops.preferences.addon_disable(module=module)  # bpy hangs at exit with classes still registered


def _install_zip(bpy) -> str:
    from build_zip import build

    out = Path(tempfile.mkdtemp(prefix="pocket_mocap_zip_"))
    (zip_path,) = build([this_platform()], output_dir=out)
    result = bpy.ops.extensions.package_install_files(filepath=str(zip_path), repo="user_default",
                                                      enable_on_install=True)
    assert result == {"FINISHED"}
    shutil.rmtree(out, ignore_errors=True)
    return "bl_ext.user_default.pocket_mocap"


def _enable_source(bpy) -> str:
    repo_dir = Path(tempfile.mkdtemp(prefix="pocket_mocap_repo_"))
    (repo_dir / "pocket_mocap").symlink_to(ROOT, target_is_directory=True)
    bpy.ops.preferences.extension_repo_add(name="Pocket Mocap source", type="LOCAL", use_custom_directory=True,
                                           custom_directory=str(repo_dir))
    repo = next(r for r in bpy.context.preferences.extensions.repos if Path(r.directory) == repo_dir)
    module = f"bl_ext.{repo.module}.pocket_mocap"
    bpy.ops.preferences.addon_enable(module=module)
    return module


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    """A folder whose name has a space and non-ASCII letters, as users' folders do."""
    folder = tmp_path / "my clips é ü"
    folder.mkdir()
    return folder


@pytest.fixture(scope="session")
def smoke_weights(tmp_path_factory) -> Path:
    """EfficientHuman trained for 30 steps on generated samples and exported: a real (if useless) trained
    network for the end-to-end tests. Skips where torch is not installed."""
    pytest.importorskip("torch")
    sys.path.insert(0, str(ROOT))
    import torch
    from support.bodyfiles import random_model_arrays

    from core.bodymodel.model import body_model_from_arrays
    from training.data import GeneratedSamples
    from training.efficienthuman import efficienthuman
    from training.export import export_onnx
    from training.train import train

    folder = tmp_path_factory.mktemp("efficienthuman")
    body = body_model_from_arrays(random_model_arrays("smpl", seed=0), "smpl", "random")
    train(GeneratedSamples(body, 16), body, 30, folder / "smoke.pt", batch_size=4, log_every=30)
    state = torch.load(folder / "smoke.pt", weights_only=True)
    return export_onnx(efficienthuman(state["model"]).eval(), folder / "smoke.onnx", state["step"],
                       "GeneratedSamples(16), smoke test")


@pytest.fixture(scope="session")
def binaryhpe_smoke(tmp_path_factory) -> dict:
    """BinaryHPE trained for 16 steps (batch 1, Eq. 12) on two generated open-body samples and exported: a real
    (if useless) trained network for the end-to-end tests, with its losses and checkpoint. Skips without torch."""
    pytest.importorskip("torch")
    sys.path.insert(0, str(ROOT))
    from core.bodymodel.library import load_body
    from training.binaryhpe_data import GeneratedWholeBody
    from training.binaryhpe_train import export_onnx, load_checkpoint, train

    folder = tmp_path_factory.mktemp("binaryhpe")
    body = load_body("open", "smplx")
    losses = train(GeneratedWholeBody(body, 2), body, 16, folder / "smoke.pt", batch_size=1, lr=1e-3,
                   log_every=8, augmented=False)
    model, steps = load_checkpoint(folder / "smoke.pt")
    path = export_onnx(model, folder / "smoke.onnx", steps, "GeneratedWholeBody(2), smoke test")
    return {"weights": path, "losses": losses, "checkpoint": folder / "smoke.pt"}
