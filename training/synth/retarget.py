"""CMU clips on the CC_Base rig -> SMPL-X body rotations of the open body, through HybrIK-style IK.

The CC rig's zero pose is "all up" (every bone along +Y), not a T-pose, so limb rotations cannot be copied.
Per frame, in the clip's world (Y up, metres):

1. **Bone directions.** Forward kinematics gives the CC joints' positions; each SMPL-X body joint takes one
   CC joint's position (``BODY_MAP``), and leaves give chain ends a child (middle knuckles, toe tips). Limb
   bones (collar to toe and to middle knuckle) take the clip's direction between those positions.
   The **trunk** (pelvis, spine1-3, neck, head) instead takes its CC bone frames: in the CC zero pose those
   frames are world-aligned and the trunk stands upright facing +Z, exactly the open body's rest, so a trunk
   bone's direction is the CC frame applied to the open body's own rest bone. Positions would carry the
   rigs' different rest curvature into every pose (measured on the clips: the pelvis pitched 31 deg, the
   spine bent 12-15 deg at each joint); frames do not.
2. **Retarget.** Bone lengths are the open body's: ``retarget`` rebuilds the skeleton from the pelvis.
3. **Swing** of each joint aims its rest child bone along the clip's direction (HybrIK, ``solve``).
4. **Twist** about each bone comes from a direction across it, seen in the clip and on the open body at rest
   (the ``sides`` of ``core.ik.hybrik``):

   * trunk: the CC frame's +X (the body's left at rest);
   * landmarks rigid on the bone: pinky to index knuckle (elbow and wrist: forearm pronation shows in the
     hand), little to big toe (ankle);
   * hinges: a constant axis in a CC bone's frame, calibrated once from the clips (``calibrate_hinges``) as
     the mean of ``W^T unit(cross(bone, child bone))`` over frames bent more than 30 deg. The elbow axis gives
     the upper arm's twist; the knee axis (fixed in both the thigh's and the shin's frames: the CC knee is a
     pure hinge, 0.1-0.3 deg spread) gives the thigh's and the shin's. On the open body the same axes are
     ``cross(bone, flexion direction)``: the elbow flexes forward (+Z) from the palm-down T-pose, the knee
     backward (-Z).

   Collars and toes keep zero twist (nothing reliable in the clips).

The result is local rotations of the 22 SMPL-X body joints; the root is the clip's global orientation,
and ``canonical`` removes its turn about +Y so every pose faces +Z.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.bodymodel import lbs
from core.bodymodel.joints import SMPLX_NAMES, SMPLX_PARENTS
from core.bodymodel.model import BodyModel
from core.ik import hybrik
from core.rotations import axis_angle_to_matrix, matrix_to_axis_angle

from .bvh import Motion, forward_kinematics

BODY_JOINTS = 22  # SMPL-X body: pelvis .. right_wrist
CC = "CC_Base_"
SIDES = (("left", "L"), ("right", "R"))
# SMPL-X body joint -> the CC joint whose position (limbs) or frame (trunk) it takes.
BODY_MAP = {
    "pelvis": "Hip", "spine1": "Waist", "spine2": "Spine01", "spine3": "Spine02", "neck": "NeckTwist01",
    "head": "Head",
    **{f"{side}_{joint}": f"{s}_{cc}" for side, s in SIDES
       for joint, cc in (("hip", "Thigh"), ("knee", "Calf"), ("ankle", "Foot"), ("foot", "ToeBase"),
                         ("collar", "Clavicle"), ("shoulder", "Upperarm"), ("elbow", "Forearm"),
                         ("wrist", "Hand"))},
}
# Trunk joint -> CC frame that turns all its bones (the neck's bone ends after both CC neck segments).
TRUNK_FRAMES = {"pelvis": "Hip", "spine1": "Waist", "spine2": "Spine01", "spine3": "Spine02",
                "neck": "NeckTwist02", "head": "Head"}
# Leaves (points 22..26): the joint they hang from and the CC joint giving the clip's position (head top:
# none, its direction comes from the head's frame).
LEAVES = (("head", None), ("left_wrist", "L_Mid1"), ("right_wrist", "R_Mid1"), ("left_foot", "L_MidToe1"),
          ("right_foot", "R_MidToe1"))
LANDMARK_SIDES = {  # joint -> (CC joint from, CC joint to): a direction across the joint's bone
    f"{side}_{joint}": (f"{s}_{a}", f"{s}_{b}") for side, s in SIDES
    for joint, (a, b) in (("elbow", ("Pinky1", "Index1")), ("wrist", ("Pinky1", "Index1")),
                          ("ankle", ("PinkyToe1", "BigToe1")))
}
# Joint -> (CC frame holding the hinge, CC joints a -> b -> c of the bend, the open body's flexion direction
# at rest, minimum bend in degrees for calibration).
HINGES = {
    **{f"{side}_shoulder": (f"{s}_Upperarm", (f"{s}_Upperarm", f"{s}_Forearm", f"{s}_Hand"), (0, 0, 1), 30.0)
       for side, s in SIDES},
    **{f"{side}_hip": (f"{s}_Thigh", (f"{s}_Thigh", f"{s}_Calf", f"{s}_Foot"), (0, 0, -1), 30.0) for side, s in SIDES},
    **{f"{side}_knee": (f"{s}_Calf", (f"{s}_Thigh", f"{s}_Calf", f"{s}_Foot"), (0, 0, -1), 30.0) for side, s in SIDES},
}
# Hinge axes in the CC bones' frames from calibrate_hinges() over all 61 clips of shared/mocap (26,468 frames;
# 17-20 k bent frames each, median spread 0.1-0.3 deg). A test re-calibrates on two clips and compares.
CC_HINGES = {
    "L_Upperarm": (0.8591, 0.0332, 0.5108), "R_Upperarm": (0.8574, -0.0348, -0.5135),
    "L_Thigh": (-1.0, -0.0046, -0.0089), "R_Thigh": (-1.0, 0.0049, 0.0065),
    "L_Calf": (-1.0, -0.0064, 0.0057), "R_Calf": (-0.9999, 0.0065, -0.0086),
}
CHAIN_CHILD = {0: 3, 9: 12}  # pelvis aims at spine1, spine3 at the neck


@dataclass(frozen=True)
class OpenRig:
    """The open body's rest skeleton as the IK sees it: 22 joints + 5 leaves, metres, pelvis at the origin."""

    skeleton: hybrik.Skeleton
    rest: np.ndarray  # (27, 3)
    rest_sides: dict[int, np.ndarray]  # joint -> (3,) unit direction across its bone at rest

    def length(self, point: int) -> float:
        """Rest length of the bone ending at ``point``, metres."""
        return float(np.linalg.norm(self.rest[point] - self.rest[self.skeleton.parents[point]]))


