"""Benchmark: the temporal lifter against the per-frame lifter, the fit (the default) and raw MediaPipe, on video of
motion-capture clips held out of all training, drawn by Cycles, where the truth is known; every row in one run.

    .venv/bin/python tools/bench_temporal.py [--temporal FILE ...] [--lifter FILE] [--clips 002/002_10 ...]
        [--seconds 8] [--size 320] [--keep DIR]

Each clip: its first ``--seconds`` on the open body in a random look over one still background, seen by a static
camera (training/contact/renders.py), ``--size`` pixels square. The landmark stage runs on the frames as the video
job runs it (tracking, one person); where it finds the person in under half the frames the clip is drawn again in
another look (at most three), since finding people is not what this measures. The fit rows are the reconstruct
job on the same frames written as a video: with default settings (the first fit, then the second fit to the
temporal lifter's points), with ``temporal_lifter`` off (the first fit alone, the default before), and with the
per-frame lifter (the job's ``lifter`` setting).

Figures over the 12 limb points, mm, over every frame the person was found in: PA-MPJPE and MPJPE after putting the
mid-hips together (root-aligned), medians and means; in the picture, the mean distance (px) from where each row
puts the points (MediaPipe's image landmarks for the landmark rows, the fits' joints seen by the job's camera) to
where the camera sees the truth's; jitter, the mean acceleration of the hip-centred limb points (m/s², the truth's
own given); and foot contact (left/right heel and toe) precision and recall against the clip's truth contacts, for
the temporal lifter and for the job's grounding: the bundled contact model on the default fit and on the first fit
alone, and the bundled temporal lifter's contacts through the job's ``contacts="lifted"`` and, half and half with
the model's, ``contacts="both"`` (the product's path, hysteresis included). Raw MediaPipe and the lifters are judged
on their landmark points against the truth's, the fits on their SMPL joints against the truth's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from bench_lifting import HIPS_IN_LIMBS, JOINT_LIMBS  # noqa: E402 - the same points, the same way

from core.lifting.features import HIPS, input_features  # noqa: E402
from core.lifting.temporal import BUNDLED, TemporalLifter, clip_features  # noqa: E402
from core.pipeline.smoothing import jitter  # noqa: E402
from training.lifter.mediapipe_errors import LIMBS as LANDMARK_LIMBS  # noqa: E402
from training.lifter.mediapipe_errors import pa_error  # noqa: E402

MOCAP = ROOT.parent / "shared" / "mocap" / "bvh"
CLIPS = ("002/002_10", "005/005_03", "005/005_14", "005/005_17", "007/007_08")  # the held-out CC_Base trials


def figures(predicted: np.ndarray, truth: np.ndarray, fps: float, pixels: np.ndarray, camera: tuple) -> dict:
    """Per frame: PA-MPJPE and root-aligned error (mm), and the distance in the picture (px) from ``pixels``
    (where the row puts the points on the image) to the truth's points seen through ``camera`` (focal, centre);
    the jitter of the row's hip-centred points."""
    pa = pa_error(predicted, truth) * 1000
    centred = [points - points[:, HIPS_IN_LIMBS].mean(axis=1, keepdims=True) for points in (predicted, truth)]
    root = np.linalg.norm(centred[0] - centred[1], axis=-1).mean(axis=1) * 1000
    image = np.linalg.norm(pixels - project(truth, *camera), axis=-1).mean(axis=1)
    return {"pa": pa, "root": root, "image": image, "jitter": jitter(centred[0], fps)}


def project(points: np.ndarray, focal: float, centre: tuple[float, float]) -> np.ndarray:
    return points[..., :2] / points[..., 2:] * focal + np.asarray(centre)


