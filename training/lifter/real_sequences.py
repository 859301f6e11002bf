"""Real landmark-stage windows for the temporal lifter: motion-capture clips drawn by Cycles (the open body in a random
look over one still background, a static camera: training/contact/renders.py), the extension's landmark stage run
on the frames as the video job runs it, kept next to the truth.

    .venv/bin/python -m training.lifter.real_sequences --split train --count 16 --out runs/temporal_real

or, from the contact model's renders, which the video job has already reconstructed (``--from-renders``, one view
at a time; docs/lifting.md, "Six times the real windows"):

    .venv/bin/python -m training.lifter.real_sequences --from-renders runs/contact/real_train --view 0 \
        --out runs/temporal_real_jobs

Per clip ``<trial>.npz``: the track (``pixels (F, 33, 2)``, ``visibility (F, 33)``, MediaPipe's ``world (F, 33, 3)``,
``seen (F,)``), the camera (``focal``, ``size``), the truth in camera space (``landmarks (F, 33, 3)``, ``keypoints
(F, 96, 3)``) and its foot contacts (``contacts (F, 4)``, as ``training.lifter.temporal.foot_contacts`` labels the
simulated clips; ``clip_contacts (F, 4)`` as training/synth/sequences.py labels them for the grounding benchmark).
:class:`RealWindows` turns them into training windows in the run-time layout.
"""

from __future__ import annotations

import argparse
import sys
import zlib
from pathlib import Path

import numpy as np
import torch

from core.lifting.features import HIPS
from core.lifting.temporal import FOOT_LANDMARKS, WINDOW, clip_features

TRIES = 3
SECONDS = 8.0
SIZE = 320


def landmark_track(frames: list[np.ndarray], fps: float) -> dict[str, np.ndarray]:
    """The video path's landmarks of one person over ``frames``: pixels, visibility, world, seen."""
    from core.estimators.keypoints.detect import PeopleDetector

    count = len(frames)
    out = {"pixels": np.zeros((count, 33, 2)), "visibility": np.zeros((count, 33)), "world": np.zeros((count, 33, 3)),
           "seen": np.zeros(count, bool)}
    with PeopleDetector(video=True, hands_and_face=False, fps=fps) as detector:
        for index, rgb in enumerate(frames):
            people = detector.detect(rgb)
            if people:
                obs = people[min(people)]
                out["pixels"][index], out["visibility"][index] = obs.pose_2d, obs.visibility
                out["world"][index], out["seen"][index] = obs.world, True
    return out


def truth(kit, body, sequence, poses: np.ndarray, trans: np.ndarray) -> dict[str, np.ndarray]:
    """The rendered body's camera-space landmark points and keypoints, and its foot contacts from its world path."""
    from .temporal import foot_contacts, posed_points

    rest_pelvis = body.rest_joints()[0]
    landmarks, keypoints = posed_points(kit, poses.reshape(len(poses), -1, 3), trans + rest_pelvis, np.zeros(10))
    world, _ = posed_points(kit, sequence.poses.reshape(len(poses), -1, 3), sequence.trans + rest_pelvis, np.zeros(10))
    return {"landmarks": landmarks, "keypoints": keypoints, "contacts": foot_contacts(world[:, FOOT_LANDMARKS])}


def render_clip(mocap: Path, trial: str, body, kit, seconds: float = SECONDS, size: int = SIZE) -> dict | str:
    """One clip drawn (up to ``TRIES`` looks until the person is found in half the frames) and tracked; or why
    not. Also returns the frames (``"frames"``) for a caller that reconstructs them."""
    from training.contact.renders import render_frames, seen

    sequence, camera, poses, trans = seen(mocap, trial, body, size, seconds)
    for attempt in range(TRIES):
        rng = np.random.default_rng(zlib.crc32(trial.encode()) + attempt)
        frames = render_frames(body, camera, poses, trans, size, rng)
        track = landmark_track(frames, sequence.fps)
        if track["seen"].mean() >= 0.5:
            return {**track, **truth(kit, body, sequence, poses, trans), "clip_contacts": sequence.contacts,
                    "fps": np.float64(sequence.fps),
                    "focal": np.float64(camera.focal), "size": np.int64(size), "look": np.int64(attempt),
                    "frames": frames}
    return f"the landmark stage found the person in {track['seen'].mean():.0%} of the frames in {TRIES} looks"


