"""The BVH reader: hand-written files with known answers, malformed files named by line, and the CMU clips
(hip -> thigh -> calf -> foot recomputed by hand from the raw text; planted feet near the floor)."""

from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip("scipy")  # not in the Blender-5 test environment, which runs only the blender tests

from scipy.spatial.transform import Rotation  # noqa: E402

from training.synth.bvh import BVHError, forward_kinematics, load_bvh, parse_bvh  # noqa: E402
from training.synth.poses import default_mocap  # noqa: E402

MOCAP = default_mocap() / "bvh"
needs_mocap = pytest.mark.skipif(not MOCAP.is_dir(), reason=f"the CMU BVH clips are not at {MOCAP}")

# A root with translation, a child with Z Y X rotations, a grandchild with X Y Z (the other order), a leaf.
SMALL = """HIERARCHY
ROOT A
{
  OFFSET 1 2 3
  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
  JOINT B
  {
    OFFSET 0 10 0
    CHANNELS 3 Zrotation Yrotation Xrotation
    JOINT C
    {
      OFFSET 0 5 0
      CHANNELS 3 Xrotation Yrotation Zrotation
      JOINT D
      {
        OFFSET 0 2 0
        CHANNELS 0
        End Site
        {
          OFFSET 0 1 0
        }
      }
    }
  }
}
MOTION
Frames: 3
Frame Time: 0.5
0 0 0 0 0 0  0 0 0  0 0 0
10 0 0 90 0 0  0 0 90  0 0 0
0 0 0 0 0 0  0 0 0  90 0 90
"""


def test_small_file_structure():
    motion = parse_bvh(SMALL, "small.bvh")
    assert motion.names == ("A", "B", "C", "D") and motion.parents == (-1, 0, 1, 2)
    assert motion.channels[2] == ("Xrotation", "Yrotation", "Zrotation") and motion.channels[3] == ()
    assert motion.end_sites == ((3, (0.0, 1.0, 0.0)),)
    assert motion.frames == 3 and motion.fps == 2.0 and motion.values.shape == (3, 12)


def test_small_file_positions_and_rotations_have_known_answers():
    positions, rotations = forward_kinematics(parse_bvh(SMALL))
    expected = np.array([
        [[1, 2, 3], [1, 12, 3], [1, 17, 3], [1, 19, 3]],  # rest: offsets only
        # root moved +10 x and turned 90 deg about Z (+Y -> -X); B turned 90 deg about X (+Y -> +Z)
        [[11, 2, 3], [1, 2, 3], [1, 2, 8], [1, 2, 10]],
        # C: X then Y then Z listed, so R = Rx Rz: +Y -> -X (Rz) -> -X (Rx); with Rz Rx it would go to +Z
        [[1, 2, 3], [1, 12, 3], [1, 17, 3], [-1, 17, 3]],
    ]) * 0.01
    assert np.abs(positions - expected).max() < 1e-9
    rz = Rotation.from_euler("z", 90, degrees=True).as_matrix()
    rx = Rotation.from_euler("x", 90, degrees=True).as_matrix()
    assert np.abs(rotations[1, 1] - rz @ rx).max() < 1e-12
    assert np.abs(rotations[2, 2] - rx @ rz).max() < 1e-12
    assert np.abs(rotations[2, 3] - rx @ rz).max() < 1e-12, "a joint without channels keeps its parent's frame"


@pytest.mark.parametrize("broken, line, words", [
    (SMALL.replace("OFFSET 0 10 0", "OFFSET 0 ten 0"), 8, "number"),
    (SMALL.replace("Yrotation Xrotation\n  JOINT B", "Yrotation Wrotation\n  JOINT B"), 5, "unknown channel"),
    (SMALL.replace("0 0 0 0 0 0  0 0 0  90 0 90", "0 0 0 0 0 0  0 0 0  90 0"), 31, "11 values"),
    (SMALL.replace("Frames: 3", "Frames: 4"), 27, "4 frames"),
    (SMALL.replace("MOTION", "MOTON"), 31, "no MOTION"),
])
def test_malformed_files_are_named_with_their_line(broken, line, words):
    with pytest.raises(BVHError, match=rf"^bad\.bvh, line {line}: .*{words}"):
        parse_bvh(broken, "bad.bvh")


