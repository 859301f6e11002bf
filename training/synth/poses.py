"""The pose bank for synthetic samples: SMPL-X poses of the open body from the CMU clips, plus mirrored
copies, random hands, random ARKit faces and a random heading.

``python -m training.synth.poses --out runs/poses.npz [--mocap DIR] [--sources cc-base,...] [--clips 007_02,...]``
reads every source under the motion-capture folder (``mocap_sources.SOURCES``: the CC_Base BVH clips in
``bvh/`` and the ASF/AMC, Daz and cgspeed BVH, DeepMimic and FBX clips in ``extra/``), samples each clip at
``--rate`` (30) frames per second, and writes an ``.npz`` with (N poses):

* ``poses (N, 55, 3) float32``: SMPL-X axis-angle, radians. Joint 0 is the global orientation in the body's
  Y-up frame (identity = upright, facing +Z); it is the clip's pelvis orientation turned about +Y by
  ``heading``. Body joints 1-21 come from the clip (CC_Base: training/synth/retarget.py; the other formats:
  training/synth/retarget_positions.py), jaw and eyes are zero, fingers (25-54) are random within joint limits.
* ``heading (N,) float32``: the random turn about +Y (radians, uniform) applied to the root; turning by
  ``-heading`` gives the pose facing +Z (``apply_heading``). Cameras and tilts are the sample generator's.
* ``expressions (N, 52) float32``: ARKit blend-shape values of the open body in [0, 1] (``expression_names``).
* ``clip (N,) str``: the clip (CC_Base: its stem, ``007_02``; others: ``<source folder>/<path>``);
  ``source (N,) str``; ``trial (N,) str``, the CMU trial id; ``frame (N,) int32``, the frame in its file;
  ``mirrored (N,) bool``; ``split (N,) str``: ``train`` or ``validation``, by trial (``split_of``).
* ``ik_error_deg (N,) float32``: the largest angle between a bone of the posed open body and the clip's.
* ``joint_names (55,)``, ``expression_names (52,)``, ``report`` (a text summary), ``acknowledgement``.

Near-duplicate frames are dropped before the IK, within each split: two frames are near-duplicates when every
retargeted joint (pelvis at the origin, heading removed, open-body bone lengths) is within ``radius`` metres
per coordinate (a Chebyshev ball, greedy in clip order, with a KD-tree). Pure twists do not count as different.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from core.bodymodel.joints import FINGERS, SMPLX_NAMES
from core.bodymodel.library import load_body
from core.bodymodel.model import BodyModel
from core.rotations import axis_angle_to_matrix, matrix_to_axis_angle

from . import asfamc, deepmimic, retarget, retarget_positions
from .bvh import BVHError, load_bvh
from .mocap_sources import SOURCES, Clip, find_sources, read_fbx_points, read_points, sample_indices, trial_id
from .rigs import MAPS

REPOSITORY = Path(__file__).resolve().parents[2]
MOCAP_ENV = "POCKET_MOCAP_MOCAP"
ACKNOWLEDGEMENT = ("The data used in this project was obtained from mocap.cs.cmu.edu. The database was created "
                   "with funding from NSF EIA-0196217.")
# SMPL-X index of every joint's mirror image (left_* <-> right_*); an axis-angle mirrors as (x, -y, -z).
FLIP = np.array([SMPLX_NAMES.index(n.replace("left_", "#").replace("right_", "left_").replace("#", "right_"))
                 for n in SMPLX_NAMES])
FINGER_LIMITS_DEG = {1: (-10.0, 80.0), 2: (0.0, 100.0), 3: (0.0, 70.0)}  # flexion per segment, fingers
THUMB_LIMITS_DEG = {1: (-10.0, 40.0), 2: (0.0, 50.0), 3: (0.0, 70.0)}
SPREAD_DEG = 6.0  # sideways spread of the first segment (standard deviation; clipped at twice that)
KEYS = ("poses", "heading", "expressions", "clip", "frame", "mirrored", "ik_error_deg")
VALIDATION_PERCENT = 10  # of CMU trials (not frames) held out
HEAD_LIMIT_DEG = 90.0  # a head bent further from its neck is bad data (salsa 06 is upside down throughout)
SPLITS = ("train", "validation")
READ_ERRORS = (asfamc.AcclaimError, BVHError, deepmimic.DeepMimicError, ValueError, KeyError, FileNotFoundError)


def default_mocap() -> Path:
    """The CMU clips: ``$POCKET_MOCAP_MOCAP`` or ``shared/mocap`` next to the repository."""
    return Path(os.environ.get(MOCAP_ENV, REPOSITORY.parent / "shared" / "mocap"))


def find_clips(mocap: Path, names: list[str] | None = None) -> list[Path]:
    """BVH files under ``mocap`` (``bvh/<subject>/<clip>.bvh`` or anywhere below), sorted; ``names``
    (e.g. ``["007_02"]``) selects clips by file stem."""
    if not mocap.is_dir():
        raise FileNotFoundError(f"The motion-capture folder {mocap} does not exist; pass --mocap DIR or set "
                                f"{MOCAP_ENV}.")
    clips = sorted(mocap.rglob("*.bvh"))
    if names:
        wanted = set(names)
        clips = [clip for clip in clips if clip.stem in wanted]
        missing = wanted - {clip.stem for clip in clips}
        if missing:
            raise FileNotFoundError(f"No BVH clip named {', '.join(sorted(missing))} under {mocap}.")
    if not clips:
        raise FileNotFoundError(f"There are no .bvh files under {mocap}.")
    return clips


def subsample(features: np.ndarray, radius: float) -> np.ndarray:
    """Greedy near-duplicate removal: ``features (N, D)``; a row is kept unless an earlier kept row is within
    ``radius`` in every coordinate. Returns the kept row indices ``(K,)``, ascending."""
    tree = cKDTree(features)
    removed = np.zeros(len(features), bool)
    kept = []
    for row in range(len(features)):
        if not removed[row]:
            kept.append(row)
            removed[tree.query_ball_point(features[row], radius, p=np.inf)] = True
    return np.asarray(kept, np.int64)


def mirror_poses(poses: np.ndarray) -> np.ndarray:
    """Left-right mirror images (the YZ plane) of SMPL-X poses ``(N, 55, 3)``: joints swap sides and each
    axis-angle (x, y, z) becomes (x, -y, -z). Mirroring twice gives the poses back."""
    return poses[:, FLIP] * np.array([1.0, -1.0, -1.0], poses.dtype)


def expression_flip(names: tuple[str, ...]) -> np.ndarray:
    """Index of each ARKit shape's mirror image (``...Left`` <-> ``...Right``; others map to themselves)."""
    swapped = [n.replace("Left", "#").replace("Right", "Left").replace("#", "Right") for n in names]
    return np.array([names.index(n) if n in names else i for i, n in enumerate(swapped)])


