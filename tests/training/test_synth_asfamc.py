"""The ASF/AMC reader: a hand-written skeleton with known answers (units, the axis frame, dof order), malformed
files named, and a real CMU clip (feet on the floor, rigid bones, upright, left +X)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("scipy")  # not in the Blender-5 test environment, which runs only the blender tests

from scipy.spatial.transform import Rotation  # noqa: E402

from training.synth import asfamc  # noqa: E402
from training.synth.poses import default_mocap  # noqa: E402

EXTRA = default_mocap() / "extra" / "cmu-asfamc-maxxgx"
needs_extra = pytest.mark.skipif(not EXTRA.is_dir(), reason=f"the extra CMU ASF/AMC files are not at {EXTRA}")
UNIT = 0.0254 / 0.45  # metres per ASF length unit with ":units length 0.45"

ASF = """# a root, a bone up whose frame is turned 90 deg about Z, a bone along +X, one along +Z with "rz rx"
:version 1.10
:units
  mass 1.0
  length 0.45
  angle deg
:root
   order TX TY TZ RX RY RZ
   axis XYZ
   position 0 0 0
   orientation 0 0 0
:bonedata
  begin
     id 1
     name a
     direction 0 2 0
     length 9
     axis 0 0 90 XYZ
     dof rx ry rz
  end
  begin
     id 2
     name b
     direction 1 0 0
     length 4.5
     axis 0 0 0 XYZ
     dof rz
  end
  begin
     id 3
     name c
     direction 0 0 1
     length 2
     axis 0 90 0 XYZ
     dof rz rx
  end
:hierarchy
  begin
    root a
    a b
    b c
  end
