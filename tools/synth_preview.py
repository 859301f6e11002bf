"""Look at mode (b) inputs side by side: the real-image twin on photos (MediaPipe landmarks and mask, cropped as
the estimator crops) and synthetic samples, drawn the same way (silhouette grey, visible landmarks' heatmaps
coloured left red / right blue / middle green).

    .venv/bin/python tools/synth_preview.py --photos ../shared/media/images/single --out runs/synth_preview.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.estimators.keypoints.detect import LandmarkDetector  # noqa: E402
from core.estimators.keypoints.landmarks import POSE_NAMES  # noqa: E402
from core.estimators.silhouette_input import photo_input  # noqa: E402
from training.synth.bank import random_test_poses  # noqa: E402
from training.synth.generator import SyntheticGenerator  # noqa: E402
from training.synth.shards import SOFTEN_PX, synthetic_input  # noqa: E402

PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "media" / "images" / "single"
SIDE_COLOURS = np.array([(1.0, 0.2, 0.2) if n.startswith("left") else (0.2, 0.4, 1.0) if n.startswith("right")
                         else (0.2, 1.0, 0.2) for n in POSE_NAMES], np.float32)


def draw(tensor: np.ndarray, title: str) -> np.ndarray:
    """``(34, 256, 256)`` input -> ``(276, 256, 3) uint8`` picture with a caption."""
    picture = np.repeat(tensor[0][..., None] * 0.45, 3, axis=2)
    heat = np.einsum("khw,kc->hwc", tensor[1:], SIDE_COLOURS)
    picture = np.clip(picture + heat, 0, 1)
    canvas = np.zeros((276, 256, 3), np.uint8)
    canvas[20:] = (picture * 255).astype(np.uint8)
    cv2.putText(canvas, title[:36], (3, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return canvas


def photo_tiles(folder: Path, limit: int) -> list[np.ndarray]:
    tiles = []
    with LandmarkDetector(video=False, hands_and_face=False, segmentation=True) as detector:
        for path in sorted(folder.glob("*"))[:limit]:
            bgr = cv2.imread(str(path))
            if bgr is None:
                continue
            found = photo_input(detector, np.ascontiguousarray(bgr[..., ::-1]))
            if found is None:
                print(f"{path.name}: nobody found")
                continue
            tensor, _, _ = found
            crop = draw(tensor, path.name.split("__")[0] + " (real)")
            tiles.append(crop)
    return tiles


def synthetic_tiles(count: int) -> list[np.ndarray]:
    generator = SyntheticGenerator(random_test_poses(64, 0))
    tiles = []
    for index in range(count):
        sample = generator.sample(0, index)
        tensor = synthetic_input(sample, SOFTEN_PX)
        tiles.append(draw(tensor, f"synthetic {index}"))
    return tiles


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, default=PHOTOS)
    parser.add_argument("--limit", type=int, default=8)
    parser.add_argument("--synthetic", type=int, default=4)
    parser.add_argument("--out", type=Path, default=Path("runs/synth_preview.png"))
    args = parser.parse_args()
    if not args.photos.is_dir():
        print(f"No photos at {args.photos}: showing synthetic samples only.")
    tiles = (photo_tiles(args.photos, args.limit) if args.photos.is_dir() else []) + synthetic_tiles(args.synthetic)
    columns = 4
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % columns)
    rows = [np.hstack(tiles[k:k + columns]) for k in range(0, len(tiles), columns)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), np.vstack(rows)[..., ::-1])
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
