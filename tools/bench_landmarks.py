"""Speed of the landmark stage: ours (core/landmarks on onnxruntime) against MediaPipe 0.10.14's Holistic on the
same frames, side by side in one run, body only and with hands and face (frames per second, median of runs).

    .venv/bin/python tools/bench_landmarks.py [--frames 150] [--repeats 3] [--threads 2]

Frames are decoded once beforehand, so only landmark detection is timed. MediaPipe is the test-only reference
(the .venv has it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from landmark_parity import SHARED_MEDIA, import_mediapipe, read_video  # noqa: E402


def frames_per_second(run, frames: list) -> float:
    start = time.perf_counter()
    for rgb in frames:
        run(rgb)
    return len(frames) / (time.perf_counter() - start)


def ours(hands_and_face: bool):
    from pocket_mocap.core.landmarks.holistic import Holistic

    return Holistic(video=True, hands_and_face=hands_and_face)


def mediapipe(hands_and_face: bool):
    solutions = import_mediapipe().solutions
    graph = solutions.holistic.Holistic(static_image_mode=False, model_complexity=1) if hands_and_face else \
        solutions.pose.Pose(static_image_mode=False, model_complexity=1)
    return graph.process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime threads (the worker's setting)")
    parser.add_argument("--video", type=Path, default=SHARED_MEDIA / "videos" / "v01_taiji__hybrik.mp4")
    args = parser.parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    if not args.video.is_file():
        print(f"{args.video} is absent.")
        return 1
    frames = list(read_video(args.video, args.frames))
    print(f"{args.video.name}: {len(frames)} frames {frames[0].shape[1]}x{frames[0].shape[0]}, "
          f"{args.repeats} runs each, medians")
    print(f"{'':<22}{'ours (onnxruntime)':>20}{'MediaPipe 0.10.14':>20}")
    for label, hands_and_face in (("body only", False), ("hands and face", True)):
        figures = {}
        for name, make in (("ours", ours), ("mediapipe", mediapipe)):
            figures[name] = statistics.median(frames_per_second(make(hands_and_face), frames)
                                              for _ in range(args.repeats))
        print(f"{label:<22}{figures['ours']:>16.1f} fps{figures['mediapipe']:>16.1f} fps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