def open_rig(model: BodyModel) -> OpenRig:
    """The IK rig of an SMPL-X-layout body (the open body, full or low resolution)."""
    if model.family != "smplx":
        raise ValueError(f"{model.name} is an SMPL body; pose retargeting needs the SMPL-X layout.")
    joints = model.rest_joints().astype(np.float64)
    vertices = model.v_template.astype(np.float64)
    named = dict(zip(SMPLX_NAMES, joints, strict=True))
    ids = dict(zip((str(n) for n in model.extras.get("vertex_ids_names", ())),
                   (int(i) for i in model.extras.get("vertex_ids", ())), strict=True))
    if not {"LBigToe", "LSmallToe", "RBigToe", "RSmallToe"} <= set(ids):
        raise ValueError(f"{model.name} lacks the open body's toe vertex_ids; reinstall the open body files.")
    toe = {side: vertices[[ids[f"{s}BigToe"], ids[f"{s}SmallToe"]]] for side, s in SIDES}
    leaves = [vertices[np.argmax(vertices[:, 1])], named["left_middle1"], named["right_middle1"],
              toe["left"].mean(axis=0), toe["right"].mean(axis=0)]
    rest = np.vstack([joints[:BODY_JOINTS], leaves])
    rest -= rest[0]
    leaf_parents = {SMPLX_NAMES.index(parent): BODY_JOINTS + k for k, (parent, _) in enumerate(LEAVES)}
    skeleton = hybrik.smpl_skeleton(SMPLX_PARENTS[:BODY_JOINTS], leaf_parents, CHAIN_CHILD)
    sides = {SMPLX_NAMES.index(joint): np.array([1.0, 0.0, 0.0]) for joint in TRUNK_FRAMES}
    for side, _ in SIDES:
        knuckles = named[f"{side}_index1"] - named[f"{side}_pinky1"]
        sides[SMPLX_NAMES.index(f"{side}_elbow")] = sides[SMPLX_NAMES.index(f"{side}_wrist")] = knuckles
        sides[SMPLX_NAMES.index(f"{side}_ankle")] = toe[side][0] - toe[side][1]
    for joint, (_, _, flexion, _) in HINGES.items():
        index = SMPLX_NAMES.index(joint)
        sides[index] = np.cross(rest[skeleton.child[index]] - rest[index], flexion)
    return OpenRig(skeleton, rest, {joint: side / np.linalg.norm(side) for joint, side in sides.items()})