def test_missing_file_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_bvh(tmp_path / "nothing.bvh")


def _raw_hierarchy(text: str) -> tuple[list[str], dict[str, list[float]], dict[str, slice], list[str]]:
    """An independent mini-parse: joint names, offsets, channel columns, and the first frame's line."""
    names, offsets, columns, start = [], {}, {}, 0
    pending = None
    for line in text[:text.index("MOTION")].splitlines():
        words = line.split()
        if words[:1] in (["ROOT"], ["JOINT"]):
            pending = words[1]
            names.append(pending)
        elif words[:1] == ["OFFSET"] and pending is not None and pending not in offsets:
            offsets[pending] = [float(w) for w in words[1:4]]
        elif words[:1] == ["CHANNELS"]:
            count = int(words[1])
            columns[pending] = slice(start, start + count)
            start += count
            assert words[2:][-3:] == ["Zrotation", "Yrotation", "Xrotation"]
    frames = text[text.index("Frame Time:"):].splitlines()[1:]
    return names, offsets, columns, frames


@needs_mocap
@pytest.mark.parametrize("clip, frame", [("007/007_02.bvh", 40), ("002/002_01.bvh", 17)])
def test_leg_chain_matches_a_hand_calculation(clip, frame):
    """Hip -> pelvis -> thigh -> calf -> foot composed with scipy's intrinsic ZYX (= Rz Ry Rx) from the raw
    text; the RL_BoneRoot variant (002_01) adds its root in front of the hip."""
    path = MOCAP / clip
    text = path.read_text()
    names, offsets, columns, frames = _raw_hierarchy(text)
    values = np.array(frames[frame].split(), float)
    chain = [n for n in ("RL_BoneRoot", "CC_Base_Hip", "CC_Base_Pelvis", "CC_Base_L_Thigh", "CC_Base_L_Calf",
                         "CC_Base_L_Foot") if n in names]
    rotation, position = np.eye(3), np.zeros(3)
    for name in chain:
        channels = values[columns[name]]
        local = np.array(offsets[name]) + (channels[:3] if len(channels) == 6 else 0)
        position = position + rotation @ local
        rotation = rotation @ Rotation.from_euler("ZYX", channels[-3:], degrees=True).as_matrix()
    motion = load_bvh(path)
    positions, rotations = forward_kinematics(motion, np.array([frame]))
    foot = motion.index("CC_Base_L_Foot")
    assert np.abs(positions[0, foot] - position * 0.01).max() < 1e-9
    assert np.abs(rotations[0, foot] - rotation).max() < 1e-9


@needs_mocap
@pytest.mark.parametrize("clip", ["007/007_02.bvh", "002/002_01.bvh"])
def test_planted_feet_stay_near_the_floor_over_a_walk(clip):
    """MANIFEST: foot and toe joints are 6-9 cm above the floor (y = 0) when planted, both root variants."""
    motion = load_bvh(MOCAP / clip)
    positions, _ = forward_kinematics(motion)
    feet = [motion.index(f"CC_Base_{side}_{part}") for side in "LR" for part in ("Foot", "ToeBase")]
    lowest = positions[:, feet, 1].min(axis=1)
    assert 0.04 < np.median(lowest) < 0.11 and lowest.std() < 0.03
    assert np.abs(positions[:, motion.index("CC_Base_Head"), 1] - lowest).min() > 1.4, "upright, Y up"
    left, right = motion.index("CC_Base_L_Thigh"), motion.index("CC_Base_R_Thigh")
    assert positions[0, left, 0] > positions[0, right, 0], "at frame 0 the body's left is +X"


def test_clip_names_in_messages_match_the_path(tmp_path):
    broken = tmp_path / "broken.bvh"
    broken.write_text(re.sub("Frame Time: 0.5", "Frame Time: -1", SMALL))
    with pytest.raises(BVHError, match=rf"^{re.escape(str(broken))}, line 28: the frame time must be positive"):
        load_bvh(broken)
