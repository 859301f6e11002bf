"""Write reconstruction results as .blend or .fbx files with Blender as a Python module (the CLI's
``reconstruct``). Importing this module imports ``bpy``.

Blender needs a user folder; when none is set, a temporary one is made and removed when Python exits. Each file
is written under a temporary name in its own folder and renamed when complete, so a failure (a full disk, a
folder made read-only) leaves the previous file or none, never half a file.
"""

from __future__ import annotations

import atexit
import errno
import os
import re
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

if "BLENDER_USER_RESOURCES" not in os.environ:
    _USER_RESOURCES = tempfile.mkdtemp(prefix="pocket_mocap_cli_")
    os.environ["BLENDER_USER_RESOURCES"] = _USER_RESOURCES
    atexit.register(shutil.rmtree, _USER_RESOURCES, ignore_errors=True)

import bpy  # noqa: E402 - BLENDER_USER_RESOURCES must be set first

from .core.bodymodel.library import load_body  # noqa: E402
from .core.errors import PocketMocapError  # noqa: E402
from .core.fileio import os_error_reason, os_error_sentence, replace_atomically  # noqa: E402
from .scene.exports import export_rig_bvh, export_rig_gltf  # noqa: E402
from .scene.fbx import export_rig_fbx  # noqa: E402
from .scene.people import add_people  # noqa: E402
from .scene.reconstruction import add_reconstruction, load_result  # noqa: E402


def write_scene_files(results: list[dict], targets: list[Path], request: dict) -> list[str]:
    """One file per result: a .blend with the rig, camera and footage, or an .fbx of the rig. Returns a
    sentence for each file that could not be written (the others are written)."""
    problems = []
    for item, target in zip(results, targets, strict=True):
        try:
            with _quiet_stdout():  # Blender's "Info: Saved ..." lines; the command prints the outputs itself
                write_scene_file(item, target, request)
        except OSError as exc:
            problems.append(os_error_sentence(exc, f'Writing "{target}"'))
        except (PocketMocapError, RuntimeError) as exc:
            problems.append(_blender_failure(exc, target))
    return problems


def write_scene_file(item: dict, target: Path, request: dict) -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    context = bpy.context
    result = load_result(item["result"])
    model = load_body(request["body_model"], str(result["surface_model_type"]), request.get("body_file", ""),
                      request.get("gender", "neutral"))
    result = item.get("chosen") or result  # the people --person asks for
    blend = target.suffix.lower() == ".blend"
    if "track_id" in result:  # several people: a rig each, one camera
        rigs = add_people(context, result, model, list(range(1, len(result["track_id"]) + 1)), with_camera=blend)
    else:
        rigs = [add_reconstruction(context, result, model, Path(item["input"]).stem, with_camera=blend)]
    rigs = retargeted(context, rigs, request.get("retarget", ""))
    replace_atomically(lambda temp: _save_blend(temp) if blend else _export(context, rigs, temp, target.suffix.lower()),
                       target)


def retargeted(context, rigs: list, retarget: str) -> list:
    """The rigs, or with ``retarget`` (a preset name or a .blend/.fbx file) each one's motion on that armature
    (a preset's skeleton proportioned like the body, or the file's character): those armatures."""
    from .scene.retarget import retarget as retarget_onto
    from .scene.targets import SKELETON_PRESETS, load_target, preset_skeleton

    if not retarget:
        return rigs
    targets = []
    for rig in rigs:
        target = preset_skeleton(context, rig, retarget) if retarget in SKELETON_PRESETS else \
            load_target(context, Path(retarget))
        retarget_onto(context, rig, target)
        targets.append(target)
    return targets


def _export(context, rigs: list, temp: Path, suffix: str) -> None:
    if suffix == ".glb":
        export_rig_gltf(context, rigs[0], temp, also=rigs[1:])
    elif suffix == ".bvh":
        if len(rigs) > 1:
            raise PocketMocapError(f"A BVH file holds one skeleton and this video has {len(rigs)} people: choose one "
                                   "with --person, or write .fbx or .glb.")
        export_rig_bvh(context, rigs[0], temp)
    else:
        export_rig_fbx(context, rigs[0], temp, "BLENDER", also=rigs[1:])


def check_retarget_file(path: Path) -> str:
    """Why the armature in ``path`` cannot be retargeted onto ("" when it can), read in an empty scene."""
    from .scene.targets import load_target

    bpy.ops.wm.read_factory_settings(use_empty=True)
    try:
        with _quiet_stdout():
            load_target(bpy.context, path)
    except PocketMocapError as exc:
        return str(exc)
    return ""


@contextmanager
def _quiet_stdout():
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "wb") as devnull:
        os.dup2(devnull.fileno(), 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _save_blend(temp: Path) -> None:
    """Blender writes ``<name>@`` and renames it; a failed save may leave that file, which goes too."""
    try:
        bpy.ops.wm.save_as_mainfile(filepath=str(temp), copy=True)
    finally:
        Path(f"{temp}@").unlink(missing_ok=True)
    if not temp.is_file():
        raise PocketMocapError(f'Blender did not write "{temp.name}".')


def _blender_failure(exc: Exception, target: Path) -> str:
    """One sentence for a save or export Blender refused; its own text can hold a Python traceback, so only
    the operating system's error number is taken from it."""
    text = f"{exc} {exc.__cause__ or ''}"
    number = re.search(r"\[Errno (\d+)\]", text)
    if number:
        code = int(number.group(1))
        return os_error_sentence(OSError(code, os.strerror(code)), f'Writing "{target}"')
    if "No space left" in text:
        return os_error_sentence(OSError(errno.ENOSPC, "No space left on device"), f'Writing "{target}"')
    reason = os_error_reason(OSError(errno.EIO, "")) if "Traceback" in text else str(exc).splitlines()[0]
    return f'Blender could not write "{target}" ({reason.rstrip(".")}). Check the disk and the folder, and run again.'
