"""Every CMU clip under the motion-capture folder, whatever its format, as points for the retargeting.

Sources (``SOURCES``): the 61 CC_Base BVH clips in ``bvh/`` and, under ``extra/`` (gzip-compressed, listed
in ``extra/index.csv``), the original ASF/AMC, Daz-friendly and MotionBuilder-friendly (cgspeed) BVH,
DeepMimic humanoid3d JSON and FBX. ``find_sources`` lists ``Clip``s; ``read_points`` turns one into a
``RigMotion`` (points in metres, Y up, the rest pose facing +Z) sampled at about ``rate`` frames per second
by taking the nearest frames (no interpolation); FBX files are read all at once with ``read_fbx_points``.
Each clip carries its CMU trial id (``02_01``), the unit a train/validation split keeps whole.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import asfamc, deepmimic, fbx
from .bvh import Motion, forward_kinematics, load_bvh, parse_bvh
from .retarget_positions import RigMotion, point_track
from .rigs import MAPS, RigMap

CGSPEED_UNIT = asfamc.INCH / 0.45  # cgspeed BVH keeps the ASF length unit
CENTIMETRES = 0.01
# extra/ folder -> (reader, rig map name, metres per file unit, drops the first frame: an added T-pose)
SOURCES = {
    "cc-base": ("cc-bvh", "cc-base", CENTIMETRES, False),
    "cmu-asfamc-maxxgx": ("asfamc", "asf", None, False),
    "cmu-daz-acrnn": ("bvh", "daz", CENTIMETRES, True),
    "cmu-daz-przestr": ("bvh", "daz", CENTIMETRES, True),
    "cmu-cgspeed-06": ("bvh", "cgspeed", CGSPEED_UNIT, True),
    "cmu-deepmimic-jump": ("deepmimic", "deepmimic", None, False),
    "cmu-small-extras": (None, None, None, False),  # per file: ASF/AMC or FBX
}
# FBX root bone -> (rig map, metres per file unit, drops the first frame), or why such files are not used.
FBX_RIGS = {
    "Hips": ("cgspeed", CGSPEED_UNIT, True),  # cgspeed BVH exported as is: ASF units, the T-pose first
    "Neo_Hips": "they carry no rest pose (Blender's rest is their first frame, a crouch in 85_04), so the trunk, "
                "hand and foot turns have no reference",
}
DEEPMIMIC_CHARACTER = "cmu-deepmimic-jump/characters/humanoid3d.txt"


@dataclass(frozen=True)
class Clip:
    """One motion file."""

    source: str  # a SOURCES key
    name: str  # unique: the CC clip's stem ("007_02"), else "<source>/<path without suffixes>"
    trial: str  # CMU trial id, "SS_TT" (the clip's name where the source does not record it)
    path: Path
    reader: str  # "cc-bvh", "bvh", "asfamc", "deepmimic" or "fbx"
    rig: str  # MAPS key (for FBX: decided from the bone names when read)
    scale: float | None  # metres per file unit (BVH)
    fps: float | None  # from extra/index.csv where it gives one (it corrects the salsa BVH headers)
    drop_first: bool


def trial_id(subject: int | str, trial: int | str) -> str:
    """CMU trial id as ``SS_TT`` (``7, 2`` and ``"007", "02"`` both give ``"07_02"``)."""
    return f"{int(subject):02d}_{int(trial):02d}"


def find_sources(mocap: Path, sources: list[str] | None = None) -> list[Clip]:
    """The clips of ``sources`` (default: all) under ``mocap``; FileNotFoundError if a source is absent.
    Byte-identical duplicate files (``SHA256SUMS.tsv``) are listed once."""
    sources = list(SOURCES) if sources is None else sources
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise ValueError(f"Unknown source {unknown[0]}; choose from {', '.join(SOURCES)}.")
    clips = []
    if "cc-base" in sources:
        for path in sorted((mocap / "bvh").rglob("*.bvh")):
            subject, trial = path.stem.split("_")
            clips.append(Clip("cc-base", path.stem, trial_id(subject, trial), path, "cc-bvh", "cc-base",
                              CENTIMETRES, None, False))
    extra = [s for s in sources if s != "cc-base"]
    if extra:
        clips += _extra_clips(mocap / "extra", extra)
    if not clips:
        raise FileNotFoundError(f"There are no clips of {', '.join(sources)} under {mocap}.")
    return clips


def _extra_clips(folder: Path, sources: list[str]) -> list[Clip]:
    index = folder / "index.csv"
    if not index.is_file():
        raise FileNotFoundError(f"There is no {index}; the extra CMU motion is not installed there.")
    duplicates = _duplicates(folder / "SHA256SUMS.tsv")
    clips = []
    with index.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            # standard.bvh (a reference skeleton) is neither a trial nor a subject's
            if row["source"] not in sources or not (row["trial"] or row["subject"]) or row["file"] in duplicates:
                continue
            path = folder / (row["file"] + ".gz")
            reader, rig, scale, drop_first = SOURCES[row["source"]]
            if reader is None:
                reader, rig = ("fbx", "") if row["file"].endswith(".fbx") else ("asfamc", "asf")
            name = row["file"].split(".")[0]
            # the Indian dance and salsa BVH do not record their trial: the file stands for it
            clips.append(Clip(row["source"], name, row["trial"] or name, path, reader, rig, scale,
                              float(row["fps"]) if row["fps"] else None, drop_first))
    return clips


def _duplicates(sums: Path) -> set[str]:
    """Files whose content an earlier file in ``SHA256SUMS.tsv`` already has."""
    if not sums.is_file():
        return set()
    seen, repeated = set(), set()
    with sums.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            if row["sha256"] in seen:
                repeated.add(row["local_path"])
            seen.add(row["sha256"])
    return repeated


def sample_indices(frames: int, fps: float, rate: float, start: int = 0) -> np.ndarray:
    """Frame indices from ``start`` nearest to times ``k / rate`` (all frames if ``fps <= rate``)."""
    step = fps / rate
    if step <= 1.0:
        return np.arange(start, frames)
    return np.unique(np.round(np.arange(start, frames - 0.5, step)).astype(np.int64))


@dataclass(frozen=True)
class SampledClip:
    """A clip's points at the sampled frames."""

    clip: Clip
    points: RigMotion
    frames: np.ndarray  # (F,) indices of the sampled frames in the file
    file_frames: int  # frames in the file