def from_reconstructions(folder: Path, view: int, mocap: Path, body, kit, out: Path, count: int = 60,
                         seed: int = 20) -> list[str]:
    """The contact model's rendered training clips (``training.contact.renders --view <view> --count <count> --seed
    <seed>`` into ``folder``) as real windows: the landmarks the video job kept of each clip, next to the truth that
    view rendered. Written to ``out`` as ``view<view>_<trial>.npz`` in this module's layout; one line per clip."""
    from training.contact.data import kept_person
    from training.contact.renders import chosen_clips, view_rng, viewed

    out.mkdir(parents=True, exist_ok=True)
    lines = []
    for index, path in enumerate(chosen_clips(mocap, "train", count)):
        trial = f"{path.parent.name}/{path.stem}"
        kept = sorted(folder.glob(f"{path.parent.name}_{path.stem}_*.npz"))
        if not kept:
            lines.append(f"{trial}: not rendered in {folder}")
            continue
        result = kept_person(kept[0])
        size = int(kept[0].stem.rsplit("_", 1)[1])
        sequence, camera, poses, trans = viewed(mocap, trial, body, size, view, view_rng(seed, view, index))
        focal = float(result["camera_intrinsics"][0, 0])
        if len(poses) != len(result["landmarks"]) or abs(focal - camera.focal) > 1e-3 * camera.focal or (
                "truth_contacts" in result and not np.array_equal(result["truth_contacts"] > 0.5, sequence.contacts)):
            lines.append(f"{trial}: {kept[0].name} is not the view drawn with seed {seed} (another count or seed?)")
            continue
        landmarks = result["landmarks"]
        seen = result["confidence"] > 0
        np.savez(out / f"view{view}_{path.stem}.npz", pixels=landmarks[..., :2], visibility=landmarks[..., 2],
                 world=landmarks[..., 3:], seen=seen, **truth(kit, body, sequence, poses, trans),
                 clip_contacts=sequence.contacts, fps=np.float64(sequence.fps), focal=np.float64(camera.focal),
                 size=np.int64(size))
        lines.append(f"{trial}: {int(seen.sum())} of {len(seen)} frames seen ({kept[0].name})")
    return lines


class RealWindows:
    """Windows of the kept clips around every frame where the person was seen: ``batch(rng, n)`` -> inputs ``(n,
    WINDOW, F + 1)``, targets ``(n, 129, 3)``, contacts ``(n, 4)`` (the layout of ``WindowSampler``)."""

    def __init__(self, folder: Path):
        features, targets, contacts, starts, rows = [], [], [], [], []
        half, padded_total, total = WINDOW // 2, 0, 0
        for path in sorted(folder.glob("*.npz")):
            with np.load(path) as data:
                seen = data["seen"].astype(bool)
                size = float(data["size"])
                clip = clip_features(data["pixels"], data["visibility"], data["world"], seen, float(data["focal"]),
                                     (size / 2, size / 2))
                landmarks, keypoints = data["landmarks"], data["keypoints"]
                contacts.append(data["contacts"])
            features.append(np.concatenate([np.repeat(clip[:1], half, 0), clip, np.repeat(clip[-1:], half, 0)]))
            targets.append(np.concatenate([landmarks - landmarks[:, HIPS].mean(axis=1, keepdims=True),
                                           keypoints - keypoints[:, :1]], axis=1))
            frames = np.flatnonzero(seen)
            starts.append(padded_total + frames)  # the window centred on a frame starts at its padded index
            rows.append(total + frames)
            padded_total, total = padded_total + len(features[-1]), total + len(clip)
        if not features:
            raise FileNotFoundError(f"No rendered clips in {folder}.")
        self.features = np.concatenate(features).astype(np.float32)
        self.targets = np.concatenate(targets).astype(np.float32)
        self.contacts = np.concatenate(contacts).astype(np.float32)
        self.starts, self.rows, self.clips = np.concatenate(starts), np.concatenate(rows), len(features)

    def __len__(self) -> int:
        return len(self.starts)

    def batch(self, rng: np.random.Generator, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        chosen = rng.integers(len(self.starts), size=n)
        index = self.starts[chosen, None] + np.arange(WINDOW)
        rows = self.rows[chosen]
        return (torch.from_numpy(self.features[index]), torch.from_numpy(self.targets[rows]),
                torch.from_numpy(self.contacts[rows]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mocap", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "mocap" / "bvh")
    parser.add_argument("--split", choices=("train", "validation"), default="train")
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--out", type=Path, default=Path("runs/temporal_real"))
    parser.add_argument("--from-renders", type=Path, help="instead of rendering: the contact model's reconstructed "
                                                          "renders of training clips (training.contact.renders, "
                                                          "as train-contact draws them; --split and --count do "
                                                          "not apply)")
    parser.add_argument("--view", type=int, default=0, help="the view those renders were drawn in")
    args = parser.parse_args(argv)
    from core.bodymodel.library import load_body
    from training.contact.renders import chosen_clips
    from training.synth.generator import OpenBodyKit

    body, kit = load_body("open", "smplx", "", "neutral"), OpenBodyKit()
    if args.from_renders:
        for line in from_reconstructions(args.from_renders, args.view, args.mocap, body, kit, args.out):
            print(line, flush=True)
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for path in chosen_clips(args.mocap, args.split, args.count):
        trial = f"{path.parent.name}/{path.stem}"
        target = args.out / f"{path.stem}.npz"
        if target.is_file():
            continue
        found = render_clip(args.mocap, trial, body, kit)
        if isinstance(found, str):
            print(f"{trial}: {found}", flush=True)
            continue
        found.pop("frames")
        np.savez(target, **found)
        print(f"{trial}: {int(found['seen'].sum())} of {len(found['seen'])} frames seen", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
