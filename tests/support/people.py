"""Pictures of several people for the tests, made from the shared single-person photos (never stored)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SINGLE = Path(__file__).resolve().parents[2].parent / "shared" / "media" / "images" / "single"
SIX = ("s03_yoga_treepose__tfexamples_image3.jpeg", "s07_baseball_fielder__hybrik_coco000000581328.jpg",
       "s02_sitting_stretch__mpsamples_test_image.jpg", "s09_golf_swing__tfpose_golf.jpg",
       "s04_tennis_forehand__hybrik_coco000000000431.jpg",
       "s01_lunge_barbell__4dhumans_pexels-anete-lusina-4793258.jpg")


def tiled_photo(path: Path, names: list[str], columns: int, cell: int) -> Path:
    """The shared photos ``names`` side by side, ``columns`` to a row, each fitted into a white ``cell`` square."""
    import cv2

    cells = []
    for name in names:
        image = cv2.imread(str(SINGLE / name))
        scale = cell / max(image.shape[:2])
        image = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                           interpolation=cv2.INTER_AREA)
        square = np.full((cell, cell, 3), 255, np.uint8)
        top, left = (cell - image.shape[0]) // 2, (cell - image.shape[1]) // 2
        square[top:top + image.shape[0], left:left + image.shape[1]] = image
        cells.append(square)
    rows = [np.hstack(cells[row:row + columns]) for row in range(0, len(cells), columns)]
    cv2.imwrite(str(path), np.vstack(rows))
    return path