@dataclass(frozen=True)
class ClipFrames:
    """What the IK needs from F frames of a clip, in the clip's world (Y up)."""

    directions: np.ndarray  # (F, 27, 3) unit direction of each point from its parent (row 0 unused)
    root: np.ndarray  # (F, 3, 3) pelvis orientation
    sides: dict[int, np.ndarray]  # joint -> (F, 3) direction across its bone


def clip_frames(motion: Motion, rig: OpenRig, frames: np.ndarray | None = None,
                hinges: dict[str, tuple[float, float, float]] | None = None) -> ClipFrames:
    """Bone directions, root orientations and twist directions of ``frames`` (all by default) of a clip."""
    hinges = CC_HINGES if hinges is None else hinges
    positions, rotations = forward_kinematics(motion, frames)
    cc = {name[len(CC):]: index for index, name in enumerate(motion.names) if name.startswith(CC)}
    needed = set(BODY_MAP.values()) | set(TRUNK_FRAMES.values()) | {s for _, s in LEAVES if s} | \
        {name for pair in LANDMARK_SIDES.values() for name in pair}
    missing = sorted(needed - set(cc))
    if missing:
        more = f" and {len(missing) - 1} other joints" if len(missing) > 1 else ""
        raise ValueError(f"{motion.source} is not on the CC_Base rig: it lacks {CC}{missing[0]}{more}.")
    parents = rig.skeleton.parents
    sources = [BODY_MAP[name] for name in SMPLX_NAMES[:BODY_JOINTS]] + [source for _, source in LEAVES]
    trunk = {SMPLX_NAMES.index(joint): cc[frame] for joint, frame in TRUNK_FRAMES.items()}
    directions = np.zeros((len(positions), len(parents), 3))
    for point, parent in enumerate(parents[1:], start=1):
        if parent in trunk:  # every bone leaving a trunk joint turns with its CC frame
            rest_bone = rig.rest[point] - rig.rest[parent]
            directions[:, point] = rotations[:, trunk[parent]] @ (rest_bone / np.linalg.norm(rest_bone))
        else:
            bone = positions[:, cc[sources[point]]] - positions[:, cc[sources[parent]]]
            directions[:, point] = bone / np.linalg.norm(bone, axis=1, keepdims=True)
    sides = {SMPLX_NAMES.index(j): rotations[:, cc[f]][:, :, 0] for j, f in TRUNK_FRAMES.items()}
    for joint, (a, b) in LANDMARK_SIDES.items():
        sides[SMPLX_NAMES.index(joint)] = positions[:, cc[b]] - positions[:, cc[a]]
    for joint, (frame, _, _, _) in HINGES.items():
        sides[SMPLX_NAMES.index(joint)] = rotations[:, cc[frame]] @ np.asarray(hinges[frame])
    return ClipFrames(directions, rotations[:, cc[TRUNK_FRAMES["pelvis"]]].copy(), sides)


def calibrate_hinges(motions: list[Motion]) -> dict[str, tuple[float, float, float]]:
    """Hinge axes in CC bone frames: the normalised mean of ``W^T unit(cross(b - a, c - b))`` over frames
    bent more than the hinge's minimum. ValueError if a hinge bends in fewer than 10 frames."""
    found = {}
    for frame, (a, b, c), _, minimum in HINGES.values():
        axes = []
        for motion in motions:
            positions, rotations = forward_kinematics(motion)
            index = {name[len(CC):]: i for i, name in enumerate(motion.names)}
            upper = positions[:, index[b]] - positions[:, index[a]]
            lower = positions[:, index[c]] - positions[:, index[b]]
            cross = np.cross(upper, lower)
            cosine = np.sum(upper * lower, axis=1) / (np.linalg.norm(upper, axis=1) * np.linalg.norm(lower, axis=1))
            bent = np.degrees(np.arccos(np.clip(cosine, -1, 1))) > minimum
            local = np.einsum("fba,fb->fa", rotations[bent, index[frame]], cross[bent])
            axes.append(local / np.linalg.norm(local, axis=1, keepdims=True))
        stacked = np.concatenate(axes)
        if len(stacked) < 10:
            raise ValueError(f"The clips bend {frame} in only {len(stacked)} frames; add clips to calibrate it.")
        mean = stacked.mean(axis=0)
        found[frame] = tuple(float(x) for x in mean / np.linalg.norm(mean))
    return found


def heading(rotations: np.ndarray) -> np.ndarray:
    """Turn about +Y (radians) of root rotations ``(F, 3, 3)``: where the body's +Z faces, seen from above."""
    forward = rotations[:, :, 2]
    return np.arctan2(forward[:, 0], forward[:, 2])


