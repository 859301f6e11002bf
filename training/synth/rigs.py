"""Where the SMPL-X body's joints are on each motion-capture skeleton: one name map per format.

A map gives, for the position-based retargeting (``retarget_positions``):

* ``limbs``: a point for every SMPL-X limb joint (hips to toes, collars to wrists) and the limb ends
  ``left_hand_end`` / ``right_hand_end`` (middle knuckle, or the hand's tip) and ``left_toes`` / ``right_toes``;
* ``trunk``: for pelvis, spine1-3, neck and head, the segment whose turn they take: an ``up`` pair of points
  along the segment and a ``lateral`` pair (right to left) across it, or a ``blend`` of two other trunk
  joints' lateral directions where the rig has nothing across that segment;
* ``hand_across`` (little-finger side to thumb side, the open body's pinky-to-index knuckle) and
  ``foot_across`` (little-toe side to big-toe side) per side, for the twist of the forearm, hand and foot:
  a pair of points on the hand or foot, or the name of the rig point whose segment turn, applied to the open
  body's own rest direction, stands for it (rigs without finger or toe landmarks; marker pairs at rest axes
  would bias the twist: the open body's toe line is 33 deg off its left-right axis, its knuckles 10 deg);
* ``relative``: limb joints whose bone instead turns with a rig segment from the rig's rest pose, like the
  trunk (the open body's rest bone turned by that segment's rotation): the clavicles, whose rest geometry
  differs most between rigs, and the Daz forearm, whose rest bone points 17 deg forward while its rotations
  were made for a straight T-pose arm (measured against the same trial's ASF: 20 deg off from positions,
  8 deg from the turn).

A point is a rig point's name (a BVH joint's origin, an ASF bone's end, ``<name>.end`` for an end site or a
bone's tail), a ``Lerp`` between two, or a ``Marker``: a point fixed on the segment of ``anchor`` at ``offset``
metres from it in the rest pose's axes (Y up, the body facing +Z, its left +X), moved by that segment's
rotation. Markers stand in where a rig carries no third point on a segment (a spine piece, the head, the
hand, the foot); the rest of the map is plain positions. Left-side offsets are written once and mirrored.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Lerp:
    """The point ``a + t (b - a)``."""

    a: str
    b: str
    t: float = 0.5


@dataclass(frozen=True)
class Marker:
    """A point on ``anchor``'s segment, ``offset`` metres from it at rest (rest axes), turning with it."""

    anchor: str
    offset: tuple[float, float, float]


Point = str | Lerp | Marker


@dataclass(frozen=True)
class TrunkFrame:
    """A trunk joint's segment: ``up`` (from, to) along it; ``lateral`` (right, left) across it, or ``blend``
    (trunk joint a, trunk joint b, t): the normalised ``(1 - t) lateral_a + t lateral_b``."""

    up: tuple[Point, Point]
    lateral: tuple[Point, Point] | None = None
    blend: tuple[str, str, float] | None = None


@dataclass(frozen=True)
class RigMap:
    """One skeleton's name map (see the module docstring)."""

    name: str
    limbs: dict[str, Point]
    trunk: dict[str, TrunkFrame]
    hand_across: dict[str, tuple[Point, Point] | str]
    foot_across: dict[str, tuple[Point, Point] | str]
    relative: dict[str, str] = field(default_factory=dict)  # SMPL-X joint -> rig point of the segment turning it
    notes: str = field(default="", compare=False)


LIMB_JOINTS = ("hip", "knee", "ankle", "foot", "toes", "collar", "shoulder", "elbow", "wrist", "hand_end")
TRUNK_JOINTS = ("pelvis", "spine1", "spine2", "spine3", "neck", "head")


def _mirror(point: Point, left: str, right: str) -> Point:
    """The right side's version of a left-side point: the first ``left`` in a name becomes ``right``, offsets
    flip x."""
    if isinstance(point, str):
        return point.replace(left, right, 1)
    if isinstance(point, Lerp):
        return Lerp(point.a.replace(left, right, 1), point.b.replace(left, right, 1), point.t)
    x, y, z = point.offset
    return Marker(point.anchor.replace(left, right, 1), (-x, y, z))