def clip_data(name: str, body, kit, seconds: float, size: int, lifter: Path | None, keep: Path | None) -> dict | str:
    """Render (or read from ``keep``), track and reconstruct one clip."""
    from training.contact.renders import reconstruct_frames
    from training.lifter.real_sequences import render_clip

    stored = None if keep is None else keep / f"{name.replace('/', '_')}_{size}_{seconds:g}s.npz"
    if stored is not None and stored.is_file():
        with np.load(stored) as data:
            return {key: data[key] for key in data.files}
    data = render_clip(MOCAP, name, body, kit, seconds, size)
    if isinstance(data, str):
        return data
    frames, fps, focal = data.pop("frames"), float(data["fps"]), float(data["focal"])
    fit = reconstruct_frames(name.replace("/", "_"), frames, fps, focal)
    if isinstance(fit, str):
        return fit
    data |= {"fit_joints": fit["joints"], "fit_contacts": fit["contacts"]}
    first = reconstruct_frames(name.replace("/", "_"), frames, fps, focal, temporal_lifter=False)
    if not isinstance(first, str):
        data |= {"first_fit_joints": first["joints"], "first_fit_contacts": first["contacts"]}
    if BUNDLED.is_file():  # the job grounding on the bundled temporal lifter's contacts
        lifted = reconstruct_frames(name.replace("/", "_"), frames, fps, focal, contacts="lifted")
        if not isinstance(lifted, str):
            data["lifted_contacts"] = lifted["contacts"]
        both = reconstruct_frames(name.replace("/", "_"), frames, fps, focal, contacts="both")
        if not isinstance(both, str):
            data["both_contacts"] = both["contacts"]
    if lifter is not None:
        lifted = reconstruct_frames(name.replace("/", "_"), frames, fps, focal, lifter=True, lifter_weights=str(lifter))
        if not isinstance(lifted, str):
            data["lifter_fit_joints"] = lifted["joints"]
    if stored is not None:
        keep.mkdir(parents=True, exist_ok=True)
        np.savez(stored, **data)
    return data


