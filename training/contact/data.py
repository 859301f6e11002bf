"""Training data for the learned contact model: motion-capture clips on the open body, turned, mirrored, seen by
random static cameras, their fit simulated with the kinds of error a real fit makes, and read by the extension's own
grounding (``core.grounding.ground.clip_evidence``) exactly as at run time. Labels are the clip's truth contacts.

The simulated fit errs in four ways, each with a strength drawn per clip, from none to more than the real fits of
our rendered training clips show (``python -m training.contact.data calibrate`` puts the two side by side):

- the distance from the camera wanders, slowly and from frame to frame, along the camera's ray (pixels stay);
- every joint angle is off by smooth noise and by frame-to-frame jitter;
- the body leans towards or away from the camera by a fixed angle plus a slow drift (the floor then tilts);
- nothing else: the 2D image of the fit follows its 3D, as the fit's own ``joints_2d`` do.

The real fits' ankles are far worse than this: their bend follows the truth's with a correlation of 0.32.
Simulating that too made the model worse on the rendered held-out clips (docs/grounding.md), so it is left out.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d

from core.bodymodel.library import load_body
from core.bodymodel.model import BodyModel
from core.estimators.keypoints.fit import Camera
from core.grounding.contact_model import PER_POINT, FootEvidence, contact_features
from core.grounding.ground import clip_evidence
from core.grounding.skeleton import FootSkeleton
from core.pipeline.results import split_people
from core.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from training.synth.mocap_sources import trial_id
from training.synth.poses import apply_heading, mirror_poses, split_of
from training.synth.sequences import Sequence, clip_sequence, in_camera, on_floor, static_camera

MIRROR_POINTS = [2, 3, 0, 1]  # left heel, left toe, right heel, right toe -> their mirror images


@dataclass(frozen=True)
class FitNoise:
    """Strengths of the simulated fit's errors (see the module's docstring)."""

    depth_slow: float = 0.0  # fraction of the distance, standard deviation of the slow wander
    depth_seconds: float = 0.3  # the slow wander's time scale
    depth_jitter: float = 0.0  # fraction of the distance, frame to frame
    angle_slow_degrees: float = 0.0  # per joint, smooth over ``angle_seconds``
    angle_seconds: float = 0.1
    angle_jitter_degrees: float = 0.0  # per joint, frame to frame
    lean_degrees: float = 0.0  # about the camera's x axis, fixed for the clip
    lean_drift_degrees: float = 0.0  # slow, over a second

    @classmethod
    def draw(cls, rng: np.random.Generator) -> FitNoise:
        if rng.random() < 0.1:
            return cls()
        return cls(depth_slow=rng.uniform(0.0, 0.07), depth_seconds=rng.uniform(0.1, 1.0),
                   depth_jitter=rng.uniform(0.0, 0.006), angle_slow_degrees=rng.uniform(0.0, 4.0),
                   angle_seconds=rng.uniform(0.07, 0.3), angle_jitter_degrees=rng.uniform(0.0, 0.5),
                   lean_degrees=rng.uniform(-20.0, 20.0), lean_drift_degrees=rng.uniform(0.0, 4.0))


def _smooth_noise(rng: np.random.Generator, shape: tuple, frames: float) -> np.ndarray:
    """Unit-variance Gaussian noise smoothed over ``frames`` along the first axis."""
    values = rng.normal(0, 1, shape)
    if frames > 0.5:
        values = gaussian_filter1d(values, frames, axis=0, mode="nearest")
    return values / max(values.std(), 1e-9)


def noisy_fit(poses: np.ndarray, trans: np.ndarray, pelvis: np.ndarray, noise: FitNoise, fps: float,
              rng: np.random.Generator) -> dict:
    """Camera-space ``poses (F, J*3)`` and ``trans (F, 3)`` of the truth -> the frames a fit with ``noise`` gives."""
    count = len(poses)
    angles = poses.reshape(count, -1, 3).astype(np.float64).copy()
    offsets = (np.radians(noise.angle_slow_degrees) * _smooth_noise(rng, angles.shape, noise.angle_seconds * fps)
               + np.radians(noise.angle_jitter_degrees) * rng.normal(0, 1, angles.shape))
    angles[:, 1:] += offsets[:, 1:]
    lean = np.radians(noise.lean_degrees + noise.lean_drift_degrees * _smooth_noise(rng, (count,), fps))
    lean_axis = np.zeros((count, 3))
    lean_axis[:, 0] = lean
    root = axis_angle_to_matrix(lean_axis) @ axis_angle_to_matrix(angles[:, 0] + offsets[:, 0])
    angles[:, 0] = matrix_to_axis_angle(root)
    factor = (1 + noise.depth_slow * _smooth_noise(rng, (count,), noise.depth_seconds * fps)
              + noise.depth_jitter * rng.normal(0, 1, count))
    noisy_trans = (trans + pelvis) * np.maximum(factor, 0.5)[:, None] - pelvis
    return {"poses": angles.reshape(count, -1).astype(np.float32), "trans": noisy_trans.astype(np.float32),
            "joints": np.zeros((count, 24, 3), np.float32), "joints_2d": np.zeros((count, 24, 2), np.float32),
            "confidence": np.ones(count, np.float32)}


def turned(sequence: Sequence, heading: float, mirror: bool, pelvis: np.ndarray) -> Sequence:
    """The sequence turned about the world's up axis (Y) by ``heading`` and, with ``mirror``, left-right mirrored
    (its contacts swap sides)."""
    poses = sequence.poses.reshape(len(sequence.poses), -1, 3)
    trans = sequence.trans.astype(np.float64)
    contacts = sequence.contacts
    if mirror:
        poses = mirror_poses(poses)
        trans = (trans + pelvis) * (-1.0, 1.0, 1.0) - pelvis
        contacts = contacts[:, MIRROR_POINTS]
    poses = apply_heading(poses, np.full(len(poses), heading))
    c, s = np.cos(heading), np.sin(heading)
    yaw = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    trans = (trans + pelvis) @ yaw.T - pelvis
    return Sequence(sequence.name, poses.reshape(len(poses), -1).astype(np.float32), trans, contacts, sequence.fps)


def mirrored_features(features: np.ndarray) -> np.ndarray:
    """``(F, FEATURES)`` of a clip -> those of its mirror image: the feet swap sides (every feature is a height, a
    speed or a vertical speed, none changes sign when left and right swap)."""
    per_point = features[:, : 4 * PER_POINT].reshape(len(features), 4, PER_POINT)[:, MIRROR_POINTS]
    return np.concatenate([per_point.reshape(len(features), -1), features[:, 4 * PER_POINT:]], axis=1)


@dataclass(frozen=True)
class Sample:
    features: np.ndarray  # (F, FEATURES)
    labels: np.ndarray  # (F, 4) truth contacts
    evidence: FootEvidence
    name: str = ""  # the clip's trial


def sample(sequence: Sequence, body: BodyModel, rng: np.random.Generator, noise: FitNoise | None = None) -> Sample:
    """One view of a clip: turned, maybe mirrored, a random static camera, a simulated fit, read by grounding."""
    pelvis = FootSkeleton.of(body, np.zeros(0)).rest[0]
    view = turned(sequence, rng.uniform(-np.pi, np.pi), bool(rng.random() < 0.5), pelvis)
    portrait = rng.random() < 0.3
    width, height = (360, 640) if portrait else (640, 360)
    camera = static_camera(view, body, width=width, height=height, fov_degrees=rng.uniform(40, 75),
                           camera_height=rng.uniform(0.6, 2.4), pitch_degrees=rng.uniform(-2, 25),
                           margin=rng.uniform(1.05, 1.8))
    poses, trans = in_camera(view, camera, pelvis)
    frames = noisy_fit(poses, trans, pelvis, noise or FitNoise.draw(rng), view.fps, rng)
    evidence = clip_evidence(frames, body, np.zeros(10), Camera(camera.focal, width / 2, height / 2), view.fps)
    return Sample(contact_features(evidence), view.contacts.astype(np.float32), evidence)


def kept_person(path: Path) -> dict:
    """A kept reconstruction of a rendered clip (``training.contact.renders``): the clip's person, the one seen
    longest where the landmark stage also saw somebody in the background."""
    with np.load(path) as data:
        result = {key: data[key] for key in data.files}
    if "person_keys" in result:
        result = max(split_people(result), key=lambda person: int((person["confidence"] > 0).sum()))
    return result


def real_samples(folder: Path, mocap: Path, truth_body: BodyModel, fitted_body: BodyModel) -> list[Sample]:
    """The kept reconstructions of rendered clips (``training.contact.renders``) read by grounding, labelled with
    their clips' truth contacts."""
    from .renders import SECONDS, seen

    found = []
    for path in sorted(folder.glob("*_*_*.npz")):
        stem, size = path.stem.rsplit("_", 1)
        trial = f"{stem[:3]}/{stem[4:]}"
        result = kept_person(path)
        if "truth_contacts" in result:  # a view of the clip other than as recorded keeps its own
            labels, fps = result["truth_contacts"], float(result["mocap_framerate"])
        else:
            sequence = seen(mocap, trial, truth_body, int(size), SECONDS)[0]
            labels, fps = sequence.contacts, sequence.fps
        if len(labels) != len(result["poses"]):
            continue
        intrinsics = result["camera_intrinsics"]
        camera = Camera(float(intrinsics[0, 0]), float(intrinsics[0, 2]), float(intrinsics[1, 2]))
        frames = {key: result[key] for key in ("poses", "trans", "joints", "joints_2d", "confidence")}
        evidence = clip_evidence(frames, fitted_body, result["betas"], camera, fps)
        found.append(Sample(contact_features(evidence), labels.astype(np.float32), evidence, stem[4:]))
    return found


