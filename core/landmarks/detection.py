"""SSD detectors as MediaPipe decodes them: anchors, boxes and keypoints from the raw tensors, weighted
non-maximum suppression, letterbox removal.

A :class:`Detection` holds a box ``(xmin, ymin, xmax, ymax)`` and keypoints ``(K, 2)``, both normalised to the
image the detector saw (``SsdAnchorsCalculator``, ``TensorsToDetectionsCalculator``,
``NonMaxSuppressionCalculator`` with the ``WEIGHTED`` algorithm, ``DetectionLetterboxRemovalCalculator``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AnchorSpec:
    """``SsdAnchorsCalculatorOptions`` for a fixed-anchor-size detector (all of MediaPipe's body ones)."""

    input_size: int
    strides: tuple[int, ...]
    min_scale: float
    max_scale: float
    interpolated: bool = True  # interpolated_scale_aspect_ratio 1.0: a second anchor per layer

    def anchors(self) -> np.ndarray:
        """Anchor centres ``(N, 2)`` normalised; consecutive layers with one stride share a feature map."""
        centres = []
        layer = 0
        while layer < len(self.strides):
            per_cell = 0
            last = layer
            while last < len(self.strides) and self.strides[last] == self.strides[layer]:
                per_cell += 2 if self.interpolated else 1
                last += 1
            cells = int(np.ceil(self.input_size / self.strides[layer]))
            grid = (np.arange(cells) + 0.5) / cells
            ys, xs = np.meshgrid(grid, grid, indexing="ij")
            cell_centres = np.stack([xs.ravel(), ys.ravel()], axis=1)
            centres.append(np.repeat(cell_centres, per_cell, axis=0))
            layer = last
        return np.concatenate(centres).astype(np.float32)


@dataclass
class Detection:
    score: float
    box: np.ndarray  # (4,) xmin, ymin, xmax, ymax, normalised
    keypoints: np.ndarray  # (K, 2) normalised


def decode(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray, scale: float,
           num_keypoints: int, min_score: float, clip: float = 100.0) -> list[Detection]:
    """Detections above ``min_score`` from ``raw_boxes (N, 4 + 2K)`` (x, y, w, h then keypoints x, y, in
    ``scale`` pixels relative to the anchor) and ``raw_scores (N,)`` logits."""
    scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores.astype(np.float64), -clip, clip)))
    keep = np.flatnonzero(scores >= min_score)
    detections = []
    for index in keep:
        raw, anchor = raw_boxes[index].astype(np.float32), anchors[index]
        centre = raw[:2] / np.float32(scale) + anchor
        size = raw[2:4] / np.float32(scale)
        box = np.concatenate([centre - size / 2, centre + size / 2])
        keypoints = raw[4:4 + 2 * num_keypoints].reshape(num_keypoints, 2) / np.float32(scale) + anchor
        detections.append(Detection(float(scores[index]), box, keypoints))
    return detections


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    low = np.maximum(box[:2], others[:, :2])
    high = np.minimum(box[2:], others[:, 2:])
    inter = np.prod(np.clip(high - low, 0, None), axis=1)
    area = np.prod(box[2:] - box[:2])
    areas = np.prod(others[:, 2:] - others[:, :2], axis=1)
    union = area + areas - inter
    return np.where((inter > 0) & (union > 0), inter / np.where(union > 0, union, 1), 0.0)


def weighted_nms(detections: list[Detection], threshold: float, max_detections: int = 0) -> list[Detection]:
    """Score-weighted averages of overlapping detections (IoU > ``threshold``), best first; each keeps the
    score of its best member."""
    remaining = sorted(detections, key=lambda d: -d.score)
    merged = []
    while remaining:
        best = remaining[0]
        boxes = np.stack([d.box for d in remaining])
        overlap = _iou(best.box, boxes) > threshold
        members = [d for d, hit in zip(remaining, overlap, strict=True) if hit] or [best]
        weights = np.array([d.score for d in members], np.float32)
        total = weights.sum()
        box = (np.stack([d.box for d in members]) * weights[:, None]).sum(axis=0) / total
        keypoints = (np.stack([d.keypoints for d in members]) * weights[:, None, None]).sum(axis=0) / total
        merged.append(Detection(best.score, box, keypoints))
        if max_detections and len(merged) >= max_detections:
            break
        remaining = [d for d, hit in zip(remaining, overlap, strict=True) if not hit]
    return merged


def remove_letterbox(detection: Detection, padding: np.ndarray) -> Detection:
    """Normalised to the letterboxed tensor -> normalised to the image inside the letterbox."""
    left, top, right, bottom = padding
    offset = np.array([left, top], np.float32)
    scale = np.array([1.0 - left - right, 1.0 - top - bottom], np.float32)
    box = np.concatenate([(detection.box[:2] - offset) / scale, (detection.box[2:] - offset) / scale])
    return Detection(detection.score, box, (detection.keypoints - offset) / scale)