def apply_heading(poses: np.ndarray, heading: np.ndarray) -> np.ndarray:
    """Turn poses ``(N, 55, 3)`` about +Y by ``heading (N,)`` radians (the root changes, nothing else)."""
    turned = poses.copy()
    root = retarget.yaw_matrices(heading) @ axis_angle_to_matrix(poses[:, 0].astype(np.float64))
    turned[:, 0] = matrix_to_axis_angle(root).astype(poses.dtype)
    return turned


def sample_global_orientation(rng: np.random.Generator, count: int) -> np.ndarray:
    """Random headings ``(count,)``: turns about +Y, radians, uniform in [-pi, pi)."""
    return rng.uniform(-np.pi, np.pi, count)


@dataclass(frozen=True)
class FingerAxes:
    """Per SMPL-X finger joint (25..54): flexion and spread axes ``(30, 3)`` in the rest frame, and limits."""

    flexion: np.ndarray
    spread: np.ndarray
    limits: np.ndarray  # (30, 2) radians


def finger_axes(joints: np.ndarray) -> FingerAxes:
    """Axes from the open body's rest joints ``(55, 3)`` (T-pose, palms down): fingers curl towards the palm
    (-Y), the thumb towards the palm's little-finger side; the spread axis is the palm normal."""
    flexion, spread, limits = [], [], []
    for side in ("left", "right"):
        across = joints[SMPLX_NAMES.index(f"{side}_pinky1")] - joints[SMPLX_NAMES.index(f"{side}_index1")]
        across /= np.linalg.norm(across)
        for finger, segment in ((finger, segment) for finger in FINGERS for segment in (1, 2, 3)):
            joint = SMPLX_NAMES.index(f"{side}_{finger}{segment}")
            end = joint + 1 if segment < 3 else joint  # the last segment continues the one before it
            bone = joints[end] - joints[end - 1]
            towards = across + np.array([0.0, -0.5, 0.0]) if finger == "thumb" else np.array([0.0, -1.0, 0.0])
            axis = np.cross(bone, towards)
            flexion.append(axis / np.linalg.norm(axis))
            spread.append(np.array([0.0, 1.0, 0.0]))
            table = THUMB_LIMITS_DEG if finger == "thumb" else FINGER_LIMITS_DEG
            limits.append(np.radians(table[segment]))
    return FingerAxes(np.array(flexion), np.array(spread), np.array(limits))