def clips(folder: Path, split: str) -> list[Path]:
    """CC_Base BVH clips of the pose bank's ``split`` (by trial, as the pose bank splits them)."""
    return [path for path in sorted(folder.glob("*/*.bvh")) if split_of(trial_id(*path.stem.split("_")[:2])) == split]


def load_sequences(paths: list[Path], body: BodyModel, cache: Path | None = None, speed: float = 1.0
                   ) -> list[Sequence]:
    """Every clip at 30 fps on the open body, played at ``speed`` (cached in ``cache`` as one ``.npz``)."""
    if cache is not None and cache.is_file():
        with np.load(cache, allow_pickle=False) as data:
            names = [str(name) for name in data["names"]]
            if names == [path.stem for path in paths]:
                return [Sequence(name, data[f"{name}_poses"], data[f"{name}_trans"], data[f"{name}_contacts"],
                                 float(data[f"{name}_fps"])) for name in names]
    sequences = [clip_sequence(path, body, speed=speed) for path in paths]
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"names": np.array([s.name for s in sequences])}
        for s in sequences:
            arrays |= {f"{s.name}_poses": s.poses, f"{s.name}_trans": s.trans, f"{s.name}_contacts": s.contacts,
                       f"{s.name}_fps": np.float32(s.fps)}
        np.savez(cache, **arrays)
    return sequences


