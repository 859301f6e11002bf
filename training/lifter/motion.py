"""Whole clips for the temporal lifter: every readable clip of the motion-capture folder (CC_Base BVH and all of
``extra/`` but FBX) at 30 fps, retargeted to the open body's 22 body joints frame by frame, with the pelvis's path.

    .venv/bin/python -m training.lifter.motion --out runs/lifter_motion.npz

Unlike the pose bank (training/synth/poses.py) nothing is subsampled or turned: frames stay in order, so windows of
them are real motion. Each clip keeps its own world (Y up, its rest pose facing +Z); its pelvis path is scaled by
the open body's leg length over the clip skeleton's (hip, knee, ankle), so that strides fit the open body's legs.
Clips split by CMU trial as the pose bank splits them (``split_of``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from core.bodymodel.library import load_body

from ..synth import retarget, retarget_positions
from ..synth.mocap_sources import find_sources, read_points
from ..synth.poses import READ_ERRORS, default_mocap, head_is_plausible, split_of
from ..synth.rigs import MAPS

RATE = 30.0
SHORTEST = 32  # frames: a clip shorter than a window is no use


def leg_length(track) -> float:
    """Hip to knee to ankle, both legs averaged (bone lengths are the same in every frame: the median)."""
    total = 0.0
    for side in ("left", "right"):
        hip, knee, ankle = (track(f"{side}_{joint}") for joint in ("hip", "knee", "ankle"))
        total += np.median(np.linalg.norm(knee - hip, axis=-1) + np.linalg.norm(ankle - knee, axis=-1))
    return total / 2


def read_clip(clip, rig: retarget.OpenRig, open_leg: float) -> dict | str:
    """One clip's ``poses (F, 22, 3)`` (axis-angle, joint 0 the pelvis's turn in the clip's world) and ``pelvis
    (F, 3)`` metres on the open body's scale; or why it cannot be used."""
    try:
        sampled = read_points(clip, RATE)
        rig_map = MAPS[clip.rig]
        frames = retarget_positions.clip_frames(sampled.points, rig_map, rig)
    except READ_ERRORS as exc:
        return f"{clip.path}: {exc}"
    plausible = head_is_plausible(frames)
    if not plausible.all():
        return f"{clip.path}: the head is folded back in {int((~plausible).sum())} frames"
    if len(plausible) < SHORTEST:
        return f"{clip.path}: {len(plausible)} frames, fewer than a window"
    motion = sampled.points
    limbs = rig_map.limbs
    scale = open_leg / max(leg_length(lambda name: retarget_positions.point_track(motion, limbs[name])), 0.2)
    right, left = (retarget_positions.point_track(motion, point) for point in rig_map.trunk["pelvis"].lateral)
    pelvis = (right + left) / 2 * scale
    poses = retarget.body_poses(retarget_positions.solve(rig, frames))
    return {"poses": poses, "pelvis": pelvis.astype(np.float32), "fps": float(min(motion.fps, RATE))}


def build(mocap: Path) -> dict:
    started = time.perf_counter()
    model = load_body("open", "smplx")
    rig = retarget.open_rig(model)
    rest = model.rest_joints()
    open_leg = float(np.mean([np.linalg.norm(rest[hip] - rest[knee]) + np.linalg.norm(rest[knee] - rest[ankle])
                              for hip, knee, ankle in ((1, 4, 7), (2, 5, 8))]))
    arrays, names, trials, splits, skipped = {}, [], [], [], []
    for clip in find_sources(mocap):
        if clip.reader == "fbx":
            skipped.append(f"{clip.path}: FBX clips are read through Blender, left out here")
            continue
        read = read_clip(clip, rig, open_leg)
        if isinstance(read, str):
            skipped.append(read)
            continue
        key = f"c{len(names)}"
        arrays[f"{key}_poses"], arrays[f"{key}_pelvis"] = read["poses"], read["pelvis"]
        names.append(clip.name)
        trials.append(clip.trial)
        splits.append(split_of(clip.trial))
    frames = sum(len(arrays[f"c{i}_poses"]) for i in range(len(names)))
    report = (f"{len(names)} clips, {frames} frames at {RATE:g} fps in {time.perf_counter() - started:.0f} s; "
              f"{splits.count('validation')} clips held out; left out: {len(skipped)}")
    return {**arrays, "names": np.array(names), "trials": np.array(trials), "splits": np.array(splits),
            "skipped": np.array(skipped), "report": np.array(report)}


def load(path: Path) -> list[dict]:
    """Per clip: ``name``, ``trial``, ``split``, ``poses (F, 22, 3)``, ``pelvis (F, 3)``."""
    with np.load(path, allow_pickle=False) as data:
        return [{"name": str(name), "trial": str(trial), "split": str(split), "poses": data[f"c{i}_poses"],
                 "pelvis": data[f"c{i}_pelvis"]}
                for i, (name, trial, split) in enumerate(zip(data["names"], data["trials"], data["splits"],
                                                             strict=True))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mocap", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("runs/lifter_motion.npz"))
    args = parser.parse_args(argv)
    built = build(args.mocap or default_mocap())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, **built)
    print(str(built["report"]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
