"""Accuracy measures for the benchmarks and the tests: PA-MPJPE and PCK over the 12 limb joints, and
readers for the ground truth in ../shared/media/gt."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

GT = Path(__file__).resolve().parents[2] / "shared" / "media" / "gt"
# The 12 limb joints, in one order: l/r hip, knee, ankle, shoulder, elbow, wrist.
LIMBS = ("left_hip", "left_knee", "left_ankle", "right_hip", "right_knee", "right_ankle", "left_shoulder",
         "left_elbow", "left_wrist", "right_shoulder", "right_elbow", "right_wrist")
SMPL_LIMBS = [1, 4, 7, 2, 5, 8, 16, 18, 20, 17, 19, 21]
H36M_LIMBS = [4, 5, 6, 1, 2, 3, 11, 12, 13, 14, 15, 16]
COCO_LIMBS = [11, 13, 15, 12, 14, 16, 5, 7, 9, 6, 8, 10]
MPII_LIMBS = [3, 4, 5, 2, 1, 0, 13, 14, 15, 12, 11, 10]


def pa_mpjpe(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Mean joint error (metres) after the similarity transform (rotation, scale, translation) that
    best aligns ``predicted (J, 3)`` to ``truth (J, 3)``."""
    p, t = predicted - predicted.mean(0), truth - truth.mean(0)
    u, s, vt = np.linalg.svd(t.T @ p)
    fix = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ fix @ vt
    scale = (s * np.diag(fix)).sum() / (p**2).sum()
    return float(np.linalg.norm(scale * p @ rotation.T - t, axis=1).mean())


def pck(predicted: np.ndarray, truth: np.ndarray, visible: np.ndarray, size: float, fraction: float = 0.1) -> float:
    """Share of visible joints within ``fraction * size`` pixels: ``predicted, truth: (J, 2)``."""
    if not visible.any():
        return float("nan")
    distance = np.linalg.norm(predicted - truth, axis=1)
    return float(np.mean(distance[visible] <= fraction * size))


def h36m_frames() -> list[dict]:
    """The H3.6M frames: image path, 3D limb joints (camera space, metres), 2D limb joints, box size."""
    data = np.load(GT / "h36m" / "test_h36m_body3d.npz")
    frames = []
    for index, name in enumerate(data["imgname"]):
        frames.append({"image": GT / "h36m" / Path(str(name)).name, "joints": data["S"][index, H36M_LIMBS, :3],
                       "people_2d": [(data["part"][index, H36M_LIMBS, :2], data["part"][index, H36M_LIMBS, 2] > 0,
                                      float(data["scale"][index]) * 200)]})
    return frames


def coco_frames() -> list[dict]:
    data = json.loads((GT / "coco" / "test_coco.json").read_text())
    frames = []
    for image in data["images"]:
        people = []
        for person in (a for a in data["annotations"] if a["image_id"] == image["id"]):
            points = np.array(person["keypoints"], float).reshape(17, 3)[COCO_LIMBS]
            people.append((points[:, :2], points[:, 2] > 0, max(person["bbox"][2], person["bbox"][3])))
        frames.append({"image": GT / "coco" / image["file_name"], "people_2d": people})
    return frames


def mpii_frames() -> list[dict]:
    data = json.loads((GT / "mpii" / "test_mpii.json").read_text())
    return [{"image": GT / "mpii" / item["image"],
             "people_2d": [(np.array(item["joints"])[MPII_LIMBS], np.array(item["joints_vis"])[MPII_LIMBS] > 0,
                            float(item["scale"]) * 200)]} for item in data]


def best_pck(predicted: np.ndarray, people: list) -> float:
    """PCK@0.1 against the ground-truth person that matches ``predicted (12, 2)`` best."""
    scores = [pck(predicted, truth, visible, size) for truth, visible, size in people]
    scores = [s for s in scores if s == s]
    return max(scores) if scores else float("nan")