def read_points(clip: Clip, rate: float = 30.0) -> SampledClip:
    """One clip (not FBX) as points at about ``rate`` frames per second, facing +Z at rest. Frames the file
    leaves blank (every AMC value 0, as at the start of 09_10) and an added first T-pose are skipped."""
    start = 1 if clip.drop_first else 0
    if clip.reader in ("cc-bvh", "bvh"):
        motion = _load_any_bvh(clip.path)
        fps, count = clip.fps or motion.fps, motion.frames
        frames = sample_indices(count, fps, rate, start)
        points = bvh_points(motion, clip.scale, frames, min(fps, rate))
    elif clip.reader == "asfamc":
        skeleton = asfamc.load_asf(_asf_for(clip.path))
        motion = asfamc.load_amc(clip.path, skeleton)
        fps, count = clip.fps or 120.0, motion.frames
        frames = sample_indices(count, fps, rate, start)
        blank = ~np.any(np.concatenate(motion.values, axis=1) != 0, axis=1)
        frames = frames[~blank[frames]]
        positions, rotations = asfamc.forward_kinematics(motion, frames)
        points = RigMotion(str(clip.path), skeleton.names, positions, rotations, asfamc.rest_positions(skeleton),
                           min(fps, rate))
    elif clip.reader == "deepmimic":
        character = deepmimic.load_character(_deepmimic_character(clip.path))
        motion = deepmimic.load_motion(clip.path, character)
        count = len(motion.frames)
        frames = sample_indices(count, motion.fps, rate, start)
        positions, rotations = deepmimic.forward_kinematics(motion, frames)
        points = RigMotion(str(clip.path), character.names, positions, rotations,
                           deepmimic.rest_positions(character), min(motion.fps, rate))
    else:
        raise ValueError(f"{clip.path}: read FBX clips with read_fbx_points.")
    return SampledClip(clip, facing_z(points, MAPS[clip.rig]), frames, count)


def _load_any_bvh(path: Path) -> Motion:
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as handle:
            return parse_bvh(handle.read(), str(path))
    return load_bvh(path)


def _asf_for(amc: Path) -> Path:
    """The subject's ASF next to an AMC: ``14/14.asf.gz`` for ``14/14_02.amc.gz``, or the folder's only one."""
    subject = amc.name.split("_")[0]
    own = amc.parent / f"{subject}.asf.gz"
    if own.is_file():
        return own
    found = sorted(amc.parent.glob("*.asf*"))
    if len(found) != 1:
        raise FileNotFoundError(f"No single ASF skeleton next to {amc}.")
    return found[0]


def _deepmimic_character(motion: Path) -> Path:
    for folder in motion.parents:
        candidate = folder / "characters" / "humanoid3d.txt"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"No characters/humanoid3d.txt above {motion}.")


