"""Accuracy measures for the benchmarks and the tests: PA-MPJPE and PCK over the 12 limb joints, readers for
the ground truth in ../shared/media/gt, and the reconstruct issue's yardstick over whole result sets
(:func:`score`), shared by tools/bench_accuracy.py and tools/eval_efficienthuman.py; and how many frames a
motion runs behind another (:func:`lag_frames`, the smoothing's benchmarks and tests)."""

from __future__ import annotations

import json
import sys
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


def every_person_pck(predicted: list[np.ndarray], people: list) -> list[float]:
    """PCK@0.1 of every annotated person (with visible joints) against the predicted person ``(12, 2)`` that
    matches them best (0 where nobody was predicted)."""
    scores = []
    for truth, visible, size in people:
        if not visible.any():
            continue
        scores.append(max([pck(points, truth, visible, size) for points in predicted], default=0.0))
    return scores


def _people_of(result: dict, limbs) -> list[dict]:
    """A result's people as ``{"joints": (24, 3), "joints_2d": (24, 2)}`` (one-person or person-axis layout)."""
    joints, points = np.asarray(result["joints"]), np.asarray(result["joints_2d"])
    if joints.ndim == 3:  # (F, 24, 3): one person
        joints, points = joints[None], points[None]
    return [{"joints": joints[p, 0][limbs], "joints_2d": points[p, 0][limbs]} for p in range(len(joints))]


def frame_sets() -> dict[str, list[dict]]:
    """The three ground-truth sets: ``{"h36m": [...], "coco": [...], "mpii": [...]}``."""
    return {"h36m": h36m_frames(), "coco": coco_frames(), "mpii": mpii_frames()}


def score(results: dict, sets: dict[str, list[dict]], limbs=SMPL_LIMBS) -> dict[str, float]:
    """The yardstick: PA-MPJPE (mm) of ``joints`` over the 12 limb joints on the H3.6M frames (the predicted
    person nearest the annotated one in the image), PCK@0.1 of ``joints_2d`` over every annotated person of
    each set against the predicted person that matches them best (0 where nobody was found), and the older
    measure: each image's first predicted person against the annotated person it matches best.
    ``results``: image path -> a result file's arrays (``joints (F, 24, 3)``, ``joints_2d (F, 24, 2)``, or with
    the leading person axis); ``limbs`` picks the 12 limb joints in LIMBS order (``slice(None)``: already those)."""
    table = {}
    errors = []
    for frame in sets["h36m"]:
        if frame["image"] in results:
            people = _people_of(results[frame["image"]], limbs)
            truth, visible, size = frame["people_2d"][0]
            nearest = max(people, key=lambda p: pck(p["joints_2d"], truth, visible, size))
            errors.append(pa_mpjpe(nearest["joints"], frame["joints"]))
    table["PA-MPJPE H3.6M (mm)"] = 1000 * float(np.mean(errors)) if errors else float("nan")
    for name, frames in sets.items():
        pooled = []
        for frame in frames:
            predicted = [p["joints_2d"] for p in _people_of(results[frame["image"]], limbs)] \
                if frame["image"] in results else []
            pooled += every_person_pck(predicted, frame["people_2d"])
        table[f"PCK@0.1 {name}"] = float(np.mean(pooled)) if pooled else float("nan")
    for name, frames in sets.items():
        found = [best_pck(_people_of(results[f["image"]], limbs)[0]["joints_2d"], f["people_2d"])
                 if f["image"] in results else 0.0 for f in frames]
        table[f"PCK@0.1 {name} person 1 (old)"] = float(np.nanmean(found))
    return table


def reconstruct_with(job_class, images: list[Path], cache: Path, **settings) -> dict:
    """Run the real reconstruct job (worker, MediaPipe, estimator, fit) with ``settings`` on every image:
    image path -> ``{"joints", "joints_2d"}``. ``job_class`` is core/worker/job.py's ``Job`` of the code
    under test (the installed add-on's, or a source tree's)."""
    request = {"kind": "reconstruct", "inputs": [str(p) for p in images], "cache_dir": str(cache),
               "hands_and_face": False, **settings}
    outcome = job_class(request, cache / f"job_{settings.get('estimator', 'keypoints')}").run_to_end(1200)
    if outcome.state == "failed":
        print(f"the {settings.get('estimator', 'keypoints')} job failed: {outcome.message}", file=sys.stderr)
    found = {}
    for item in outcome.summary.get("results", []):
        with np.load(item["result"]) as data:
            found[Path(item["input"])] = {key: data[key] for key in ("joints", "joints_2d")}  # (P,) F, 24, ...
    return found


def lag_frames(signal: np.ndarray, reference: np.ndarray, most: int = 15) -> float:
    """How many frames ``signal (F, ...)`` runs behind ``reference`` (negative: ahead): the shift that brings them
    closest (mean squared difference), refined between frames by a parabola through its neighbours."""
    count = len(signal)

    def mismatch(shift: int) -> float:
        a, b = (signal[shift:], reference[:count - shift]) if shift >= 0 else (signal[:shift], reference[-shift:])
        return float(np.mean((a - b) ** 2))

    costs = {shift: mismatch(shift) for shift in range(-most, most + 1)}
    best = min(costs, key=costs.get)
    if abs(best) == most:
        return float(best)
    before, at, after = costs[best - 1], costs[best], costs[best + 1]
    curvature = before - 2 * at + after
    return float(best + (0.5 * (before - after) / curvature if curvature > 0 else 0.0))
