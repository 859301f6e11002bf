"""Our landmarks (core/landmarks, onnxruntime) against MediaPipe 0.10.14's Holistic on the shared photos and
videos: 2D pixel differences, world-landmark differences, and on which frames each finds the person.

    .venv/bin/python tools/landmark_parity.py            # every shared photo and 60 frames of each video
    .venv/bin/python tools/landmark_parity.py --frames 0  # whole videos

MediaPipe is the test-only reference here (the .venv has it); the extension never imports it.
"""

from __future__ import annotations

import argparse
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED_MEDIA = ROOT.parent / "shared" / "media"
MAX_SIDE = 1920  # as the reconstruct job shrinks photos for detection
PARTS = ("pose", "world", "left_hand", "right_hand", "face")


def import_mediapipe():
    for name in ("matplotlib", "matplotlib.pyplot"):  # its drawing helpers import matplotlib; we never draw
        sys.modules.setdefault(name, types.ModuleType(name))
    import mediapipe

    return mediapipe


@dataclass
class Parity:
    """Per-landmark differences pooled over frames, and the frames where only one side found someone."""

    differences: dict = field(default_factory=lambda: {part: [] for part in PARTS})
    frames: int = 0
    both: dict = field(default_factory=lambda: {part: 0 for part in PARTS})
    only_ours: dict = field(default_factory=lambda: {part: 0 for part in PARTS})
    only_reference: dict = field(default_factory=lambda: {part: 0 for part in PARTS})

    def add(self, part: str, ours: np.ndarray | None, reference: np.ndarray | None) -> None:
        if ours is not None and reference is not None:
            self.both[part] += 1
            self.differences[part].append(np.linalg.norm(ours - reference, axis=-1))
        elif ours is not None:
            self.only_ours[part] += 1
        elif reference is not None:
            self.only_reference[part] += 1

    def median(self, part: str) -> float:
        values = self.differences[part]
        return float(np.median(np.concatenate(values))) if values else float("nan")

    def percentile(self, part: str, q: float) -> float:
        values = self.differences[part]
        return float(np.percentile(np.concatenate(values), q)) if values else float("nan")


def reference_points(result, width: int, height: int) -> dict:
    """MediaPipe's result as arrays: 2D pixels for pose/hands/face, metres for world."""
    def pixels(landmarks):
        return None if landmarks is None else np.array([[p.x * width, p.y * height] for p in landmarks.landmark])

    world = result.pose_world_landmarks
    return {"pose": pixels(result.pose_landmarks), "left_hand": pixels(result.left_hand_landmarks),
            "right_hand": pixels(result.right_hand_landmarks), "face": pixels(result.face_landmarks),
            "world": None if world is None else np.array([[p.x, p.y, p.z] for p in world.landmark])}


def our_points(found) -> dict:
    if found is None:
        return dict.fromkeys(PARTS)
    return {"pose": found.pose_pixels[:, :2], "world": found.pose.world,
            "left_hand": None if found.left_hand is None else found.left_hand[:, :2],
            "right_hand": None if found.right_hand is None else found.right_hand[:, :2],
            "face": None if found.face is None else found.face[:, :2]}


def compare_frames(frames, video: bool, parity: Parity, hands_and_face: bool = True) -> Parity:
    """Run both on ``frames`` (RGB uint8) as one stream; differences go into ``parity``."""
    from pocket_mocap.core.landmarks.holistic import Holistic

    mediapipe = import_mediapipe()
    ours = Holistic(video=video, hands_and_face=hands_and_face)
    with mediapipe.solutions.holistic.Holistic(static_image_mode=not video, model_complexity=1) as reference:
        for rgb in frames:
            height, width = rgb.shape[:2]
            theirs = reference_points(reference.process(rgb), width, height)
            mine = our_points(ours(rgb))
            parity.frames += 1
            for part in PARTS if hands_and_face else ("pose", "world"):
                parity.add(part, mine[part], theirs[part])
    return parity


def read_photo(path: Path) -> np.ndarray:
    import cv2

    rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    height, width = rgb.shape[:2]
    scale = min(1.0, MAX_SIDE / max(width, height))
    if scale < 1.0:
        rgb = cv2.resize(rgb, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    return rgb


def read_video(path: Path, limit: int = 0):
    import cv2

    capture = cv2.VideoCapture(str(path))
    count = 0
    while not limit or count < limit:
        ok, bgr = capture.read()
        if not ok:
            break
        count += 1
        yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    capture.release()


def shared_photos() -> list[Path]:
    return sorted([*SHARED_MEDIA.glob("images/*/*.*"), *SHARED_MEDIA.glob("gt/*/*.jpg")])


def report(name: str, parity: Parity) -> str:
    lines = [f"{name}: {parity.frames} frames"]
    for part in PARTS:
        if not parity.both[part] and not parity.only_ours[part] and not parity.only_reference[part]:
            continue
        unit, factor = ("mm", 1000.0) if part == "world" else ("px", 1.0)
        lines.append(f"  {part:<11} both {parity.both[part]:>4}  only ours {parity.only_ours[part]:>3}  only MediaPipe "
                     f"{parity.only_reference[part]:>3}  median {parity.median(part) * factor:7.3f} {unit}  95th "
                     f"{parity.percentile(part, 95) * factor:7.2f} {unit}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=60, help="frames per video (0: all)")
    args = parser.parse_args(argv)
    if not SHARED_MEDIA.is_dir():
        print(f"{SHARED_MEDIA} is absent: no real media to compare on.")
        return 1
    photos = Parity()
    for path in shared_photos():
        compare_frames([read_photo(path)], video=False, parity=photos)
    print(report("photos (static mode)", photos))
    for path in sorted(SHARED_MEDIA.glob("videos/*.mp4")):
        print(report(f"{path.name} (video mode)", compare_frames(read_video(path, args.frames), True, Parity())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