def bvh_points(motion: Motion, scale: float, frames: np.ndarray, fps: float) -> RigMotion:
    """A BVH motion's joints and end sites (``<joint>.end``, the first of each joint's) as points at
    ``frames``; ``fps`` is their rate."""
    positions, rotations = forward_kinematics(motion, frames, scale)
    rest, _ = forward_kinematics(dataclasses.replace(motion, values=np.zeros((1, motion.values.shape[1]))), None,
                                 scale)
    names, extra_positions, extra_rotations, extra_rest = list(motion.names), [], [], []
    for parent, offset in motion.end_sites:
        name = f"{motion.names[parent]}.end"
        if name in names:
            continue
        names.append(name)
        offset = np.asarray(offset) * scale
        extra_positions.append(positions[:, parent] + rotations[:, parent] @ offset)
        extra_rotations.append(rotations[:, parent])
        extra_rest.append(rest[0, parent] + offset)
    if extra_positions:
        positions = np.concatenate([positions, np.stack(extra_positions, axis=1)], axis=1)
        rotations = np.concatenate([rotations, np.stack(extra_rotations, axis=1)], axis=1)
    rest_points = np.concatenate([rest[0], np.array(extra_rest).reshape(-1, 3)])
    return RigMotion(motion.source, tuple(names), positions, rotations, rest_points, fps)


def read_fbx_points(clips: list[Clip], rate: float = 30.0) -> list[tuple[SampledClip | None, str]]:
    """FBX clips through one background Blender process: ``(sampled clip with its rig map set, "")`` or
    ``(None, why not)`` each. The skeleton is recognised by its root bone (``FBX_RIGS``)."""
    out = []
    for clip, motion in zip(clips, fbx.sample_fbx([c.path for c in clips], rate), strict=True):
        root = motion.names[motion.parents.index(-1)] if motion.names else ""
        rig = FBX_RIGS.get(root, f"its skeleton (root bone {root}) has no name map")
        if motion.error or isinstance(rig, str):
            out.append((None, motion.error or f"{clip.path}: {rig}"))
            continue
        name, scale, drop_first = rig
        clip = dataclasses.replace(clip, rig=name, scale=scale, drop_first=drop_first, fps=motion.file_fps)
        points = fbx_points(motion, scale)
        frames = np.round(np.arange(points.frames) * motion.file_fps / motion.fps).astype(np.int64)
        if drop_first:
            points, frames = points.select(np.arange(1, points.frames)), frames[1:]
        out.append((SampledClip(clip, facing_z(points, MAPS[name]), frames, motion.file_frames), ""))
    return out


def fbx_points(motion: fbx.FbxMotion, scale: float = 1.0) -> RigMotion:
    """Bone heads by name and ``<bone>.end`` points: the head of a ``<bone>_end`` child where the file has
    one (the cgspeed exports), else the bone's tail; lengths x ``scale``. Rotations are relative to the rest
    pose."""
    names, positions, rotations, rest = list(motion.names), [motion.heads], [], [motion.rest_heads]
    relative = np.einsum("fbij,bkj->fbik", motion.rotations, motion.rest_rotations)
    rotations.append(relative)
    for bone, name in enumerate(motion.names):
        if name.endswith("_end"):
            continue
        end = f"{name}_end"
        source = motion.names.index(end) if end in motion.names else None
        names.append(f"{name}.end")
        positions.append((motion.heads[:, source] if source is not None else motion.tails[:, bone])[:, None])
        rest.append((motion.rest_heads[source] if source is not None else motion.rest_tails[bone])[None])
        rotations.append(relative[:, bone][:, None])
    return RigMotion(motion.source, tuple(names), scale * np.concatenate(positions, axis=1),
                     np.concatenate(rotations, axis=1), scale * np.concatenate(rest), motion.fps)


def facing_z(motion: RigMotion, rig_map: RigMap) -> RigMotion:
    """The motion turned about +Y so that its rest pose's hips (right to left) point along +X."""
    lateral = rig_map.trunk["pelvis"].lateral
    right, left = (point_track(motion, point, rest=True)[0] for point in lateral)
    angle = np.arctan2((left - right)[2], (left - right)[0])  # turn about +Y taking the lateral to +X
    if abs(angle) < 1e-9:
        return motion
    c, s = np.cos(angle), np.sin(angle)
    turn = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    return RigMotion(motion.source, motion.names, motion.positions @ turn.T,
                     np.einsum("ab,fjbc,dc->fjad", turn, motion.rotations, turn), motion.rest @ turn.T, motion.fps)