def _sided(left_points: dict[str, Point], left: str, right: str) -> dict[str, Point]:
    """``{"hip": ..., ...}`` written for the left side -> ``{"left_hip": ..., "right_hip": ...}``."""
    out = {}
    for joint, point in left_points.items():
        out[f"left_{joint}"] = point
        out[f"right_{joint}"] = _mirror(point, left, right)
    return out


def _across(across: tuple[Point, Point] | str, left: str, right: str) -> dict[str, tuple[Point, Point] | str]:
    if isinstance(across, str):
        return {"left": across, "right": across.replace(left, right, 1)}
    return {"left": across, "right": (_mirror(across[0], left, right), _mirror(across[1], left, right))}


def _head_markers(anchor: str) -> TrunkFrame:
    return TrunkFrame(up=(anchor, Marker(anchor, (0.0, 0.1, 0.0))),
                      lateral=(Marker(anchor, (-0.05, 0.0, 0.0)), Marker(anchor, (0.05, 0.0, 0.0))))


CC = "CC_Base_"
CC_BASE = RigMap(
    name="cc-base",
    limbs=_sided({"hip": f"{CC}L_Thigh", "knee": f"{CC}L_Calf", "ankle": f"{CC}L_Foot", "foot": f"{CC}L_ToeBase",
                  "toes": f"{CC}L_MidToe1", "collar": f"{CC}L_Clavicle", "shoulder": f"{CC}L_Upperarm",
                  "elbow": f"{CC}L_Forearm", "wrist": f"{CC}L_Hand", "hand_end": f"{CC}L_Mid1"}, "_L_", "_R_"),
    trunk={
        "pelvis": TrunkFrame(up=(f"{CC}Hip", f"{CC}Waist"), lateral=(f"{CC}R_Thigh", f"{CC}L_Thigh")),
        "spine1": TrunkFrame(up=(f"{CC}Waist", f"{CC}Spine01"), blend=("pelvis", "spine3", 1 / 3)),
        "spine2": TrunkFrame(up=(f"{CC}Spine01", f"{CC}Spine02"), blend=("pelvis", "spine3", 2 / 3)),
        "spine3": TrunkFrame(up=(f"{CC}Spine02", f"{CC}NeckTwist01"),
                             lateral=(f"{CC}R_Clavicle", f"{CC}L_Clavicle")),
        "neck": TrunkFrame(up=(f"{CC}NeckTwist02", f"{CC}Head"), blend=("spine3", "head", 0.5)),
        "head": _head_markers(f"{CC}Head"),  # the eyes hang off a facial bone turned 90 deg in every frame
    },
    hand_across=_across((f"{CC}L_Pinky1", f"{CC}L_Index1"), "_L_", "_R_"),
    foot_across=_across((f"{CC}L_PinkyToe1", f"{CC}L_BigToe1"), "_L_", "_R_"),
    notes="The 61 clips' rig; used to check this path against the frame-based retarget.py.",
)

ACCLAIM = RigMap(
    name="asf",
    limbs=_sided({"hip": "lhipjoint", "knee": "lfemur", "ankle": "ltibia", "foot": "lfoot", "toes": "ltoes",
                  "collar": "thorax", "shoulder": "lclavicle", "elbow": "lhumerus", "wrist": "lwrist",
                  "hand_end": "lhand"}, "l", "r"),
    trunk={
        "pelvis": TrunkFrame(up=(Lerp("lhipjoint", "rhipjoint"), "root"), lateral=("rhipjoint", "lhipjoint")),
        "spine1": TrunkFrame(up=("root", "lowerback"), blend=("pelvis", "spine3", 1 / 3)),
        "spine2": TrunkFrame(up=("lowerback", "upperback"), blend=("pelvis", "spine3", 2 / 3)),
        "spine3": TrunkFrame(up=("upperback", "thorax"),
                             lateral=(Marker("thorax", (-0.1, 0.0, 0.0)), Marker("thorax", (0.1, 0.0, 0.0)))),
        "neck": TrunkFrame(up=("thorax", "upperneck"), blend=("spine3", "head", 0.5)),  # the whole neck
        "head": TrunkFrame(up=("upperneck", "head"),
                           lateral=(Marker("head", (-0.05, 0.0, 0.0)), Marker("head", (0.05, 0.0, 0.0)))),
    },
    hand_across=_across("lhand", "l", "r"),
    foot_across=_across("lfoot", "l", "r"),
    relative={"left_collar": "lclavicle", "right_collar": "rclavicle"},
    notes="CMU's ASF skeleton (points are bone ends; the wrist is the end of lwrist, the forearm's twist bone).",
)

