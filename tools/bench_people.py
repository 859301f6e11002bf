"""Benchmark: several people on the shared two-person clip (v05, 40 frames at 12 fps, 1080x1920).

    .venv/bin/python tools/bench_people.py [--repeats 3] [--body-only]

Per setting (body only; hands and face), medians of ``--repeats`` fresh jobs through the real worker:
- tracks found, frames each is seen in, and identity switches (frames where the left person's track differs
  from the first frame's: the two people never cross sides in this clip);
- end-to-end fps = 40 frames / wall time of the whole job (worker start, model loading, decode, people,
  landmarks, fit of both people, smoothing, writing);
- steady fps = the frames added / the time added when the clip is played forwards, backwards and forwards again
  (120 frames, no jump where it turns): the per-frame rate once the worker and its models are up, as a longer
  clip sees it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import metrics  # noqa: E402

from pocket_mocap.core.worker.job import Job  # noqa: E402

VIDEO = metrics.GT.parent / "videos" / "v05_two_people_multi__mmhuman3d_multi_person_demo.mp4"


def run_job(video: Path, **settings) -> tuple[float, dict]:
    """Wall seconds and the result of one fresh job."""
    with tempfile.TemporaryDirectory() as cache:
        job = Job({"kind": "reconstruct", "inputs": [str(video)], "cache_dir": cache, **settings}, Path(cache) / "job")
        started = time.perf_counter()
        outcome = job.run_to_end(900)
        seconds = time.perf_counter() - started
        assert outcome.state == "done", outcome.message
        with np.load(outcome.summary["results"][0]["result"]) as data:
            return seconds, {key: data[key] for key in data.files}


def looped(video: Path, times: int, folder: Path) -> Path:
    """The clip played ``times`` times, every other time backwards, as an MJPEG AVI (frames kept as decoded)."""
    import cv2

    source = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, frame = source.read()
        if not ok:
            break
        frames.append(frame)
    path = folder / f"{video.stem}_x{times}.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 12.0, frames[0].shape[1::-1])
    for turn in range(times):
        for frame in frames if turn % 2 == 0 else frames[::-1]:
            writer.write(frame)
    writer.release()
    return path


def identity_switches(result: dict) -> int:
    """Frames where the person on the left is a different track from the first frame's left person."""
    if "track_id" not in result:
        return 0
    centres = (result["person_box"][..., 0] + result["person_box"][..., 2]) / 2
    centres = np.where(result["presence"], centres, np.nan)
    left = np.nanargmin(np.where(np.isnan(centres), np.inf, centres), axis=0)
    return int(np.sum(left != left[0]))


def measure(repeats: int, hands_and_face: bool, folder: Path) -> dict:
    clip, long_clip = VIDEO, looped(VIDEO, 3, folder)
    short, long, found, found_long = [], [], None, None
    for _ in range(repeats):
        seconds, found = run_job(clip, hands_and_face=hands_and_face)
        short.append(seconds)
        seconds, found_long = run_job(long_clip, hands_and_face=hands_and_face)
        long.append(seconds)
    frames = found["confidence"].shape[-1]
    tracks = found["track_id"].tolist() if "track_id" in found else [1]
    seen = found["presence"].sum(axis=1).tolist() if "presence" in found else [frames]
    wall, wall_long = statistics.median(short), statistics.median(long)
    return {"tracks": tracks, "frames seen": seen, "identity switches": identity_switches(found),
            "tracks / switches over 120 frames": (len(found_long.get("track_id", [1])), identity_switches(found_long)),
            "wall (s)": round(wall, 2), "end-to-end fps": round(frames / wall, 1),
            "steady fps": round(2 * frames / max(wall_long - wall, 1e-6), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--body-only", action="store_true", help="leave out the hands-and-face setting")
    args = parser.parse_args()
    if not VIDEO.is_file():
        print(f"{VIDEO} is absent: nothing to measure.")
        return 0
    with tempfile.TemporaryDirectory() as folder:
        for label, hands_and_face in (("body only", False), ("hands and face", True))[:1 if args.body_only else 2]:
            print(f"{label:<16}", measure(args.repeats, hands_and_face, Path(folder)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
