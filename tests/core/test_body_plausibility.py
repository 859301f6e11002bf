"""Floor and unusual poses stay human: on every shared photo and ground-truth frame, each reconstructed person's
knees and elbows bend within their limits and no arm passes through the torso (skipped without
../shared/media)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from conftest import SHARED_MEDIA

from pocket_mocap.core.pipeline.results import split_people
from pocket_mocap.core.worker.job import Job

if importlib.util.find_spec("onnxruntime") is None:
    pytest.skip("onnxruntime is not installed here", allow_module_level=True)
pytestmark = pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="../shared/media is absent: no real people")
HINGE_DEGREES = (-10.0, 160.0)  # flexion of a knee or an elbow: a little overextension, no further than folded
OFF_HINGE_DEGREES = 30.0  # turn about the other axes
TORSO_CLEARANCE_M = 0.06  # elbows, wrists and arm-bone middles at least this far from the spine (pelvis to neck)


def photos() -> list:
    folders = [SHARED_MEDIA / "images" / "single", SHARED_MEDIA / "images" / "multi", SHARED_MEDIA / "gt"]
    return sorted(p for folder in folders for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


def hinge_problems(poses: np.ndarray) -> list[str]:
    """Knees flex about +x, the left elbow about -y and the right about +y (the model's joint frames)."""
    pose = np.degrees(poses.reshape(-1, 3))
    problems = []
    for name, joint, axis, sign in (("left knee", 4, 0, 1), ("right knee", 5, 0, 1), ("left elbow", 18, 1, -1),
                                    ("right elbow", 19, 1, 1)):
        flexion = sign * pose[joint, axis]
        off = np.abs(np.delete(pose[joint], axis)).max()
        if not HINGE_DEGREES[0] <= flexion <= HINGE_DEGREES[1] or off > OFF_HINGE_DEGREES:
            problems.append(f"{name} flexed {flexion:.0f} deg, {off:.0f} deg off its hinge")
    return problems


def torso_problems(joints: np.ndarray) -> list[str]:
    """Arm points closer to the spine segment than TORSO_CLEARANCE_M (SMPL-order ``joints (24, 3)``)."""
    pelvis, neck = joints[0], joints[12]
    spine = neck - pelvis
    problems = []
    for name, point in (("left elbow", joints[18]), ("right elbow", joints[19]), ("left wrist", joints[20]),
                        ("right wrist", joints[21]), ("left upper arm", (joints[16] + joints[18]) / 2),
                        ("right upper arm", (joints[17] + joints[19]) / 2),
                        ("left forearm", (joints[18] + joints[20]) / 2),
                        ("right forearm", (joints[19] + joints[21]) / 2)):
        along = np.clip((point - pelvis) @ spine / (spine @ spine), 0.0, 1.0)
        distance = np.linalg.norm(point - (pelvis + along * spine))
        if distance < TORSO_CLEARANCE_M:
            problems.append(f"{name} {distance * 100:.0f} cm from the spine")
    return problems


def test_every_knee_and_elbow_bends_right_and_no_arm_goes_through_the_torso(tmp_path):
    images = photos()
    job = Job({"kind": "reconstruct", "inputs": [str(p) for p in images], "cache_dir": str(tmp_path / "cache"),
               "hands_and_face": False}, tmp_path / "job")
    outcome = job.run_to_end(900)
    assert outcome.state == "done", outcome.message
    problems, people = [], 0
    for item in outcome.summary["results"]:
        with np.load(item["result"]) as data:
            result = {key: data[key] for key in data.files}
        for number, person in enumerate(split_people(result), start=1):
            people += 1
            said = hinge_problems(person["poses"][0][: 22 * 3]) + torso_problems(person["joints"][0])
            problems += [f"{item['input'].rsplit('/', 1)[-1]} person {number}: {text}" for text in said]
    assert people >= len(images)
    assert not problems, "\n".join(problems)