CGSPEED = RigMap(
    name="cgspeed",
    limbs=_sided({"hip": "LeftUpLeg", "knee": "LeftLeg", "ankle": "LeftFoot", "foot": "LeftToeBase",
                  "toes": "LeftToeBase.end", "collar": "LeftShoulder", "shoulder": "LeftArm", "elbow": "LeftForeArm",
                  "wrist": "LeftHand", "hand_end": "LeftHandIndex1"}, "Left", "Right"),
    trunk={
        "pelvis": TrunkFrame(up=(Lerp("LeftUpLeg", "RightUpLeg"), "Hips"), lateral=("RightUpLeg", "LeftUpLeg")),
        "spine1": TrunkFrame(up=("LowerBack", "Spine"), blend=("pelvis", "spine3", 1 / 3)),
        "spine2": TrunkFrame(up=("Spine", "Spine1"), blend=("pelvis", "spine3", 2 / 3)),
        # Spine1's children (Neck, the shoulders) all sit at its origin: nothing on it but markers.
        "spine3": TrunkFrame(up=("Spine1", Marker("Spine1", (0.0, 0.1, 0.0))),
                             lateral=(Marker("Spine1", (-0.1, 0.0, 0.0)), Marker("Spine1", (0.1, 0.0, 0.0)))),
        "neck": TrunkFrame(up=("Neck", "Head"), blend=("spine3", "head", 0.5)),  # the whole neck
        "head": TrunkFrame(up=("Head", "Head.end"),
                           lateral=(Marker("Head", (-0.05, 0.0, 0.0)), Marker("Head", (0.05, 0.0, 0.0)))),
    },
    hand_across=_across("LeftHand", "Left", "Right"),
    foot_across=_across("LeftFoot", "Left", "Right"),
    relative={"left_collar": "LeftShoulder", "right_collar": "RightShoulder"},
    notes="Bruce Hahne's MotionBuilder-friendly BVH of the CMU data (also the FBX exports made from it).",
)

DAZ = RigMap(
    name="daz",
    limbs=_sided({"hip": "lThigh", "knee": "lShin", "ankle": "lFoot", "foot": Lerp("lFoot", "lFoot.end", 0.7),
                  "toes": "lFoot.end", "collar": "lCollar", "shoulder": "lShldr", "elbow": "lForeArm",
                  "wrist": "lHand", "hand_end": "lMid1"}, "l", "r"),
    trunk={
        "pelvis": TrunkFrame(up=("hip", "abdomen"), lateral=("rButtock", "lButtock")),
        "spine1": TrunkFrame(up=("abdomen", "chest"), blend=("pelvis", "spine2", 0.5)),
        "spine2": TrunkFrame(up=("chest", "neck"), lateral=("rCollar", "lCollar")),
        "spine3": TrunkFrame(up=("chest", "neck"), lateral=("rCollar", "lCollar")),
        "neck": TrunkFrame(up=("neck", "head"), blend=("spine3", "head", 0.5)),
        "head": TrunkFrame(up=("head", Lerp("leftEye", "rightEye")), lateral=("rightEye", "leftEye")),
    },
    hand_across=_across(("lPinky1", "lIndex1"), "l", "r"),
    foot_across=_across("lFoot", "l", "r"),
    relative={"left_collar": "lCollar", "right_collar": "rCollar", "left_elbow": "lForeArm",
              "right_elbow": "rForeArm", "left_ankle": "lFoot", "right_ankle": "rFoot", "left_foot": "lFoot",
              "right_foot": "rFoot"},
    notes="Hahne's Daz-friendly BVH: no toe joint (the foot's end site is the toe tip, the ball 70 % of the "
          "way there); one chest segment for spine2 and spine3.",
)

