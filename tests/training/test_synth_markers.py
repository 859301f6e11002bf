"""The open body's 67 markers and 5 leaves: on the intended part and side, in front of or behind the body as
their names say, mirror pairs mirroring, the same ids every run; SMPL-topology models keep SMPL's ids."""

from __future__ import annotations

import numpy as np
import pytest
from support.bodyfiles import random_model_arrays

from core.bodymodel.joints import SMPL_NAMES
from core.bodymodel.library import load_body
from core.bodymodel.model import body_model_from_arrays
from training.markers import LEAF_VERTICES, MARKER_FLIP_PAIRS, MARKERS
from training.synth.open_markers import MARKER_NAMES, MARKER_PARTS, keypoint_vertices, smpl_group

# Fixed once the rules were checked on renders; a change here changes every generated sample.
EXPECTED = {
    False: [881, 8755, 2103, 11574, 4972, 10585, 8225, 1563, 10047, 10773, 4148, 3395, 11083, 4481, 12969, 6388, 4446,
            11048, 4426, 11028, 4099, 1762, 8418, 5317, 11905, 239, 6994, 1604, 1524, 8260, 1703, 8359, 4072, 3371,
            10023, 3440, 10092, 4308, 10920, 3884, 10533, 3201, 9853, 3197, 9849, 4481, 11083, 4595, 11197, 4729,
            11331, 4810, 11412, 6692, 13272, 6131, 12712, 6230, 12811, 5919, 12500, 12421, 5840, 10806, 4184, 3972,
            1496, 7643, 961, 3938, 10184, 3532],
    True: [100, 864, 256, 1133, 541, 977, 793, 184, 943, 990, 385, 332, 1064, 470, 1070, 476, 454, 1049, 465, 1059,
           401, 215, 825, 548, 1139, 15, 652, 181, 151, 790, 159, 771, 394, 328, 817, 344, 952, 441, 1038, 352, 961,
           323, 933, 270, 878, 470, 1064, 493, 1087, 516, 1115, 536, 1128, 583, 1173, 593, 1181, 597, 1188, 634, 1225,
           1176, 586, 1009, 408, 372, 93, 1146, 556, 371, 959, 348],
}
FRONT = {"LFHD", "RFHD", "LCHEECK", "RCHEECK", "CLAV", "STRN", "MBLLY", "LBUST", "RBUST", "LFWT", "RFWT", "LFTHI",
         "RFTHI", "LFTHIIN", "RFTHIIN", "LSHN", "RSHN", "LIWR", "RIWR", "LTHMB", "RTHMB"}
BACK = {"LBHD", "RBHD", "C7", "T10", "LBAK", "RBAK", "LSCAP", "RSCAP", "LBWT", "RBWT", "LOWR", "ROWR", "LHEE", "RHEE"}
MIDLINE = {"CLAV", "STRN", "T10", "C7", "MBLLY"}
# Markers that sit on a joint, and how far (metres) from its rest position they may be.
NEAR_JOINT = {"LKNE": ("left_knee", 0.08), "LKNI": ("left_knee", 0.08), "LANK": ("left_ankle", 0.06),
              "LSHO": ("left_shoulder", 0.08), "LELB": ("left_elbow", 0.06), "LELBIN": ("left_elbow", 0.06),
              "LIWR": ("left_wrist", 0.05), "LOWR": ("left_wrist", 0.05), "C7": ("neck", 0.09),
              "CLAV": ("neck", 0.11), "RKNE": ("right_knee", 0.08), "RANK": ("right_ankle", 0.06)}


@pytest.fixture(scope="module", params=[(family, lowres) for family in ("smplx", "smpl") for lowres in (False, True)],
                ids=lambda p: f"{p[0]}{'-lowres' if p[1] else ''}")
def placed(request):
    family, lowres = request.param
    model = load_body("open", family, lowres=lowres)
    ids = keypoint_vertices(model)
    return model, lowres, ids, dict(zip(MARKER_NAMES, ids[5:], strict=True))


def test_ids_are_fixed_and_family_independent(placed):
    model, lowres, ids, _ = placed
    assert ids.shape == (72,) and ids.dtype == np.int64
    assert ids.tolist() == EXPECTED[lowres]
    assert np.array_equal(keypoint_vertices(model), ids), "deterministic"


def test_markers_are_distinct_except_the_repeated_thigh_markers(placed):
    _, _, ids, markers = placed
    assert len(set(markers.values())) == len(set(MARKER_NAMES)) == 65
    assert not set(ids[:5]) & set(ids[5:]), "leaves are not markers"


