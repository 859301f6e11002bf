"""Benchmark: building rigs and keying long animations in headless Blender (medians of repeated runs).

    .venv/bin/python tools/bench_rig.py [--repeats 5]

Models: an SMPL-X-sized body (10,475 vertices, random but well-formed arrays, as the tests make them;
the licensed files have the same sizes) and the open body when its data is present.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="pocket_mocap_bench_"))
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import bpy  # noqa: E402
import numpy as np  # noqa: E402
from support.bodyfiles import random_model_arrays  # noqa: E402

from pocket_mocap.core.bodymodel.library import load_body, open_body_available  # noqa: E402
from pocket_mocap.core.bodymodel.model import body_model_from_arrays  # noqa: E402
from pocket_mocap.scene.animation import bake_animation  # noqa: E402
from pocket_mocap.scene.rig import RigOptions, build_rig  # noqa: E402


def clear() -> None:
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj)
    for collection in (bpy.data.meshes, bpy.data.armatures, bpy.data.actions):
        for block in [b for b in collection if b.users == 0]:
            collection.remove(block)


def median_seconds(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        clear()
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def keying_seconds(model, poses, trans, expression, repeats: int) -> float:
    """Median time of keying the whole motion onto a fresh rig (rig building not counted)."""
    times = []
    for _ in range(repeats):
        clear()
        rig = build_rig(bpy.context, model, name="k")
        started = time.perf_counter()
        bake_animation(bpy.context.scene, rig, poses, trans, 30.0, expression[:, : model.exprdirs.shape[2]])
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    models = {"SMPL-X size (10475 v)": body_model_from_arrays(random_model_arrays("smplx", seed=0), "smplx", "x")}
    if open_body_available():
        models["open body SMPL-X"] = load_body("open", "smplx")
    rng = np.random.default_rng(0)
    poses = rng.normal(0, 0.3, (1800, 165)).astype(np.float32)
    trans = rng.normal(0, 0.3, (1800, 3)).astype(np.float32)
    expression = rng.normal(0, 0.3, (1800, 10)).astype(np.float32)
    print(f"bpy {bpy.app.version_string}, {args.repeats} runs each, median seconds")
    for label, model in models.items():
        build = median_seconds(lambda m=model: build_rig(bpy.context, m, np.ones(10), name="b"), args.repeats)
        correctives = median_seconds(lambda m=model: build_rig(
            bpy.context, m, np.ones(10), name="b", options=RigOptions(pose_correctives=True)), args.repeats) \
            if model.posedirs is not None else float("nan")
        keying = keying_seconds(model, poses, trans, expression, args.repeats)
        print(f"{label:<24} build rig {build:6.3f} s | with pose correctives {correctives:6.3f} s | "
              f"key 1800 frames x {len(model.parents)} joints + {min(10, model.exprdirs.shape[2])} shape keys "
              f"{keying:6.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
