"""FBX motion through Blender's own FBX importer, in a background ``bpy`` process (numpy out).

``sample_fbx(paths)`` decompresses ``.fbx.gz`` files to a temporary folder and runs one child Python process
(the same interpreter, which must have the ``bpy`` module) that imports each file into an empty scene and
samples its armature at about ``rate`` frames per second: world head and tail of every bone and its world
rotation, and the same at rest. Nothing of Blender is imported into this process.

Axes: Blender's world (Z up) is turned to Y up, ``(x, y, z) -> (x, z, -y)``, which undoes the importer's
own Y-up to Z-up conversion. Lengths are Blender's (metres; the armature object's scale is applied).
A file that fails to import is reported in ``FbxMotion.error`` and the others still load.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parents[2]
# Blender (Z up, -Y forward) -> Y up: (x, y, z) -> (x, z, -y).
TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


@dataclass(frozen=True)
class FbxMotion:
    """One FBX file's armature sampled in time. B bones (parents first), F sampled frames."""

    source: str
    names: tuple[str, ...]  # (B,)
    parents: tuple[int, ...]  # (B,)
    heads: np.ndarray  # (F, B, 3) metres, Y up
    tails: np.ndarray  # (F, B, 3)
    rotations: np.ndarray  # (F, B, 3, 3) world bone frames (orthonormal)
    rest_heads: np.ndarray  # (B, 3)
    rest_tails: np.ndarray  # (B, 3)
    rest_rotations: np.ndarray  # (B, 3, 3)
    fps: float  # of the samples
    file_fps: float  # the scene's frame rate
    file_frames: int  # frames in the action
    error: str = ""


def _orthonormal(matrices: np.ndarray) -> np.ndarray:
    """The nearest rotations to rotation-and-scale matrices ``(..., 3, 3)`` (Blender's are float32, and the
    armature object may be scaled)."""
    u, _, vt = np.linalg.svd(matrices)
    return u @ vt


def _sample_in_blender(out: str, rate: float, paths: list[str]) -> None:  # pragma: no cover - runs in the child
    """The child's work: import each FBX and write ``<index>.npz`` (or ``<index>.json`` with the error)."""
    import bpy  # noqa: PLC0415 - only in the child process

    for index, path in enumerate(paths):
        try:
            bpy.ops.wm.read_factory_settings(use_empty=True)
            bpy.ops.import_scene.fbx(filepath=path)
            armatures = [o for o in bpy.data.objects if o.type == "ARMATURE"]
            if len(armatures) != 1:
                raise ValueError(f"it has {len(armatures)} armatures, not one")
            armature = armatures[0]
            action = armature.animation_data.action if armature.animation_data else None
            if action is None:
                raise ValueError("its armature has no animation")
            scene = bpy.context.scene
            file_fps = scene.render.fps / scene.render.fps_base
            start, end = (int(round(f)) for f in action.frame_range)
            step = max(1.0, file_fps / rate)
            frames = sorted({int(round(start + k * step)) for k in range(int((end - start) / step) + 1)})
            bones = list(armature.data.bones)
            names = [b.name for b in bones]
            world = armature.matrix_world
            rest_heads = [list(world @ b.head_local) for b in bones]
            rest_tails = [list(world @ b.tail_local) for b in bones]
            rest_rotations = [[list(r) for r in (world @ b.matrix_local).to_3x3()] for b in bones]
            heads, tails, rotations = [], [], []
            for frame in frames:
                scene.frame_set(frame)
                world = armature.matrix_world
                pose = [armature.pose.bones[name] for name in names]
                heads.append([list(world @ p.head) for p in pose])
                tails.append([list(world @ p.tail) for p in pose])
                rotations.append([[list(r) for r in (world @ p.matrix).to_3x3()] for p in pose])
            np.savez(f"{out}/{index}.npz", names=np.array(names),
                     parents=np.array([names.index(b.parent.name) if b.parent else -1 for b in bones]),
                     heads=np.array(heads), tails=np.array(tails), rotations=np.array(rotations),
                     rest_heads=np.array(rest_heads), rest_tails=np.array(rest_tails),
                     rest_rotations=np.array(rest_rotations), fps=file_fps / step, file_fps=file_fps,
                     file_frames=end - start + 1)
        except Exception as exc:  # noqa: BLE001 - any importer failure is reported per file
            Path(f"{out}/{index}.json").write_text(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))


def sample_fbx(paths: list[Path], rate: float = 30.0, timeout: float = 600.0) -> list[FbxMotion]:
    """Import ``paths`` (``.fbx`` or ``.fbx.gz``) in one background Blender process; one ``FbxMotion`` each,
    in order. RuntimeError with the child's last output if the process itself fails (no ``bpy``, a crash)."""
    with tempfile.TemporaryDirectory(prefix="pocket_mocap_fbx_") as folder:
        folder = Path(folder)
        plain = []
        for index, path in enumerate(paths):
            target = folder / f"{index}.fbx"
            if path.suffix == ".gz":
                with gzip.open(path, "rb") as source, target.open("wb") as sink:
                    shutil.copyfileobj(source, sink)
            else:
                shutil.copyfile(path, target)
            plain.append(str(target))
        code = ("import sys; from training.synth.fbx import _sample_in_blender; "
                "_sample_in_blender(sys.argv[1], float(sys.argv[2]), sys.argv[3:])")
        result = subprocess.run([sys.executable, "-c", code, str(folder), str(rate), *plain], cwd=REPOSITORY,
                                capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"The background Blender process failed ({result.returncode}): "
                               f"{(result.stderr or result.stdout)[-800:]}")
        return [_load_sampled(folder, index, path) for index, path in enumerate(paths)]


def _load_sampled(folder: Path, index: int, path: Path) -> FbxMotion:
    if not (folder / f"{index}.npz").is_file():
        error = folder / f"{index}.json"
        message = json.loads(error.read_text())["error"] if error.is_file() else "no output"
        empty = np.zeros((0, 0, 3))
        return FbxMotion(str(path), (), (), empty, empty, np.zeros((0, 0, 3, 3)), np.zeros((0, 3)),
                         np.zeros((0, 3)), np.zeros((0, 3, 3)), 0.0, 0.0, 0, f"{path}: {message}")
    with np.load(folder / f"{index}.npz") as data:
        turn = TO_Y_UP
        return FbxMotion(
            str(path), tuple(str(n) for n in data["names"]), tuple(int(p) for p in data["parents"]),
            data["heads"] @ turn.T, data["tails"] @ turn.T,
            turn @ _orthonormal(data["rotations"]), data["rest_heads"] @ turn.T, data["rest_tails"] @ turn.T,
            turn @ _orthonormal(data["rest_rotations"]), float(data["fps"]), float(data["file_fps"]),
            int(data["file_frames"]))