def test_each_marker_is_on_its_intended_body_part(placed):
    """The dominant skinning joint of the model's own weights (SMPL-X finger, jaw and eye joints counted as
    their SMPL group) is one of the marker's intended joints."""
    model, _, _, markers = placed
    dominant = np.argmax(model.weights, axis=1)
    group = smpl_group(model.joint_names)
    for name, vertex in markers.items():
        intended = [SMPL_NAMES.index(joint) for joint in MARKER_PARTS[name]]
        found = model.joint_names[dominant[vertex]]
        assert group[dominant[vertex]] in intended, f"{name} is on {found}, not {MARKER_PARTS[name]}"


def test_left_markers_are_left_right_markers_right_midline_central(placed):
    model, _, ids, markers = placed
    x = model.v_template[:, 0]
    for name, vertex in markers.items():
        if name in MIDLINE:
            assert abs(x[vertex]) < 0.01, name
        elif name.startswith("L"):
            assert x[vertex] > 0.02, f"{name} at x = {x[vertex]:.3f}: the body's left is +X"
        else:
            assert name.startswith("R") and x[vertex] < -0.02, name
    assert x[ids[1]] > 0.7 and x[ids[2]] < -0.7 and x[ids[3]] > 0 and x[ids[4]] < 0, "fingertips and toes"
    assert abs(x[ids[0]]) < 0.01 and model.v_template[ids[0], 1] == model.v_template[:, 1].max()


def test_front_and_back_markers_are_on_their_side_of_the_mid_plane(placed):
    """The mid-plane at a marker: halfway between the front- and backmost vertices within 2 cm of its
    height and 3 cm of its x (a cross-section of the trunk, head, arm or foot there; twice that on the
    coarse low-resolution mesh)."""
    model, lowres, _, markers = placed
    vertices = model.v_template
    reach = 2.0 if lowres else 1.0
    for name in FRONT | BACK:
        point = vertices[markers[name]]
        near = (np.abs(vertices[:, 1] - point[1]) < 0.02 * reach) & (np.abs(vertices[:, 0] - point[0]) < 0.03 * reach)
        mid = (vertices[near, 2].max() + vertices[near, 2].min()) / 2
        if name in FRONT:
            assert point[2] > mid + 0.01, f"{name} z = {point[2]:.3f} is not in front of {mid:.3f}"
        else:
            assert point[2] < mid - 0.01, f"{name} z = {point[2]:.3f} is not behind {mid:.3f}"


def test_left_right_pairs_mirror_each_other(placed):
    model, _, ids, _ = placed
    points = model.v_template[ids].astype(np.float64)
    mirror = np.array([-1.0, 1.0, 1.0])
    for left, right in ((1, 2), (3, 4), *((5 + a, 5 + b) for a, b in MARKER_FLIP_PAIRS)):
        gap = np.linalg.norm(points[left] * mirror - points[right])
        assert gap < 0.02, f"keypoints {left} and {right} are {gap:.3f} m from mirror images"


def test_joint_markers_sit_at_their_joints_and_heels_at_the_body_files_heels(placed):
    model, _, _, markers = placed
    joints = dict(zip(model.joint_names, model.rest_joints(), strict=True))
    for name, (joint, reach) in NEAR_JOINT.items():
        distance = np.linalg.norm(model.v_template[markers[name]] - joints[joint])
        assert distance < reach, f"{name} is {distance:.3f} m from {joint}"
    extra = dict(zip((str(n) for n in model.extras["vertex_ids_names"]), model.extras["vertex_ids"], strict=True))
    for marker, heel in (("LHEE", "LHeel"), ("RHEE", "RHeel")):  # Anny's own COCO heel: an independent source
        assert np.linalg.norm(model.v_template[markers[marker]] - model.v_template[extra[heel]]) < 0.05


def test_smpl_topology_keeps_training_markers_ids():
    model = body_model_from_arrays(random_model_arrays("smpl", seed=1), "smpl", "random SMPL-topology body")
    ids = keypoint_vertices(model)
    assert ids.tolist() == [*LEAF_VERTICES, *(vid for _, vid in MARKERS)]


def test_unknown_meshes_are_refused():
    model = body_model_from_arrays(random_model_arrays("smplx", seed=2), "smplx", "SMPLX_NEUTRAL.npz")
    with pytest.raises(ValueError, match="10475 vertices"):
        keypoint_vertices(model)
