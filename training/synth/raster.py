"""A small CPU rasteriser for the synthetic crops: which triangle is in front at each pixel (painter's algorithm
with OpenCV polygon fills), the silhouette and part mask that follow, and z-buffer visibility of points.

Camera space is x right, y down, z forward (metres); crop pixels follow OpenCV (pixel (row i, column j) has its
centre at (x, y) = (j, i)). Sorting whole triangles by depth is exact for a body mesh whose triangles are a few
centimetres across except where two surfaces touch, which is far below a pixel at crop scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SIZE = 256
SUBPIXEL_BITS = 4  # cv2's fixed-point "shift": vertices placed to 1/16 px


@dataclass(frozen=True)
class CropCamera:
    """Pinhole camera of the 256² crop: ``focal`` and principal point ``(cx, cy)`` in crop pixels."""

    focal: float
    cx: float
    cy: float

    def project(self, points: np.ndarray) -> np.ndarray:
        """``(..., 3)`` camera-space metres -> ``(..., 2)`` crop pixels."""
        return points[..., :2] / points[..., 2:3] * self.focal + (self.cx, self.cy)

    def rays(self, pixels: np.ndarray) -> np.ndarray:
        """``(K, 2)`` crop pixels -> ``(K, 3)`` ray directions with z = 1."""
        return np.column_stack([(pixels - (self.cx, self.cy)) / self.focal, np.ones(len(pixels))])

    def as_array(self) -> np.ndarray:
        return np.array([self.focal, self.cx, self.cy], np.float32)


def face_parts(faces: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Part of each triangle: the joint with the largest summed skinning weight over its corners. ``(T,)``."""
    return np.argmax(weights[faces].sum(axis=1), axis=1)


def front_faces(vertices: np.ndarray, faces: np.ndarray, camera: CropCamera, size: int = SIZE) -> np.ndarray:
    """Index of the front-most triangle per pixel, -1 on background: ``(size, size) int32``.

    ``vertices (V, 3)`` camera space, in front of the camera; ``faces (T, 3)`` wound counter-clockwise seen
    from outside. Triangles facing away are skipped (the body is closed), the rest are drawn far to near.
    """
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    facing = np.einsum("tc,tc->t", np.cross(b - a, c - a), a) < 0
    corners = camera.project(vertices)[faces]
    low, high = corners.min(axis=1), corners.max(axis=1)
    on_crop = np.all(high >= -1, axis=1) & np.all(low <= size, axis=1)
    chosen = np.flatnonzero(facing & on_crop)
    chosen = chosen[np.argsort(-(a[chosen, 2] + b[chosen, 2] + c[chosen, 2]), kind="stable")]
    fixed = np.round(corners * (1 << SUBPIXEL_BITS)).astype(np.int32)
    image = np.full((size, size), -1, np.int32)
    for face in chosen.tolist():
        cv2.fillConvexPoly(image, fixed[face], face, cv2.LINE_8, SUBPIXEL_BITS)
    return image


def surface_depth(front: np.ndarray, vertices: np.ndarray, faces: np.ndarray, camera: CropCamera,
                  pixels: np.ndarray) -> np.ndarray:
    """Depth (z, metres) of the front surface along the ray of each pixel ``(K, 2)``; inf where there is none.

    Intersects each ray with the plane of the front triangle at the pixel nearest to it.
    """
    column, row = np.round(pixels).astype(int).T
    inside = (column >= 0) & (column < front.shape[1]) & (row >= 0) & (row < front.shape[0])
    face = np.full(len(pixels), -1)
    face[inside] = front[row[inside], column[inside]]
    depth = np.full(len(pixels), np.inf)
    hit = face >= 0
    if not np.any(hit):
        return depth
    a, b, c = (vertices[faces[face[hit], k]] for k in range(3))
    normal = np.cross(b - a, c - a)
    rays = camera.rays(pixels[hit])
    depth[hit] = np.einsum("kc,kc->k", normal, a) / np.einsum("kc,kc->k", normal, rays)
    return depth


def visible_points(front: np.ndarray, vertices: np.ndarray, faces: np.ndarray, camera: CropCamera,
                   points: np.ndarray, tolerance: float = 0.03) -> np.ndarray:
    """Surface points ``(K, 3)`` camera space seen at their pixel: inside the crop, on the silhouette, and no
    more than ``tolerance`` metres behind the front surface there. ``(K,) bool``."""
    depth = surface_depth(front, vertices, faces, camera, camera.project(points))
    return np.isfinite(depth) & (points[:, 2] <= depth + tolerance)


def part_at(front: np.ndarray, parts: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Part index of the front triangle at each pixel ``(K, 2)``, -1 outside the crop or the body."""
    column, row = np.round(pixels).astype(int).T
    inside = (column >= 0) & (column < front.shape[1]) & (row >= 0) & (row < front.shape[0])
    found = np.full(len(pixels), -1)
    face = front[row[inside], column[inside]]
    found[np.flatnonzero(inside)[face >= 0]] = parts[face[face >= 0]]
    return found


def part_mask(front: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """``(H, W) uint8``: 0 background, 1 + part index elsewhere (see docs/synth_generator.md)."""
    lookup = np.concatenate([[0], parts + 1]).astype(np.uint8)
    return lookup[front + 1]