"""

AMC = """#!OML:ASF small.asf
:FULLY-SPECIFIED
:DEGREES
1
root 0 0 0 0 0 0
a 0 0 0
b 0
c 0 0
2
root 1 2 3 0 90 0
a 0 0 0
b 90
c 0 0
3
root 0 0 0 0 0 0
a 90 0 0
b 0
c 0 0
4
root 0 0 0 10 20 30
a 15 -25 35
b -40
c 50 60
"""


def test_small_skeleton_structure_and_units():
    skeleton = asfamc.parse_asf(ASF, "small.asf")
    assert skeleton.names == ("root", "a", "b", "c") and skeleton.parents == (-1, 0, 1, 2)
    assert skeleton.dofs == (("TX", "TY", "TZ", "RX", "RY", "RZ"), ("rx", "ry", "rz"), ("rz",), ("rz", "rx"))
    assert abs(skeleton.metres_per_unit - UNIT) < 1e-15 and np.allclose(skeleton.directions[1], [0, 1, 0])
    rest = asfamc.rest_positions(skeleton)
    assert np.abs(rest - np.array([[0, 0, 0], [0, 9, 0], [4.5, 9, 0], [4.5, 9, 2]]) * UNIT).max() < 1e-12


def test_small_clip_has_known_answers():
    motion = asfamc.parse_amc(AMC, asfamc.parse_asf(ASF, "small.asf"), "small.amc")
    assert motion.frames == 4
    positions, rotations = asfamc.forward_kinematics(motion)
    expected = np.array([
        [[0, 0, 0], [0, 9, 0], [4.5, 9, 0], [4.5, 9, 2]],  # rest
        # root at (1, 2, 3) turned 90 deg about +Y (+X -> -Z, +Z -> +X); b turns 90 deg about Z (+X -> +Y)
        [[1, 2, 3], [1, 11, 3], [1, 15.5, 3], [3, 15.5, 3]],
        # a's rx is about its axis frame's x, which "axis 0 0 90" turns to world +Y: a stays up and b swings
        # from +X to -Z (without the axis frame a would tip to +Z)
        [[0, 0, 0], [0, 9, 0], [0, 9, -4.5], [2, 9, -4.5]],
    ]) * UNIT
    assert np.abs(positions[:3] - expected).max() < 1e-9


def test_rotation_order_follows_the_dof_and_axis_lists():
    """Frame 4 against scipy: each bone's W = W_parent C M C^T, M the dofs applied in listed order about fixed
    axes ("rz rx" gives Rx Rz), C from "axis" in its XYZ order."""
    skeleton = asfamc.parse_asf(ASF)
    positions, rotations = asfamc.forward_kinematics(asfamc.parse_amc(AMC, skeleton), np.array([3]))

    def fixed(order: str, degrees) -> np.ndarray:
        return Rotation.from_euler(order, degrees, degrees=True).as_matrix()

    root = fixed("xyz", [10, 20, 30])
    a = root @ fixed("xyz", [0, 0, 90]) @ fixed("xyz", [15, -25, 35]) @ fixed("xyz", [0, 0, 90]).T
    b = a @ fixed("z", -40)
    c = b @ fixed("xyz", [0, 90, 0]) @ fixed("zx", [50, 60]) @ fixed("xyz", [0, 90, 0]).T
    points = [np.zeros(3)]
    for rotation, bone in ((a, [0, 9, 0]), (b, [4.5, 0, 0]), (c, [0, 0, 2])):
        points.append(points[-1] + rotation @ np.array(bone, float) * UNIT)
    assert np.abs(rotations[0, 1:] - np.array([a, b, c])).max() < 1e-12
    assert np.abs(positions[0] - np.array(points)).max() < 1e-12
    swapped = b @ fixed("xyz", [0, 90, 0]) @ fixed("xz", [60, 50]) @ fixed("xyz", [0, 90, 0]).T
    assert np.abs(rotations[0, 3] - swapped).max() > 0.1, "reading rx first would differ"


@pytest.mark.parametrize("text, asf, words", [
    (AMC, ASF.replace(":hierarchy", ":hierarchi"), "no :hierarchy section"),
    (AMC, ASF.replace("dof rz rx", "dof rz l"), "dof other than rx/ry/rz"),
    (AMC, ASF.replace("    b c\n", "    b d\n"), "unknown bone"),
    (AMC.replace("c 50 60", "c 50"), ASF, "do not all list the same bones"),
    (AMC.replace("b 90\n", "b 90 1\n"), ASF, "do not all list the same bones"),
    (AMC.replace("1\nroot 0 0 0 0 0 0\na 0 0 0\nb 0", "1\nroot 0 0 0 0 0 0\na 0 0 0\nd 0"), ASF, '"d" is not a bone'),
    (AMC.replace("\n3\n", "\n5\n"), ASF, "not consecutive"),
    (AMC.replace("b -40", "b forty"), ASF, "not a number"),
])
def test_malformed_files_are_named(text, asf, words):
    with pytest.raises(asfamc.AcclaimError, match=words) as caught:
        asfamc.parse_amc(text, asfamc.parse_asf(asf, "bad.asf"), "bad.amc")
    assert str(caught.value).startswith(("bad.asf", "bad.amc"))


def test_missing_file_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        asfamc.load_asf(tmp_path / "nothing.asf")


@needs_extra
def test_a_real_clip_stands_on_the_floor_with_rigid_bones():
    """CMU 14_06 (jumping jacks, squats): ASF units to metres, Y up, facing +Z with the left at +X."""
    skeleton = asfamc.load_asf(EXTRA / "14" / "14.asf.gz")
    motion = asfamc.load_amc(EXTRA / "14" / "14_06.amc.gz", skeleton)
    positions, rotations = asfamc.forward_kinematics(motion, np.arange(0, motion.frames, 4))
    lengths = np.linalg.norm(positions[:, 1:] - positions[:, list(skeleton.parents[1:])], axis=2)
    assert np.abs(lengths - skeleton.lengths[1:] * UNIT).max() < 1e-9, "bones keep their ASF length"
    assert np.abs(np.einsum("fjab,fjcb->fjac", rotations, rotations) - np.eye(3)).max() < 1e-9
    feet = [skeleton.index(name) for name in ("lfoot", "ltoes", "rfoot", "rtoes")]
    lowest = positions[:, feet, 1].min(axis=1)
    assert -0.05 < np.median(lowest) < 0.08, "the feet touch the floor (y = 0)"
    assert np.all(lowest <= positions[:, :, 1].min(axis=1) + 0.05), "nothing goes far below the feet"
    height = np.percentile(positions[:, skeleton.index("head"), 1] - lowest, 90)
    assert 1.4 < height < 2.0, f"head end {height:.2f} m above the floor"
    rest = asfamc.rest_positions(skeleton)
    assert rest[skeleton.index("lhipjoint"), 0] > 0.05 > -0.05 > rest[skeleton.index("rhipjoint"), 0]