def contact_figures(probabilities: np.ndarray, truth: np.ndarray) -> tuple[int, int, int]:
    found, real = probabilities >= 0.5, truth.astype(bool)
    return int((found & real).sum()), int(found.sum()), int(real.sum())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--temporal", type=Path, nargs="+", default=[BUNDLED],
                        help="temporal lifter files (default: the bundled one); each gets its rows")
    parser.add_argument("--lifter", type=Path, default=ROOT / "runs" / "lifter_measured" / "residual.onnx",
                        help="a per-frame lifter (.onnx)")
    parser.add_argument("--clips", nargs="+", default=list(CLIPS))
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("--keep", type=Path, help="a folder for the rendered clips' tracks and fits, reused")
    args = parser.parse_args(argv)
    if not MOCAP.is_dir():
        print(f"The motion-capture clips are not at {MOCAP}; nothing to measure.")
        return 1
    import onnxruntime

    from core.bodymodel.library import load_body
    from training.synth.generator import OpenBodyKit

    body, kit = load_body("open", "smplx", "", "neutral"), OpenBodyKit()
    temporal = {(f"temporal lifter ({path.parent.name})" if len(args.temporal) > 1 else "temporal lifter"):
                TemporalLifter(path) for path in args.temporal}
    lifter = onnxruntime.InferenceSession(str(args.lifter), providers=["CPUExecutionProvider"]) \
        if args.lifter and args.lifter.is_file() else None
    rows: dict[str, list] = {}
    grounding = {"grounding (the job, contact model)": "fit_contacts",
                 "grounding (first fit alone, contact model)": "first_fit_contacts",
                 "grounding (the job, lifter's contacts)": "lifted_contacts",
                 "grounding (the job, both, half each)": "both_contacts"}
    contacts = {(source, labels): np.zeros(3) for source in [*temporal, *grounding]
                for labels in ("contacts", "clip_contacts")}
    truth_jitter = []
    for name in args.clips:
        data = clip_data(name, body, kit, args.seconds, args.size, args.lifter if lifter else None, args.keep)
        if isinstance(data, str):
            print(f"{name}: {data}")
            continue
        seen, fps = data["seen"].astype(bool), float(data["fps"])
        centre = (float(data["size"]) / 2, float(data["size"]) / 2)
        truth = data["landmarks"][seen][:, LANDMARK_LIMBS]
        truth_joints = data["keypoints"][seen][:, JOINT_LIMBS]  # the first 24 keypoints are the SMPL joints
        hips = data["landmarks"][:, HIPS].mean(axis=1, keepdims=True)
        truth_jitter.append(jitter((data["landmarks"] - hips)[seen][:, LANDMARK_LIMBS], fps))
        found = {"MediaPipe world landmarks (raw)": data["world"][seen][:, LANDMARK_LIMBS]}
        if lifter is not None:
            features = input_features(data["pixels"][seen], data["visibility"][seen], data["world"][seen],
                                      np.full(int(seen.sum()), float(data["focal"])),
                                      np.tile(centre, (int(seen.sum()), 1))).astype(np.float32)
            points = lifter.run(None, {lifter.get_inputs()[0].name: features})[0]
            found["per-frame lifter"] = points[:, LANDMARK_LIMBS]
        features = clip_features(data["pixels"], data["visibility"], data["world"], seen, float(data["focal"]),
                                 centre)
        probabilities = {}
        for label, lifter_file in temporal.items():
            landmarks, _, probabilities[label] = lifter_file.lift(features, fps)
            found[label] = landmarks[seen][:, LANDMARK_LIMBS]
        camera = (float(data["focal"]), centre)
        for label, points in found.items():  # where MediaPipe put the landmarks in the picture
            rows.setdefault(label, []).append(figures(points, truth, fps, data["pixels"][seen][:, LANDMARK_LIMBS],
                                                      camera))
        fits = {"the job (default: refitted)": data["fit_joints"]}
        if "first_fit_joints" in data:
            fits["first fit alone (old default)"] = data["first_fit_joints"]
        if "lifter_fit_joints" in data:
            fits["per-frame lifter + fit"] = data["lifter_fit_joints"]
        for label, joints in fits.items():
            joints = joints[0] if joints.ndim == 4 else joints
            joints = joints[seen][:, JOINT_LIMBS]
            rows.setdefault(label, []).append(figures(joints, truth_joints, fps, project(joints, *camera), camera))
        for labels in ("contacts", "clip_contacts"):
            for label, found_probabilities in probabilities.items():
                contacts[label, labels] += contact_figures(found_probabilities[seen], data[labels][seen])
            for label, key in grounding.items():
                if key in data:
                    job_contacts = data[key][0] if data[key].ndim == 3 else data[key]
                    contacts[label, labels] += contact_figures(job_contacts[seen], data[labels][seen])
        print(f"{name}: {int(seen.sum())} of {len(seen)} frames with the person (look {int(data['look'])}); "
              f"PA-MPJPE mean: " + ", ".join(f"{label} {rows[label][-1]['pa'].mean():.1f}" for label in rows))
    if not rows:
        return 1
    print(f"\n{len(truth_jitter)} held-out clips, {args.seconds:g} s each at {args.size} px; the truth's jitter "
          f"{np.mean(truth_jitter):.2f} m/s²")
    columns = ("PA-MPJPE median", "PA-MPJPE mean", "root-aligned median", "root-aligned mean", "picture px mean",
               "jitter m/s²")
    print(f"{'':34s}" + "".join(f"{c:>21s}" for c in columns))
    for label, parts in rows.items():
        pa, root, image = (np.concatenate([p[key] for p in parts]) for key in ("pa", "root", "image"))
        values = (np.median(pa), pa.mean(), np.median(root), root.mean(), image.mean(),
                  np.mean([p["jitter"] for p in parts]))
        print(f"{label:34s}" + "".join(f"{v:21.1f}" if i < 5 else f"{v:21.2f}" for i, v in enumerate(values)))
    print("\nfoot contact, pooled over the clips' seen frames, against the truth's landmark heel and toe (the lifter's "
          "labels) and against the grounding benchmark's sole points:")
    for (label, labels), (hits, found_count, real) in contacts.items():
        if not real:
            continue
        truth_name = "landmarks" if labels == "contacts" else "soles"
        print(f"  {label:34s} {truth_name:9s} precision {hits / max(found_count, 1):.2f}  "
              f"recall {hits / max(real, 1):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
