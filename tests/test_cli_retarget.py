"""``pocket-mocap reconstruct --retarget`` and the .glb / .bvh outputs, through the real command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_test_photo
from make_rig_fixtures import write_rigify_file
from test_cli import PHOTO, needs_media, pocket_mocap

RIGS = Path(__file__).resolve().parent / "fixtures" / "rigs"
VIDEO = PHOTO.parents[2] / "videos" / "v02_basketball_dribble__mmhuman3d_single_person_demo.mp4"


def glb_json(path: Path) -> dict:
    data = path.read_bytes()
    assert data[:4] == b"glTF"
    length = int.from_bytes(data[12:16], "little")
    return json.loads(data[20:20 + length])


def write_rig_file(bones: list[dict], path: Path) -> Path:
    """A .blend or .fbx holding only an armature with ``bones`` (fixture rows), written by Blender in a child
    process."""
    script = f"""
import json, os, tempfile
os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp()  # not the caller's: factory settings there drop wheels
import bpy
bpy.ops.wm.read_factory_settings(use_empty=True)
bones = json.loads({json.dumps(bones)!r})
armature = bpy.data.armatures.new("character")
obj = bpy.data.objects.new("character", armature)
bpy.context.collection.objects.link(obj)
bpy.context.view_layer.objects.active = obj
bpy.ops.object.mode_set(mode="EDIT")
made = {{}}
for row in bones:
    bone = armature.edit_bones.new(row["name"])
    bone.head, bone.tail, bone.roll = row["head"], row["tail"], row["roll"]
    if row["parent"]:
        bone.parent = made[row["parent"]]
    made[row["name"]] = bone
bpy.ops.object.mode_set(mode="OBJECT")
path = {str(path)!r}
if path.endswith(".blend"):
    bpy.ops.wm.save_as_mainfile(filepath=path)
else:
    obj.select_set(True)
    bpy.ops.export_scene.fbx(filepath=path, use_selection=True, add_leaf_bones=False)
"""
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, timeout=120)
    return path


@needs_media
def test_photo_onto_a_mixamo_skeleton_as_glb(tmp_path):
    out = tmp_path / "pose é.glb"
    done = pocket_mocap("reconstruct", str(PHOTO), "-o", str(out), "--retarget", "mixamo", "--cache",
                        str(tmp_path / "cache"), "--quiet")
    assert done.returncode == 0, done.stderr
    document = glb_json(out)
    names = {node.get("name") for node in document["nodes"]}
    assert {"mixamorig:Hips", "mixamorig:LeftUpLeg", "mixamorig:LeftHandIndex1"} <= names
    assert "left_knee" not in names, "the preset's skeleton, not the body's"
    assert len(document["skins"]) == 1


@needs_media
@pytest.mark.skipif(not VIDEO.is_file(), reason="../shared/media is absent: no real video")
def test_video_onto_a_character_file_as_bvh(tmp_path):
    bones = json.loads((RIGS / "game_engine.json").read_text())["bones"]
    character = write_rig_file(bones, tmp_path / "character.blend")
    out = tmp_path / "dribble.bvh"
    done = pocket_mocap("reconstruct", str(VIDEO), "-o", str(out), "--retarget", str(character), "--no-hands",
                        "--cache", str(tmp_path / "cache"), "--quiet")
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "ROOT Root" in text and "JOINT thigh_l" in text and "Frames: 40" in text


@needs_media
def test_photo_onto_rigify_generated_rig_from_a_blend(tmp_path):
    """The file holds Rigify's meta-rig and its generated rig: the generated one (more bones) is taken and keyed on
    its controls."""
    character = write_rigify_file(tmp_path / "rigify character.blend")
    out = tmp_path / "pose.glb"
    done = pocket_mocap("reconstruct", str(PHOTO), "-o", str(out), "--retarget", str(character), "--cache",
                        str(tmp_path / "cache"), "--quiet")
    assert done.returncode == 0, done.stderr
    document = glb_json(out)
    names = {node.get("name") for node in document["nodes"]}
    assert {"root", "thigh_fk.L", "DEF-thigh.L", "ORG-spine"} <= names, "the generated rig, not the meta-rig"
    channels = {(document["nodes"][c["target"]["node"]]["name"]) for a in document.get("animations", [])
                for c in a["channels"]}
    assert {"thigh_fk.L", "upper_arm_fk.R"} <= channels


@pytest.mark.parametrize("value, code, message", [
    ("maya", 2, 'is neither a preset (mixamo, rigify, unreal, vrm) nor a .blend or .fbx file'),
    ("missing.fbx", 1, "does not exist"),
])
def test_bad_retarget_values_are_one_sentence(tmp_path, value, code, message):
    done = pocket_mocap("reconstruct", str(tmp_path), "-o", str(tmp_path / "out.glb"), "--retarget", value)
    assert done.returncode == code and message in done.stderr
    assert done.stderr.count("\n") == 1 and not (tmp_path / "out.glb").exists()


def test_a_character_file_without_a_humanoid_is_refused_before_the_job(tmp_path):
    crane = write_rig_file([{"name": "mast", "parent": None, "head": [0, 0, 0], "tail": [0, 0, 1], "roll": 0.0},
                            {"name": "jib", "parent": "mast", "head": [0, 0, 1], "tail": [1, 0, 1], "roll": 0.0}],
                           tmp_path / "crane.fbx")
    photo = write_test_photo(tmp_path / "photo.png")
    done = pocket_mocap("reconstruct", str(photo), "-o", str(tmp_path / "out.fbx"), "--retarget", str(crane),
                        "--cache", str(tmp_path / "cache"))
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert "no bone named for" in done.stderr and "left knee" in done.stderr
    assert not (tmp_path / "out.fbx").exists() and not (tmp_path / "cache" / "jobs").exists()


def test_retarget_with_an_npz_output_is_said_to_be_ignored(tmp_path):
    done = pocket_mocap("reconstruct", str(tmp_path), "-o", str(tmp_path / "motion.npz"), "--retarget", "mixamo")
    assert done.stderr.startswith('warning: --retarget "mixamo" is ignored: an .npz holds the body\'s motion')
