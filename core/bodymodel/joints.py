"""Joint names and parents of SMPL (24) and SMPL-X (55): the one source of truth.

Names are those of the SMPL-X Blender add-on's bones; parents index into the same list (-1: root).
"""

from __future__ import annotations

BODY_NAMES = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle", "right_ankle",
    "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
)
BODY_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)

SMPL_NAMES = BODY_NAMES + ("left_hand", "right_hand")
SMPL_PARENTS = BODY_PARENTS + (20, 21)

FINGERS = ("index", "middle", "pinky", "ring", "thumb")
_HAND_NAMES = tuple(f"{finger}{segment}" for finger in FINGERS for segment in (1, 2, 3))
SMPLX_NAMES = (BODY_NAMES + ("jaw", "left_eye_smplhf", "right_eye_smplhf")
               + tuple(f"left_{name}" for name in _HAND_NAMES) + tuple(f"right_{name}" for name in _HAND_NAMES))


def _hand_parents(wrist: int, first: int) -> tuple[int, ...]:
    parents = []
    for finger in range(len(FINGERS)):
        base = first + 3 * finger
        parents += [wrist, base, base + 1]
    return tuple(parents)


SMPLX_PARENTS = BODY_PARENTS + (15, 15, 15) + _hand_parents(20, 25) + _hand_parents(21, 40)

JOINT_NAMES = {"smpl": SMPL_NAMES, "smplx": SMPLX_NAMES}
PARENTS = {"smpl": SMPL_PARENTS, "smplx": SMPLX_PARENTS}
# Joints whose rotations a hand-pose PCA describes, per side (SMPL-X).
LEFT_HAND = slice(25, 40)
RIGHT_HAND = slice(40, 55)
JAW = 22