def motion_sequences(path: Path, body: BodyModel, held_out: set[str]) -> list[Sequence]:
    """The clips of ``training.lifter.motion``'s file (every readable clip of the motion-capture folder, ``extra/``
    included, at 30 fps) that are neither CC_Base clips (``clips`` reads those from their BVH) nor of the pose bank's
    validation split, nor of a trial in ``held_out``, on the open body and the floor."""
    from training.lifter.motion import RATE, load

    return [on_floor(entry["name"], entry["poses"], entry["pelvis"], RATE, body) for entry in load(path)
            if "/" in entry["name"] and entry["split"] == "train" and entry["trial"] not in held_out]


LEGS = ((4, 7, 0, 1), (5, 8, 2, 3))  # knee, ankle, heel point, toe point: left, right


def ankle_bends(body: BodyModel, betas: np.ndarray, poses: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """``(F, 2)`` degrees between each shin (knee to ankle) and its foot (heel point to toe point), left and right."""
    joints = body.pose(poses, betas, trans).joints.astype(np.float64)
    skeleton = FootSkeleton.of(body, np.zeros(0) if betas is None else betas)
    points = skeleton.contact_points(skeleton.pose(poses, trans)).astype(np.float64)
    shins = np.stack([joints[:, ankle] - joints[:, knee] for knee, ankle, _, _ in LEGS], axis=1)
    feet = np.stack([points[:, toe] - points[:, heel] for _, _, heel, toe in LEGS], axis=1)
    cosine = (shins * feet).sum(-1) / (np.linalg.norm(shins, axis=-1) * np.linalg.norm(feet, axis=-1) + 1e-12)
    return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))


