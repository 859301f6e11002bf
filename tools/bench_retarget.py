"""Benchmark: retargeting a 1-minute, 30 fps motion onto the test rigs in headless Blender (median of runs).

    .venv/bin/python tools/bench_retarget.py [--repeats 5] [--seconds 60]

The source is the open body (SMPL-X layout, 55 joints) keyed with a smooth synthetic motion: every joint
turning on a few slow sines, walking forward. Each run is a whole ``retarget()``: reading the source's keys,
the transfer with contact IK, and keying the new action (one key per frame and channel); ``transfer`` is the
array part alone. Targets: the MPFB2 rigs of ``tests/fixtures/rigs`` and Rigify's generated rig (made here by
the bundled add-on in a child process), whose ``retarget()`` also finds its controls by turning bones in
Blender; its ``transfer`` is the transfer onto the ORG bones plus the controls' keys.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="pocket_mocap_bench_"))
ROOT = Path(__file__).resolve().parent.parent

import bpy  # noqa: E402
import numpy as np  # noqa: E402

from pocket_mocap.core.bodymodel.library import load_body  # noqa: E402
from pocket_mocap.scene.animation import bake_animation  # noqa: E402
from pocket_mocap.scene.controls import driven_bones, plan_controls  # noqa: E402
from pocket_mocap.scene.retarget import (  # noqa: E402
    build_armature,
    detect_mapping,
    retarget,
    skeleton_of,
    source_motion,
)
from pocket_mocap.scene.rig import RigOptions, build_rig  # noqa: E402
from pocket_mocap.scene.transfer import drive_controls, transfer  # noqa: E402

sys.path.insert(0, str(ROOT / "tools"))
from make_rig_fixtures import write_rigify_file  # noqa: E402

RIGS = ROOT / "tests" / "fixtures" / "rigs"
FPS = 30.0


def synthetic_motion(joints: int, frames: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``poses (F, J*3)``: each joint on three slow sines (0.2-1.5 Hz, 0.25 rad); ``trans (F, 3)``: 1 m/s."""
    rng = np.random.default_rng(seed)
    time_s = np.arange(frames)[:, None, None] / FPS
    frequency = rng.uniform(0.2, 1.5, (3, joints, 3))
    phase = rng.uniform(0, 2 * np.pi, (3, joints, 3))
    poses = sum(0.25 / 3 * np.sin(2 * np.pi * frequency[k] * time_s + phase[k]) for k in range(3))
    trans = np.zeros((frames, 3))
    trans[:, 2] = np.arange(frames) / FPS
    return poses.reshape(frames, -1).astype(np.float32), trans.astype(np.float32)


def rigify_generated(context: bpy.types.Context) -> bpy.types.Object:
    """Rigify's generated rig for the human meta-rig, made by the bundled add-on in a child process."""
    path = write_rigify_file(Path(tempfile.mkdtemp(prefix="pocket_mocap_rigify_")) / "rigify.blend")
    with bpy.data.libraries.load(str(path)) as (_found, loaded):
        loaded.objects = ["rig"]
    context.collection.objects.link(loaded.objects[0])
    return loaded.objects[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    frames = round(args.seconds * FPS)
    context = bpy.context
    model = load_body("open", "smplx")
    source = build_rig(context, model, name="performer", options=RigOptions(up_axis="Y", num_expressions=0))
    poses, trans = synthetic_motion(len(model.parents), frames)
    bake_animation(context.scene, source, poses, trans, FPS)
    print(f"{frames} frames ({args.seconds:g} s at {FPS:g} fps), {len(model.parents)} source joints, "
          f"median of {args.repeats}")
    print(f"{'target':<18}{'bones':>6}{'keyed':>7}{'retarget s':>12}{'transfer s':>12}")
    for name in ("mixamo", "game_engine", "cmu_mb", "rigify_human", "rigify_generated"):
        target = rigify_generated(context) if name == "rigify_generated" else \
            build_armature(context, name, json.loads((RIGS / f"{name}.json").read_text())["bones"])
        _preset, mapping = detect_mapping(target)
        whole, arrays = [], []
        for _ in range(args.repeats):
            started = time.perf_counter()
            action = retarget(context, source, target)
            whole.append(time.perf_counter() - started)
            bpy.data.actions.remove(action)
            _frames, motion = source_motion(source, FPS)
            mapping = {joint: bone for joint, bone in mapping.items() if joint in motion.names}
            plan = plan_controls(context, target, mapping, motion.joint_parents()) \
                if driven_bones(target, mapping.values()) else None
            skeleton = skeleton_of(target)
            started = time.perf_counter()
            if plan is None:
                transfer(motion, skeleton, mapping)
            else:
                drive_controls(transfer(motion, plan.anchors, plan.mapping), plan.anchors, plan.controls, plan.drives)
            arrays.append(time.perf_counter() - started)
        keyed = len([j for j in mapping if j in model.joint_names])
        print(f"{name:<18}{len(target.data.bones):>6}{keyed:>7}{statistics.median(whole):>12.2f}"
              f"{statistics.median(arrays):>12.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