def sample_finger_poses(rng: np.random.Generator, count: int, axes: FingerAxes) -> np.ndarray:
    """Random hands ``(count, 30, 3)`` axis-angle (SMPL-X joints 25..54). Each hand has a grip in [0, 1]
    (a quarter open, under 0.15; 45 % relaxed, 0.15-0.55; 30 % curled, 0.55-1), each finger its own grip
    near it, each joint flexion = its lower limit + grip x range (x 1 +- 10 %), clipped to the limits; first
    segments of the four fingers spread sideways a little."""
    kind = rng.choice(3, size=(count, 2), p=[0.25, 0.45, 0.30])
    low, high = np.array([0.0, 0.15, 0.55])[kind], np.array([0.15, 0.55, 1.0])[kind]
    grip = rng.uniform(low, high)  # (count, hands)
    fingers = np.clip(grip[:, :, None] + rng.normal(0, 0.12, (count, 2, 5)), 0, 1)  # (count, hands, fingers)
    per_joint = np.repeat(fingers, 3, axis=2).reshape(count, 30)
    lower, upper = axes.limits[:, 0], axes.limits[:, 1]
    angle = np.clip(lower + per_joint * (upper - lower) * rng.normal(1.0, 0.1, (count, 30)), lower, upper)
    spread = np.clip(rng.normal(0, np.radians(SPREAD_DEG), (count, 30)), -np.radians(2 * SPREAD_DEG),
                     np.radians(2 * SPREAD_DEG))
    first_of_finger = np.array([(j % 15) % 3 == 0 and (j % 15) < 12 for j in range(30)])
    spread *= first_of_finger
    out = np.empty((count, 30, 3), np.float32)
    for rows in np.array_split(np.arange(count), max(1, count // 10000)):  # bounded memory for big banks
        flex = axis_angle_to_matrix(axes.flexion * angle[rows, :, None])
        out[rows] = matrix_to_axis_angle(flex @ axis_angle_to_matrix(axes.spread * spread[rows, :, None]))
    return out


def sample_expressions(rng: np.random.Generator, count: int, names: tuple[str, ...]) -> np.ndarray:
    """Sparse random ARKit faces ``(count, 52)`` in [0, 1]: 30 % neutral; the rest 1 + Poisson(2) shapes at
    0.2-1, and half of those faces symmetric (a shape's Left/Right twin gets the same value +- 0.1)."""
    values = np.zeros((count, len(names)), np.float32)
    twin = expression_flip(names)
    for row in range(count):
        if rng.random() < 0.3:
            continue
        chosen = rng.choice(len(names), size=min(len(names), 1 + rng.poisson(2)), replace=False)
        values[row, chosen] = rng.uniform(0.2, 1.0, len(chosen))
        if rng.random() < 0.5:
            values[row, twin[chosen]] = np.clip(values[row, chosen] + rng.normal(0, 0.05, len(chosen)), 0, 1)
    return values


def split_of(trial: str, percent: int = VALIDATION_PERCENT) -> str:
    """``"validation"`` for about ``percent`` % of CMU trials, else ``"train"``: the first 4 bytes of the
    trial id's SHA-256 mod 100, so a trial (and every copy of it in any format) always lands on the same side."""
    value = int.from_bytes(hashlib.sha256(trial.encode("utf-8")).digest()[:4], "big") % 100
    return "validation" if value < percent else "train"


@dataclass
class ClipPoses:
    """Retargeted frames of the clips, before subsampling."""

    frames: list[retarget.ClipFrames]  # per clip, canonical (facing +Z)
    features: np.ndarray  # (total, 27 * 3) retargeted points
    clip: np.ndarray  # (total,) clip index
    frame: np.ndarray  # (total,) frame index in its file
    row: np.ndarray  # (total,) row in its clip's ``frames``
    clips: list[Clip]  # per clip index
    file_frames: list[int]  # per clip index, frames in its file
    skipped: list[str]  # files that could not be used, with the reason
    dropped: dict[str, int]  # per source, frames dropped as implausible (``head_is_plausible``)


def _cc_frames(clip: Clip, rig: retarget.OpenRig, rate: float) -> tuple[retarget.ClipFrames, np.ndarray, int]:
    motion = load_bvh(clip.path)
    frames = sample_indices(motion.frames, motion.fps, rate)
    return retarget.clip_frames(motion, rig, frames), frames, motion.frames


def read_sources(clips: list[Clip], rig: retarget.OpenRig, rate: float = 30.0) -> ClipPoses:
    """Load, retarget and canonicalise every clip at about ``rate`` frames per second (CC_Base through its
    frames, the others through their points). Unreadable files are listed in ``skipped``, not fatal."""
    read, skipped = [], []
    for clip in clips:
        if clip.reader == "fbx":
            continue
        try:
            if clip.reader == "cc-bvh":
                read.append((clip, *_cc_frames(clip, rig, rate)))
            else:
                sampled = read_points(clip, rate)
                read.append((clip, retarget_positions.clip_frames(sampled.points, MAPS[clip.rig], rig),
                             sampled.frames, sampled.file_frames))
        except READ_ERRORS as exc:
            skipped.append(f"{clip.path}: {exc}")
    fbx_clips = [clip for clip in clips if clip.reader == "fbx"]
    if fbx_clips:
        for sampled, reason in read_fbx_points(fbx_clips, rate):
            if sampled is None:
                skipped.append(reason)
            else:
                read.append((sampled.clip, retarget_positions.clip_frames(sampled.points, MAPS[sampled.clip.rig],
                                                                          rig), sampled.frames, sampled.file_frames))
    order = {clip.path: index for index, clip in enumerate(clips)}
    read.sort(key=lambda item: order[item[0].path])
    empty = np.zeros(0, np.int64)
    poses = ClipPoses([], np.zeros((0, 81)), empty, empty, empty, [], [], skipped, {})
    features, clip_index, frame_index, rows = [], [], [], []
    for clip, frames, sampled, file_frames in read:
        plausible = head_is_plausible(frames)
        poses.dropped[clip.source] = poses.dropped.get(clip.source, 0) + int((~plausible).sum())
        if not plausible.any():
            skipped.append(f"{clip.path}: the head is folded back over {HEAD_LIMIT_DEG:g} deg in every frame")
            continue
        index = len(poses.clips)
        canonical = retarget.canonical(_rows(frames, plausible))
        sampled = sampled[plausible]
        count = len(canonical.root)
        poses.frames.append(canonical)
        poses.clips.append(clip)
        poses.file_frames.append(file_frames)
        features.append(retarget.retarget(canonical, rig).reshape(count, -1))
        clip_index.append(np.full(count, index))
        frame_index.append(sampled)
        rows.append(np.arange(count))
    if features:
        poses.features = np.concatenate(features)
        poses.clip, poses.frame, poses.row = (np.concatenate(a) for a in (clip_index, frame_index, rows))
    return poses


def head_is_plausible(frames: retarget.ClipFrames) -> np.ndarray:
    """``(F,)`` bool: the head (neck-to-head bone to head-top bone) bends less than ``HEAD_LIMIT_DEG``. Some
    conversions flip the head upside down (cmu-daz-acrnn salsa 06 and 07, ASF 127_32): those frames go."""
    head, top = SMPLX_NAMES.index("head"), retarget.BODY_JOINTS
    bone, above = frames.directions[:, head], frames.directions[:, top]
    cosine = np.sum(bone * above, axis=1) / (np.linalg.norm(bone, axis=1) * np.linalg.norm(above, axis=1))
    return cosine > np.cos(np.radians(HEAD_LIMIT_DEG))


def _rows(frames: retarget.ClipFrames, rows: np.ndarray) -> retarget.ClipFrames:
    return retarget.ClipFrames(frames.directions[rows], frames.root[rows],
                               {joint: side[rows] for joint, side in frames.sides.items()})


def subsample_by_split(features: np.ndarray, splits: np.ndarray, radius: float) -> np.ndarray:
    """``subsample`` within each split separately (a validation pose is never dropped for resembling a
    training pose): kept row indices ``(K,)``, ascending."""
    kept = [rows[subsample(features[rows], radius)] for split in SPLITS
            if len(rows := np.flatnonzero(splits == split))]
    return np.sort(np.concatenate(kept)) if kept else np.zeros(0, np.int64)


def solve_kept(clips: ClipPoses, kept: np.ndarray, rig: retarget.OpenRig, model: BodyModel
               ) -> tuple[np.ndarray, np.ndarray]:
    """IK for the kept frames (``retarget_positions.solve``: retarget.py's solve over all frames at once): body
    poses ``(K, 22, 3)`` and their bone errors ``(K, 23)`` in degrees (``retarget.bone_errors``: the open body's
    own forward kinematics against the clip's directions)."""
    body = np.zeros((len(kept), 22, 3), np.float32)
    errors = np.zeros((len(kept), len(retarget.BONE_NAMES)))
    for index in np.unique(clips.clip[kept]):
        rows = np.flatnonzero(clips.clip[kept] == index)
        source = clips.frames[index]
        chosen = clips.row[kept[rows]]
        subset = _rows(source, chosen)
        body[rows] = retarget.body_poses(retarget_positions.solve(rig, subset))
        errors[rows] = retarget.bone_errors(model, body[rows], subset)
    return body, errors


def build_pose_bank(clips: list[Clip] | list[Path], radius: float = 0.05, seed: int = 0, rate: float = 30.0
                    ) -> dict:
    """The bank's arrays (see the module docstring) from ``clips`` (``mocap_sources.Clip``s, or CC_Base BVH
    paths)."""
    start = time.perf_counter()
    clips = [_cc_clip(c) if isinstance(c, Path) else c for c in clips]
    model = load_body("open", "smplx")
    rig = retarget.open_rig(model)
    read = read_sources(clips, rig, rate)
    seconds = {"reading": time.perf_counter() - start}
    if not len(read.features):
        raise FileNotFoundError("None of the clips could be read: " + "; ".join(read.skipped[:3]))
    trials = np.array([clip.trial for clip in read.clips])
    splits = np.array([split_of(trial) for trial in trials])
    kept = subsample_by_split(read.features, splits[read.clip], radius)
    seconds["subsampling"] = time.perf_counter() - start - sum(seconds.values())
    body, errors = solve_kept(read, kept, rig, model)
    seconds["IK"] = time.perf_counter() - start - sum(seconds.values())
    poses = np.zeros((len(kept), len(SMPLX_NAMES), 3), np.float32)
    poses[:, :22] = body
    poses = np.concatenate([poses, mirror_poses(poses)])
    count = len(poses)
    rng = np.random.default_rng(seed)
    poses[:, 25:] = sample_finger_poses(rng, count, finger_axes(model.rest_joints().astype(np.float64)))
    heading = sample_global_orientation(rng, count)
    kept_clip = read.clip[kept]
    bank = {
        "poses": apply_heading(poses, heading), "heading": heading.astype(np.float32),
        "expressions": sample_expressions(rng, count, model.expression_names),
        "clip": np.tile(np.array([c.name for c in read.clips])[kept_clip], 2),
        "source": np.tile(np.array([c.source for c in read.clips])[kept_clip], 2),
        "trial": np.tile(trials[kept_clip], 2), "split": np.tile(splits[kept_clip], 2),
        "frame": np.tile(read.frame[kept], 2).astype(np.int32),
        "mirrored": np.repeat([False, True], len(kept)),
        "ik_error_deg": np.tile(errors.max(axis=1), 2).astype(np.float32),
        "joint_names": np.array(SMPLX_NAMES), "expression_names": np.array(model.expression_names),
        "acknowledgement": np.array(ACKNOWLEDGEMENT),
    }
    seconds["total"] = time.perf_counter() - start
    bank["report"] = np.array(_report(read, kept, splits, errors, radius, rate, count, seconds))
    return bank


def _cc_clip(path: Path) -> Clip:
    """A CC_Base BVH path (``.../007/007_02.bvh``) as a clip."""
    return Clip("cc-base", path.stem, trial_id(*path.stem.split("_")[:2]), path, "cc-bvh", "cc-base", 0.01, None,
                False)


def _report(read: ClipPoses, kept: np.ndarray, splits: np.ndarray, errors: np.ndarray, radius: float, rate: float,
            count: int, seconds: dict[str, float]) -> str:
    """The coverage per source (clips, frames read, frames sampled, poses kept per split) and the IK check."""
    lines = []
    kept_clip = read.clip[kept]
    for source in dict.fromkeys(clip.source for clip in read.clips):
        indices = [i for i, clip in enumerate(read.clips) if clip.source == source]
        sampled = int(np.isin(read.clip, indices).sum())
        in_source = np.isin(kept_clip, indices)
        train = int((in_source & (splits[kept_clip] == "train")).sum())
        lines.append(f"{source}: {len(indices)} clips, {sum(read.file_frames[i] for i in indices)} frames read, "
                     f"{sampled} used at {rate:g} fps ({read.dropped.get(source, 0)} more dropped: the head folded "
                     f"back over {HEAD_LIMIT_DEG:g} deg), {train} + {int(in_source.sum()) - train} poses kept "
                     "(train + validation)")
    per_bone = ", ".join(f"{name} {mean:.3f}" for name, mean in zip(retarget.BONE_NAMES, errors.mean(axis=0),
                                                                      strict=True))
    held_out = sorted({clip.trial for clip in read.clips if split_of(clip.trial) == "validation"})
    text = (f"{len(read.clips)} clips, {len(read.features)} frames at {rate:g} fps; {len(kept)} distinct poses after "
            f"subsampling within each split (radius {radius} m); {count} after mirroring; "
            + ", ".join(f"{stage} {value:.1f} s" for stage, value in seconds.items()) + ". "
            + "; ".join(lines) + f". Validation trials ({len(held_out)}): {', '.join(held_out)}. "
            f"Posed bone vs clip direction, mean per bone (deg): {per_bone}; largest {errors.max():.3f} deg.")
    if read.skipped:
        text += f" Not used ({len(read.skipped)}): " + "; ".join(read.skipped) + "."
    return text


def load_pose_bank(path: str | Path) -> dict:
    """The arrays of a pose bank written by this module; FileNotFoundError / ValueError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"There is no pose bank at {path}; write one with python -m training.synth.poses.")
    with np.load(path, allow_pickle=False) as data:
        bank = {key: data[key] for key in data.files}
    missing = [key for key in KEYS if key not in bank]
    if missing:
        raise ValueError(f"{path} is not a pose bank: it lacks {', '.join(missing)}.")
    count = len(bank["poses"])
    if bank["poses"].shape != (count, 55, 3) or bank["expressions"].shape != (count, 52):
        raise ValueError(f"{path}: poses {bank['poses'].shape} / expressions {bank['expressions'].shape} "
                         "are not (N, 55, 3) / (N, 52).")
    return bank


def select_clips(mocap: Path, sources: list[str] | None, names: list[str] | None) -> list[Clip]:
    """The clips of ``sources`` (default: every source present) whose name, file stem or CMU trial id is in
    ``names`` (default: all). FileNotFoundError naming what is missing."""
    if not mocap.is_dir():
        raise FileNotFoundError(f"The motion-capture folder {mocap} does not exist; pass --mocap DIR or set "
                                f"{MOCAP_ENV}.")
    if sources is None:
        sources = [s for s in SOURCES if s == "cc-base" or (mocap / "extra" / "index.csv").is_file()]
    clips = find_sources(mocap, sources)
    if names:
        wanted = set(names)
        clips = [c for c in clips if wanted & {c.name, Path(c.name).name, c.trial}]
        found = {key for c in clips for key in (c.name, Path(c.name).name, c.trial)}
        missing = wanted - found
        if missing:
            raise FileNotFoundError(f"No clip named {', '.join(sorted(missing))} under {mocap}.")
    return clips


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the pose bank for synthetic samples from the CMU clips.")
    parser.add_argument("--out", type=Path, required=True, help="the .npz to write (keep it under runs/)")
    parser.add_argument("--mocap", type=Path, default=None, help=f"the clips' folder (default: ${MOCAP_ENV} or "
                        "shared/mocap next to the repository)")
    parser.add_argument("--sources", default="", help=f"comma-separated, from {', '.join(SOURCES)} (default: all "
                        "present)")
    parser.add_argument("--clips", default="", help="comma-separated clip names or CMU trial ids, e.g. "
                        "007_02,14_02 (default: all)")
    parser.add_argument("--radius", type=float, default=0.05, help="near-duplicate radius, metres per coordinate")
    parser.add_argument("--rate", type=float, default=30.0, help="frames per second taken from each clip")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        clips = select_clips(args.mocap or default_mocap(), [s for s in args.sources.split(",") if s] or None,
                             [c for c in args.clips.split(",") if c] or None)
    except (FileNotFoundError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 2
    bank = build_pose_bank(clips, args.radius, args.seed, args.rate)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **bank)
    print(f"{args.out}: {bank['report']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