@dataclass
class FitErrors:
    """A fit's frames against the truth's, pooled over clips (:meth:`add`); :meth:`summary` for the printout."""

    truth_bends: list = field(default_factory=list)
    fitted_bends: list = field(default_factory=list)
    distance: list = field(default_factory=list)  # per clip: the distance's error, its sd and frame-to-frame step, m

    def add(self, truth: tuple, fitted: tuple, truth_body: BodyModel, fitted_body: BodyModel,
            valid: np.ndarray) -> None:
        """``truth`` and ``fitted``: ``(poses, trans, betas)`` in camera space, frame for frame; ``valid`` frames."""
        self.truth_bends.append(ankle_bends(truth_body, truth[2], truth[0], truth[1])[valid].ravel())
        self.fitted_bends.append(ankle_bends(fitted_body, fitted[2], fitted[0], fitted[1])[valid].ravel())
        error = (np.asarray(fitted[1], np.float64) - np.asarray(truth[1], np.float64))[valid, 2]  # the bodies'
        # pelvises differ by a constant: neither the spread nor the steps see it
        self.distance.append([error.std(), float(np.median(np.abs(np.diff(error)))) if len(error) > 1 else 0.0])

    def summary(self) -> dict:
        truth, fitted = np.concatenate(self.truth_bends), np.concatenate(self.fitted_bends)
        slope, offset = np.polyfit(truth, fitted, 1)
        distance = np.median(np.array(self.distance), axis=0)
        return {"clips": len(self.distance), "frames": len(truth) // 2,
                "ankle_bend": {"correlation": round(float(np.corrcoef(truth, fitted)[0, 1]), 3),
                               "slope": round(float(slope), 3),
                               "spread_degrees": round(float(np.std(fitted - (slope * truth + offset))), 1),
                               "truth_spread_degrees": round(float(truth.std()), 1)},
                "distance_error_m": {"spread": round(float(distance[0]), 3),
                                     "frame_to_frame": round(float(distance[1]), 4)}}


def calibrate(mocap: Path, renders: Path, seed: int = 0) -> dict:
    """The kept reconstructions of rendered training clips (view 0, fitted on the open body's SMPL layout) against
    their truth (rendered on its SMPL-X layout), next to the simulated fits ``FitNoise.draw`` gives of the same clips
    from the same cameras, over the same frames (the distance: medians over clips; the ankles pooled)."""
    from .renders import seen

    truth_body, fitted_body = load_body("open", "smplx", "", "neutral"), load_body("open", "smpl", "", "neutral")
    real, simulated = FitErrors(), FitErrors()
    rng = np.random.default_rng(seed)
    pelvis = FootSkeleton.of(truth_body, np.zeros(0)).rest[0]
    for path in sorted(renders.glob("*_*_*.npz")):
        stem, size = path.stem.rsplit("_", 1)
        result = kept_person(path)
        if "truth_contacts" in result:  # another view: its truth is drawn, not recorded
            continue
        sequence, _, poses, trans = seen(mocap, f"{stem[:3]}/{stem[4:]}", truth_body, int(size))
        count = min(len(poses), len(result["poses"]))
        valid = result["confidence"][:count] > 0
        if valid.sum() < 30:
            continue
        truth = (poses[:count], trans[:count], None)
        real.add(truth, (result["poses"][:count], result["trans"][:count], result["betas"]), truth_body,
                 fitted_body, valid)
        frames = noisy_fit(poses[:count], trans[:count], pelvis, FitNoise.draw(rng), sequence.fps, rng)
        simulated.add(truth, (frames["poses"], frames["trans"], None), truth_body, truth_body, valid)
    if not real.distance:
        raise SystemExit(f"No kept reconstructions of rendered training clips in {renders}.")
    return {"real_fits": real.summary(), "simulated_fits": simulated.summary()}


def main() -> int:
    parser = argparse.ArgumentParser(description="How the real fits of rendered training clips err against their "
                                                 "truth, next to the simulated fits the contact model learns from.")
    parser.add_argument("command", choices=["calibrate"])
    parser.add_argument("--mocap", type=Path, required=True, help="the CC_Base BVH folder (../shared/mocap/bvh)")
    parser.add_argument("--renders", type=Path, required=True,
                        help="kept reconstructions of rendered training clips (training.contact.renders, view 0)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(json.dumps(calibrate(args.mocap, args.renders, args.seed), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