def yaw_matrices(angles: np.ndarray) -> np.ndarray:
    """Rotations about +Y by ``angles (F,)`` radians -> ``(F, 3, 3)``."""
    c, s = np.cos(angles), np.sin(angles)
    out = np.zeros((len(angles), 3, 3))
    out[:, 0, 0], out[:, 0, 2], out[:, 1, 1], out[:, 2, 0], out[:, 2, 2] = c, s, 1.0, -s, c
    return out


def canonical(frames: ClipFrames) -> ClipFrames:
    """The same frames turned about +Y so that each pelvis faces +Z (seen from above)."""
    unturn = yaw_matrices(-heading(frames.root))
    return ClipFrames(np.einsum("fab,fkb->fka", unturn, frames.directions), unturn @ frames.root,
                      {joint: np.einsum("fab,fb->fa", unturn, side) for joint, side in frames.sides.items()})


def retarget(frames: ClipFrames, rig: OpenRig) -> np.ndarray:
    """The clip's bone directions on the open body's bone lengths, from the pelvis at the origin:
    points ``(F, 27, 3)``, metres."""
    target = np.zeros_like(frames.directions)
    for point, parent in enumerate(rig.skeleton.parents):
        if parent >= 0:
            target[:, point] = target[:, parent] + rig.length(point) * frames.directions[:, point]
    return target


def solve(rig: OpenRig, frames: ClipFrames) -> np.ndarray:
    """Local rotations ``(F, 22, 3, 3)`` giving every free bone the clip's direction, twists from the sides.

    HybrIK's solve (``core.ik.hybrik``'s swing and side twist), the root given, with the target as bone
    directions: each child is aimed at from where its joint actually lands, so rest offsets the rigs do not
    share cannot tilt the bones below them. The same as ``hybrik.inverse_kinematics`` on the target
    ``posed parent + rest length * clip direction`` (tested)."""
    skeleton, rest = rig.skeleton, rig.rest
    local = np.empty((len(frames.root), BODY_JOINTS, 3, 3))
    world = np.empty((BODY_JOINTS, 3, 3))
    for frame in range(len(frames.root)):
        local[frame, 0] = world[0] = frames.root[frame]
        for joint in range(1, BODY_JOINTS):
            parent, child = skeleton.parents[joint], skeleton.child[joint]
            bone = rest[child] - rest[joint]
            rotation = hybrik.swing_rotation(bone, world[parent].T @ frames.directions[frame, child])
            if joint in frames.sides:
                axis = bone / np.linalg.norm(bone)
                seen = rotation.T @ (world[parent].T @ frames.sides[joint][frame])
                rotation = rotation @ axis_angle_to_matrix(axis * hybrik.side_twist(rig.rest_sides[joint], seen, axis))
            local[frame, joint] = rotation
            world[joint] = world[parent] @ rotation
    return local


def body_poses(local: np.ndarray) -> np.ndarray:
    """Local rotations ``(F, 22, 3, 3)`` -> SMPL-X axis-angle ``(F, 22, 3)`` float32."""
    return matrix_to_axis_angle(local).astype(np.float32)


BONE_NAMES = tuple(SMPLX_NAMES[1:BODY_JOINTS]) + ("left_middle1", "right_middle1")


def bone_errors(model: BodyModel, poses: np.ndarray, frames: ClipFrames) -> np.ndarray:
    """Angle (degrees) between each bone of the open body posed by ``poses (F, 22, 3)`` (its own joints and
    forward kinematics, fingers straight) and the clip's direction for it: ``(F, 23)``, bones ending at
    ``BONE_NAMES`` (body joints 1-21, then the middle knuckles, the hand leaves)."""
    full = np.zeros((len(poses), len(SMPLX_NAMES), 3), np.float32)
    full[:, :BODY_JOINTS] = poses
    joints = np.broadcast_to(model.rest_joints(), (len(poses), len(SMPLX_NAMES), 3)).astype(np.float64)
    world = lbs.world_transforms(axis_angle_to_matrix(full.astype(np.float64)), joints, SMPLX_PARENTS)
    posed = world[:, :, :3, 3]
    ends = [SMPLX_NAMES.index(name) for name in BONE_NAMES]
    bones = posed[:, ends] - posed[:, [SMPLX_PARENTS[end] for end in ends]]
    wanted = frames.directions[:, list(range(1, BODY_JOINTS)) + [BODY_JOINTS + 1, BODY_JOINTS + 2]]
    cosine = np.sum(bones * wanted, axis=2) / np.linalg.norm(bones, axis=2)
    return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))
