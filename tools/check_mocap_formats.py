"""How well each motion-capture format retargets onto the open body (prints tables; not a pass/fail test).

1. CC_Base: the position-based path (training/synth/retarget_positions.py with the CC_Base name map) against
   the frame-based retarget.py on the same frames of every CC_Base clip.
2. The same CMU take in two formats: every clip of another format whose trial is also a CC_Base clip, aligned
   in time, both posed on the open body; joint distances (pelvis at the origin, heading removed).
3. Plausibility per source: standing height, feet against the lowest point, NaN.

``python tools/check_mocap_formats.py [--mocap DIR] [--step 2] [--part 1,2,3]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.bodymodel.library import load_body  # noqa: E402
from training.synth import mocap_sources, retarget  # noqa: E402
from training.synth import retarget_positions as positions  # noqa: E402
from training.synth.bvh import load_bvh  # noqa: E402
from training.synth.poses import default_mocap  # noqa: E402
from training.synth.rigs import MAPS  # noqa: E402


def cc_agreement(model, rig, clips, step: int) -> None:
    bone, joint, vertex, rotation = [], [], [], []
    for clip in clips:
        motion = load_bvh(clip.path)
        frames = mocap_sources.sample_indices(motion.frames, motion.fps, 30.0)[::step]
        frame_path = retarget.canonical(retarget.clip_frames(motion, rig, frames))
        points = mocap_sources.facing_z(mocap_sources.bvh_points(motion, 0.01, frames, 30.0 / step), MAPS["cc-base"])
        position_path = retarget.canonical(positions.clip_frames(points, MAPS["cc-base"], rig))
        found = positions.compare_with_frames(model, rig, frame_path, position_path)
        bone.append(found.bone_deg)
        joint.append(found.joint_mm)
        vertex.append(found.vertex_mm)
        rotation.append(found.rotation_deg)
    bone, joint, vertex, rotation = (np.concatenate(x) for x in (bone, joint, vertex, rotation))
    print(f"1. CC_Base, {len(clips)} clips, {len(joint)} frames: position path vs frame path")
    print(f"   bone direction (26 bones): median {np.median(bone):.3f} deg, 95th {np.percentile(bone, 95):.2f}, "
          f"max {bone.max():.1f}")
    print(f"   posed joints: median {np.median(joint):.2f} mm, 95th {np.percentile(joint, 95):.2f}, "
          f"max {joint.max():.1f}")
    print(f"   mean vertex distance per frame: median {np.median(vertex):.2f} mm, 95th {np.percentile(vertex, 95):.2f}")
    names = positions.SMPLX_NAMES
    worst = np.argsort(np.percentile(rotation, 95, axis=0))[::-1][:6]
    print("   local rotation difference, 95th (deg): " +
          ", ".join(f"{names[j]} {np.percentile(rotation[:, j], 95):.1f}" for j in worst))


def cross_format(model, rig, clips) -> None:
    cc = {clip.trial: clip for clip in clips if clip.source == "cc-base"}
    others = [clip for clip in clips if clip.source != "cc-base" and clip.trial in cc]
    sampled = [mocap_sources.read_points(c) for c in others if c.reader != "fbx"]
    sampled += [s for s, _ in mocap_sources.read_fbx_points([c for c in others if c.reader == "fbx"]) if s]
    by_source: dict[str, list[np.ndarray]] = {}
    for item in sampled:
        motion = load_bvh(cc[item.clip.trial].path)
        frames = mocap_sources.sample_indices(motion.frames, motion.fps, 30.0)
        reference = retarget.canonical(retarget.clip_frames(motion, rig, frames))
        other = retarget.canonical(positions.clip_frames(item.points, MAPS[item.clip.rig], rig))
        errors, _ = positions.aligned_joint_errors(model, rig, reference, other)
        by_source.setdefault(item.clip.source, []).append(errors)
    print("2. The same take in another format vs the CC_Base clip (frame path), posed joints, mm")
    for source, errors in by_source.items():
        stacked = np.concatenate(errors)
        per_clip = [np.median(e) for e in errors]
        print(f"   {source:20s} {len(errors):3d} clips {len(stacked):6d} frames: median {np.median(stacked):5.1f}, "
              f"95th {np.percentile(stacked, 95):5.1f}; clip medians {min(per_clip):.0f}-{max(per_clip):.0f}")


def plausibility(clips) -> None:
    print("3. Plausibility: head point above the lowest point (90th pct over frames, m), lowest foot point above "
          "the lowest point (median, cm), NaN")
    chosen: dict[str, list] = {}
    for clip in clips:
        chosen.setdefault(clip.source, []).append(clip)
    for source, group in chosen.items():
        if source == "cc-base":
            continue
        picked = group[:: max(1, len(group) // 6)]
        sampled = [mocap_sources.read_points(c) for c in picked if c.reader != "fbx"]
        sampled += [s for s, _ in mocap_sources.read_fbx_points([c for c in picked if c.reader == "fbx"]) if s]
        heights, feet, finite = [], [], True
        for item in sampled:
            rig_map = MAPS[item.clip.rig]
            points = item.points
            head = positions.point_track(points, rig_map.trunk["head"].up[1])
            foot = np.stack([positions.point_track(points, rig_map.limbs[f"{s}_{j}"]) for s in ("left", "right")
                             for j in ("ankle", "foot", "toes")], axis=1)
            lowest = np.minimum(points.positions[:, :, 1].min(axis=1), foot[:, :, 1].min(axis=1))
            heights.append(np.percentile(head[:, 1] - lowest, 90))
            feet.append(100 * np.median(foot[:, :, 1].min(axis=1) - lowest))
            finite &= bool(np.isfinite(points.positions).all())
        print(f"   {source:20s} {len(sampled)} clips: height {min(heights):.2f}-{max(heights):.2f} m, feet "
              f"{min(feet):.1f}-{max(feet):.1f} cm above the lowest point, finite {finite}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mocap", type=Path, default=default_mocap())
    parser.add_argument("--step", type=int, default=2, help="part 1: every n-th frame of the 30 fps samples")
    parser.add_argument("--part", default="1,2,3")
    args = parser.parse_args(argv)
    model = load_body("open", "smplx")
    rig = retarget.open_rig(model)
    clips = mocap_sources.find_sources(args.mocap)
    for part, run in (("1", lambda: cc_agreement(model, rig, [c for c in clips if c.source == "cc-base"], args.step)),
                      ("2", lambda: cross_format(model, rig, clips)), ("3", lambda: plausibility(clips))):
        if part in args.part.split(","):
            start = time.perf_counter()
            run()
            print(f"   ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
