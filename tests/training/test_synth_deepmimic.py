"""The DeepMimic reader: a hand-written character and motion with known answers (quaternion order w x y z,
revolute joints about Z, fixed joints, the turn to face +Z), malformed files, and a real humanoid3d clip."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("scipy")  # not in the Blender-5 test environment, which runs only the blender tests

from training.synth import deepmimic  # noqa: E402
from training.synth.poses import default_mocap  # noqa: E402

JUMP = default_mocap() / "extra" / "cmu-deepmimic-jump"
needs_extra = pytest.mark.skipif(not JUMP.is_dir(), reason=f"the DeepMimic clips are not at {JUMP}")


def _joint(index, name, kind, parent, attach):
    return {"ID": index, "Name": name, "Type": kind, "Parent": parent, "AttachX": attach[0], "AttachY": attach[1],
            "AttachZ": attach[2], "AttachThetaX": 0, "AttachThetaY": 0, "AttachThetaZ": 0}


CHARACTER = {"Skeleton": {"Joints": [
    _joint(0, "root", "none", -1, (0, 0, 0)),
    _joint(1, "hip", "spherical", 0, (0, 0, -0.1)),  # DeepMimic's left is -Z
    _joint(2, "knee", "revolute", 1, (0, -0.4, 0)),
    _joint(3, "ankle", "fixed", 2, (0, -0.4, 0)),
]}}
Q90Y = [np.cos(np.pi / 4), 0, np.sin(np.pi / 4), 0]  # w x y z: 90 deg about +Y
MOTION = {"Loop": "none", "Frames": [
    [0.5, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0.0],
    [0.5, 1, 1, 0, *Q90Y, 1, 0, 0, 0, -np.pi / 2],
    [0.0, 0, 1, 0, 1, 0, 0, 0, *Q90Y, 0.0],
]}


@pytest.fixture()
def character(tmp_path):
    path = tmp_path / "small.txt"
    path.write_text(json.dumps(CHARACTER))
    return deepmimic.load_character(path)


def test_small_motion_has_known_answers(character):
    motion = deepmimic.parse_motion(json.dumps(MOTION), character, "small.txt")
    assert character.values_per_frame == 13 and motion.fps == 2.0
    positions, rotations = deepmimic.forward_kinematics(motion)
    file_axes = np.array([
        [[0, 1, 0], [0, 1, -0.1], [0, 0.6, -0.1], [0, 0.2, -0.1]],  # rest, 1 m up
        # root 1 m along +X turned 90 deg about +Y (-Z -> -X); the knee bends -90 deg about Z: the shin goes
        # from -Y to -X in the thigh's frame, then to +Z in the world
        [[1, 1, 0], [0.9, 1, 0], [0.9, 0.6, 0], [0.9, 0.6, 0.4]],
        # the hip turned about its own Y: a hanging leg does not move
        [[0, 1, 0], [0, 1, -0.1], [0, 0.6, -0.1], [0, 0.2, -0.1]],
    ])
    turned = file_axes @ deepmimic.TO_Z_FORWARD.T  # (x, y, z) -> (-z, y, x): the left to +X, forward to +Z
    assert np.abs(positions - turned).max() < 1e-12
    assert np.allclose(positions[0, 1], [0.1, 1, 0]), "the left hip is at +X after the turn"
    assert np.allclose(rotations[2, 1] @ [1, 0, 0], [0, 0, -1]) and np.allclose(rotations[2, 3], rotations[2, 1])
    rest = deepmimic.rest_positions(character)
    assert np.allclose(rest, turned[0] - [0, 1, 0])


@pytest.mark.parametrize("change, words", [
    (lambda m: [frame.append(0.0) for frame in m["Frames"]], "frames have 14 values where small.txt needs 13"),
    (lambda m: m["Frames"][0].append(0.0), "not a DeepMimic motion file"),
    (lambda m: m["Frames"][0].__setitem__(0, 0.0), "duration is not positive"),
    (lambda m: m.pop("Frames"), "not a DeepMimic motion file"),
])
def test_malformed_motions_are_named(character, change, words):
    motion = json.loads(json.dumps(MOTION))
    change(motion)
    with pytest.raises(deepmimic.DeepMimicError, match=words):
        deepmimic.parse_motion(json.dumps(motion), character, "bad.txt")


def test_unsupported_characters_are_refused(tmp_path):
    odd = json.loads(json.dumps(CHARACTER))
    odd["Skeleton"]["Joints"][2]["AttachThetaZ"] = 0.3
    (tmp_path / "odd.txt").write_text(json.dumps(odd))
    with pytest.raises(deepmimic.DeepMimicError, match='"knee" has an AttachTheta'):
        deepmimic.load_character(tmp_path / "odd.txt")


@needs_extra
def test_a_real_clip_stands_on_the_floor():
    """A walk (07_03) on humanoid3d: the ankles 4-12 cm over the floor at their lowest, a 1.2-1.4 m neck."""
    character = deepmimic.load_character(JUMP / "characters" / "humanoid3d.txt")
    motion = deepmimic.load_motion(JUMP / "cmu01-09" / "07" / "07_03.txt.gz", character)
    assert abs(motion.fps - 30) < 1e-6
    positions, rotations = deepmimic.forward_kinematics(motion)
    assert np.isfinite(positions).all()
    ankles = positions[:, [character.names.index(n) for n in ("left_ankle", "right_ankle")], 1].min(axis=1)
    assert 0.03 < np.median(ankles) < 0.12
    neck = positions[:, character.names.index("neck"), 1] - ankles
    assert 1.1 < np.median(neck) < 1.45
    forward = np.diff(positions[[0, -1], 0], axis=0)[0]
    assert np.linalg.norm(forward[[0, 2]]) > 1.0, "it walks"
    assert np.abs(np.einsum("fjab,fjcb->fjac", rotations, rotations) - np.eye(3)).max() < 1e-9
