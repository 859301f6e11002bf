"""SMPL-X fingers from MediaPipe hand landmarks, and the jaw from the face mesh.

Hand landmarks come as pixels with a depth in the same scale, so directions between them are
camera-space directions (weak perspective). Each finger is solved by swing-only IK from the wrist's
posed frame; the hand's own orientation stays the body fit's.
"""

from __future__ import annotations

import numpy as np

from ...ik.hybrik import swing_rotation
from ...rotations import matrix_to_axis_angle
from .landmarks import FACE_LEFT_EYE_OUTER, FACE_LOWER_LIP, FACE_RIGHT_EYE_OUTER, FACE_UPPER_LIP, HAND_CHAINS

# SMPL-X finger joints per side: name -> (first joint index); segments 1, 2, 3 follow.
FINGER_ORDER = ("index", "middle", "pinky", "ring", "thumb")
FIRST_FINGER_JOINT = {"left": 25, "right": 40}
JAW_OPEN_PER_RATIO = 1.2  # radians of jaw rotation per (lip gap / eye-corner distance)


def finger_rotations(side: str, landmarks: np.ndarray, wrist_world: np.ndarray, rest_joints: np.ndarray,
                     parents: tuple[int, ...], rest_tips: dict[str, np.ndarray]) -> dict[int, np.ndarray]:
    """Local rotations ``{joint: (3, 3)}`` of one hand's 15 finger joints.

    ``landmarks: (21, 3)`` MediaPipe hand points; ``wrist_world: (3, 3)`` the posed wrist rotation in
    camera space; ``rest_joints: (J, 3)``; ``rest_tips``: each finger's rest tip position.
    """
    rotations = {}
    for finger_index, finger in enumerate(FINGER_ORDER):
        first = FIRST_FINGER_JOINT[side] + 3 * finger_index
        chain = HAND_CHAINS[finger]
        world = wrist_world
        for segment in range(3):
            joint = first + segment
            child_rest = rest_joints[joint + 1] if segment < 2 else rest_tips[finger]
            bone = child_rest - rest_joints[joint]
            observed = landmarks[chain[segment + 1]] - landmarks[chain[segment]]
            local = swing_rotation(bone, world.T @ observed)
            rotations[joint] = local
            world = world @ local
    return rotations


def finger_tips(rest_vertices: np.ndarray, weights: np.ndarray, rest_joints: np.ndarray) -> dict[str, dict]:
    """Rest fingertip per side and finger: the vertex of the last segment farthest from its joint."""
    owner = np.argmax(weights, axis=1)
    tips = {}
    for side, first in FIRST_FINGER_JOINT.items():
        tips[side] = {}
        for finger_index, finger in enumerate(FINGER_ORDER):
            last = first + 3 * finger_index + 2
            vertices = np.flatnonzero(owner == last)
            if len(vertices) == 0:  # a coarse mesh may give a segment no vertex of its own
                tips[side][finger] = rest_joints[last] + (rest_joints[last] - rest_joints[last - 1])
                continue
            far = np.argmax(np.linalg.norm(rest_vertices[vertices] - rest_joints[last], axis=1))
            tips[side][finger] = rest_vertices[vertices[far]]
    return tips


def jaw_rotation(face: np.ndarray) -> np.ndarray:
    """Axis-angle ``(3,)`` opening the jaw by the lip gap relative to the eye-corner distance."""
    gap = np.linalg.norm(face[FACE_LOWER_LIP, :2] - face[FACE_UPPER_LIP, :2])
    width = np.linalg.norm(face[FACE_LEFT_EYE_OUTER, :2] - face[FACE_RIGHT_EYE_OUTER, :2]) + 1e-6
    return np.array([min(gap / width * JAW_OPEN_PER_RATIO, 0.5), 0.0, 0.0])


def to_axis_angle(rotations: dict[int, np.ndarray], poses: np.ndarray) -> np.ndarray:
    """Write ``rotations`` into ``poses (J, 3)`` as axis-angle; returns ``poses``."""
    for joint, matrix in rotations.items():
        poses[joint] = matrix_to_axis_angle(matrix)
    return poses