DEEPMIMIC = RigMap(
    name="deepmimic",
    limbs=_sided({"hip": "left_hip", "knee": "left_knee", "ankle": "left_ankle",
                  "foot": Marker("left_ankle", (0.0, -0.035, 0.10)), "toes": Marker("left_ankle", (0.0, -0.04, 0.1335)),
                  "collar": Lerp("neck", "left_shoulder", 0.35), "shoulder": "left_shoulder", "elbow": "left_elbow",
                  "wrist": "left_wrist", "hand_end": Marker("left_wrist", (0.0, -0.08, 0.0))}, "left_", "right_"),
    trunk={
        "pelvis": TrunkFrame(up=("root", "chest"), lateral=("right_hip", "left_hip")),
        "spine1": TrunkFrame(up=("root", "chest"), lateral=("right_hip", "left_hip")),
        "spine2": TrunkFrame(up=("chest", "neck"), lateral=("right_shoulder", "left_shoulder")),
        "spine3": TrunkFrame(up=("chest", "neck"), lateral=("right_shoulder", "left_shoulder")),
        "neck": _head_markers("neck"),
        "head": _head_markers("neck"),
    },
    # The arms hang at rest and the wrist is welded to the forearm: the palms are taken as facing the thighs.
    hand_across=_across("left_wrist", "left_", "right_"),
    foot_across=_across("left_ankle", "left_", "right_"),
    # the foot's rest (flat, forward) is the open body's; the arms hang at rest, so the hand stays a marker
    relative={"left_ankle": "left_ankle", "right_ankle": "right_ankle"},
    notes="DeepMimic's humanoid3d: one chest link, the head on the neck link, no clavicles, fingers or toes; the "
          "foot is a box (ball and toes are points on it), the wrist is fixed.",
)

NEO = RigMap(
    name="fbx-neo",
    limbs=_sided({"hip": "Neo_LeftUpLeg", "knee": "Neo_LeftLeg", "ankle": "Neo_LeftFoot", "foot": "Neo_LeftToeBase",
                  "toes": "Neo_LeftToeBase.end", "collar": "Neo_LeftShoulder", "shoulder": "Neo_LeftArm",
                  "elbow": "Neo_LeftForeArm", "wrist": "Neo_LeftHand", "hand_end": "Neo_LeftHand.end"},
                 "Left", "Right"),
    trunk={
        "pelvis": TrunkFrame(up=("Neo_Hips", "Neo_Spine"), lateral=("Neo_RightUpLeg", "Neo_LeftUpLeg")),
        "spine1": TrunkFrame(up=("Neo_Spine", "Neo_Spine1"), blend=("pelvis", "spine3", 1 / 3)),
        "spine2": TrunkFrame(up=("Neo_Spine1", "Neo_Spine2"), blend=("pelvis", "spine3", 2 / 3)),
        "spine3": TrunkFrame(up=("Neo_Spine2", "Neo_Neck"), lateral=("Neo_RightShoulder", "Neo_LeftShoulder")),
        "neck": TrunkFrame(up=("Neo_Neck", "Neo_Head"), blend=("spine3", "head", 0.5)),
        "head": _head_markers("Neo_Head"),
    },
    hand_across=_across("Neo_LeftHand", "Left", "Right"),
    foot_across=_across("Neo_LeftFoot", "Left", "Right"),
    notes="The 'Neo_' humanoid of the keijiro FBX files (Unity-ready exports); leaf ends are Blender's bone tails. "
          "Not used yet: those files carry no rest pose (mocap_sources.FBX_RIGS).",
)

MAPS = {rig.name: rig for rig in (CC_BASE, ACCLAIM, CGSPEED, DAZ, DEEPMIMIC, NEO)}
