"""MediaPipe landmarks and where they sit on a body model: the one source of truth for the mapping.

MediaPipe Pose gives 33 landmarks (image pixels, and "world" metres around the hip centre in camera-aligned
axes: x right, y down, z away). Each maps to a model *point*: a joint, or a surface vertex found on the
model's rest mesh by a geometric rule, so the same table serves SMPL, SMPL-X and the open body.
"""

from __future__ import annotations

import numpy as np

POSE_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
    "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
POSE = {name: index for index, name in enumerate(POSE_NAMES)}

# MediaPipe pose landmark -> body-model joint (names as in core/bodymodel/joints.py).
JOINT_LANDMARKS = {
    "left_shoulder": "left_shoulder", "right_shoulder": "right_shoulder", "left_elbow": "left_elbow",
    "right_elbow": "right_elbow", "left_wrist": "left_wrist", "right_wrist": "right_wrist", "left_hip": "left_hip",
    "right_hip": "right_hip", "left_knee": "left_knee", "right_knee": "right_knee", "left_ankle": "left_ankle",
    "right_ankle": "right_ankle",
}
# MediaPipe pose landmark -> a surface point found on the rest mesh (see surface_vertices()).
SURFACE_LANDMARKS = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_heel", "right_heel",
                     "left_foot_index", "right_foot_index", "left_index", "right_index", "left_pinky",
                     "right_pinky")

# MediaPipe hand landmarks (21) per SMPL-X finger joint and the fingertip that aims its last joint.
HAND_CHAINS = {"thumb": (1, 2, 3, 4), "index": (5, 6, 7, 8), "middle": (9, 10, 11, 12), "ring": (13, 14, 15, 16),
               "pinky": (17, 18, 19, 20)}
HAND_WRIST, HAND_INDEX_BASE, HAND_PINKY_BASE = 0, 5, 17
# Face mesh (468): inner upper and lower lip, eye corners for scale.
FACE_UPPER_LIP, FACE_LOWER_LIP, FACE_LEFT_EYE_OUTER, FACE_RIGHT_EYE_OUTER = 13, 14, 263, 33


def surface_vertices(rest_vertices: np.ndarray, weights: np.ndarray, joint_names: tuple[str, ...],
                     rest_joints: np.ndarray) -> dict[str, int]:
    """Vertex index of each SURFACE_LANDMARKS point on a T-posed, Y-up body facing +Z (left = +X).

    Rules: nose = the most forward head vertex; eyes = nearest to nose + (±3.2, +3.5, -2) cm; ears = the
    outermost head vertex at eye height; heels = the most backward vertex below the ankle; toes = the most
    forward foot vertex; index/pinky knuckles = hand vertices nearest the knuckle line's ends.
    """
    part = np.asarray(joint_names)[np.argmax(weights, axis=1)]
    head = np.flatnonzero(np.isin(part, ("head", "jaw", "left_eye_smplhf", "right_eye_smplhf", "neck")))
    head = head[rest_vertices[head, 1] > rest_joints[joint_names.index("head"), 1] - 0.02]
    nose = head[np.argmax(rest_vertices[head, 2])]
    found = {"nose": int(nose)}
    for side, sign in (("left", 1.0), ("right", -1.0)):
        eye_guess = rest_vertices[nose] + (0.032 * sign, 0.035, -0.02)
        eye = head[np.argmin(np.linalg.norm(rest_vertices[head] - eye_guess, axis=1))]
        slab = head[np.abs(rest_vertices[head, 1] - rest_vertices[eye, 1]) < 0.025]
        found[f"{side}_eye"] = int(eye)
        found[f"{side}_ear"] = int(slab[np.argmax(sign * rest_vertices[slab, 0])])
        found.update(_foot_points(rest_vertices, part, rest_joints, joint_names, side))
        found.update(_hand_points(rest_vertices, part, rest_joints, joint_names, side, sign))
    return found


def _foot_points(vertices, part, joints, names, side) -> dict[str, int]:
    foot = np.flatnonzero(np.isin(part, (f"{side}_ankle", f"{side}_foot")))
    ankle = joints[names.index(f"{side}_ankle")]
    low = foot[vertices[foot, 1] < ankle[1] - 0.03]
    return {f"{side}_heel": int(low[np.argmin(vertices[low, 2])]),
            f"{side}_foot_index": int(foot[np.argmax(vertices[foot, 2])])}


def _hand_points(vertices, part, joints, names, side, sign) -> dict[str, int]:
    hand_parts = [n for n in names if n.startswith(side) and (n.endswith(("hand", "wrist")) or n[-1].isdigit())]
    hand = np.flatnonzero(np.isin(part, hand_parts))
    wrist = joints[names.index(f"{side}_wrist")]
    reach = sign * (vertices[hand, 0] - wrist[0])
    knuckles = hand[np.abs(reach - np.percentile(reach, 70)) < 0.01]
    return {f"{side}_index": int(knuckles[np.argmax(vertices[knuckles, 2])]),
            f"{side}_pinky": int(knuckles[np.argmin(vertices[knuckles, 2])])}


def landmark_points(rest_vertices: np.ndarray, weights: np.ndarray, joint_names: tuple[str, ...],
                    rest_joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where all 33 pose landmarks sit on a body (to make MediaPipe-equivalent landmarks on a synthetic one).

    Returns ``joint (33,)`` (a joint index, -1 where the landmark is a vertex) and ``vertex (33,)`` (a vertex
    index, -1 where it is a joint). JOINT_LANDMARKS and surface_vertices() give 25 of them; the other 8 use
    these rules on the T-posed, Y-up, +Z-facing rest mesh: eye corners = head vertices nearest the eye
    vertex ± 1.6 cm across (inner towards the midline); mouth corners = nearest nose + (±2.4, -4.5, -1.5) cm;
    thumbs = the most forward vertex of the hand (the palm faces down, so the thumb points forward).
    """
    found = surface_vertices(rest_vertices, weights, joint_names, rest_joints)
    found.update(_face_corners(rest_vertices, weights, joint_names, found))
    joint, vertex = np.full(len(POSE_NAMES), -1), np.full(len(POSE_NAMES), -1)
    for name, index in POSE.items():
        if name in JOINT_LANDMARKS:
            joint[index] = joint_names.index(JOINT_LANDMARKS[name])
        else:
            vertex[index] = found[name]
    return joint, vertex


def _face_corners(vertices, weights, names, found) -> dict[str, int]:
    part = np.asarray(names)[np.argmax(weights, axis=1)]
    head = np.flatnonzero(np.isin(part, ("head", "jaw", "neck")))  # no eyeballs: corners lie on the skin
    nearest = lambda point: int(head[np.argmin(np.linalg.norm(vertices[head] - point, axis=1))])  # noqa: E731
    corners = {}
    for side, sign in (("left", 1.0), ("right", -1.0)):
        eye = vertices[found[f"{side}_eye"]]
        corners[f"{side}_eye_inner"] = nearest(eye + (-0.016 * sign, 0.0, 0.0))
        corners[f"{side}_eye_outer"] = nearest(eye + (0.016 * sign, 0.0, -0.006))
        corners[f"mouth_{side}"] = nearest(vertices[found["nose"]] + (0.024 * sign, -0.045, -0.015))
        hand_parts = [n for n in names if n.startswith(side) and (n.endswith(("hand", "wrist")) or n[-1].isdigit())]
        hand = np.flatnonzero(np.isin(part, hand_parts))
        corners[f"{side}_thumb"] = int(hand[np.argmax(vertices[hand, 2])])
    return corners
