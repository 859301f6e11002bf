"""Motion-capture clips drawn by Cycles and reconstructed by the extension's own job from their pixels: real fits
with known truth. The contact model trains on those of training clips next to its simulated fits, and the grounding
benchmark judges on those of held-out clips (``tools/bench_grounding.py --rendered``).

    .venv/bin/python -m training.contact.renders --mocap ../shared/mocap/bvh --out runs/contact/real_train --count 60

Each clip's first ``seconds`` on the open body in random clothes and light (the synthetic generator's mode (a)), a
static camera (``training.synth.sequences.static_camera``), ``size`` x ``size`` pixels over one still background,
written as a video and reconstructed with the foot lock off; the result is kept as ``<trial>_<size>.npz``.

``--view 0`` (the default) sees each clip as it is recorded, from the camera ``static_camera`` places by default.
Another view (``--view 1``, into another folder) sees the clip turned to a random heading, mirrored half the time,
from a camera drawn for it (height, pitch, field of view and margin) in another look: more real fits of the same
motion for the contact model. Such a file also keeps the truth's contacts as the view has them
(``truth_contacts``: a mirrored clip's feet swap sides).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from core.bodymodel.library import load_body
from core.grounding.skeleton import FootSkeleton
from training.synth.appearance import background, composite, hair_vertices, random_look, srgb_to_linear
from training.synth.render_blender import RenderSettings, render_batch
from training.synth.sequences import clip_sequence, in_camera, seen_clip, static_camera

from .data import clips, turned

SECONDS = 5.0
CAMERA_HEIGHT_M = (0.9, 2.0)  # the camera of a view other than 0
PITCH_DEGREES = (2.0, 18.0)
FOV_DEGREES = (45.0, 70.0)
MARGIN = (1.1, 1.5)


def kept_name(trial: str, size: int) -> str:
    return f"{trial.replace('/', '_')}_{size}.npz"


def seen(mocap: Path, trial: str, body, size: int, seconds: float = SECONDS):
    """The clip's truth as rendered: ``(sequence, camera, poses, trans)``."""
    return seen_clip(mocap / f"{trial}.bvh", body, seconds, width=size, height=size)


def viewed(mocap: Path, trial: str, body, size: int, view: int, rng: np.random.Generator,
           seconds: float = SECONDS):
    """The clip's truth as ``view`` renders it: ``(sequence, camera, poses, trans)``; view 0 is :func:`seen`."""
    if view == 0:
        return seen(mocap, trial, body, size, seconds)
    pelvis = FootSkeleton.of(body, np.zeros(0)).rest[0]
    sequence = turned(clip_sequence(mocap / f"{trial}.bvh", body, seconds=seconds), rng.uniform(-np.pi, np.pi),
                      bool(rng.random() < 0.5), pelvis)
    camera = static_camera(sequence, body, width=size, height=size, fov_degrees=rng.uniform(*FOV_DEGREES),
                           camera_height=rng.uniform(*CAMERA_HEIGHT_M), pitch_degrees=rng.uniform(*PITCH_DEGREES),
                           margin=rng.uniform(*MARGIN))
    return (sequence, camera, *in_camera(sequence, camera, pelvis))


def chosen_clips(mocap: Path, split: str, count: int) -> list[Path]:
    """``count`` clips of the split, spread over it (the clips ``main`` renders)."""
    paths = clips(mocap, split)
    return [paths[round(i)] for i in np.linspace(0, len(paths) - 1, min(count, len(paths)))]


def view_rng(seed: int, view: int, index: int) -> np.random.Generator:
    """The random draws of the ``index``-th chosen clip in ``view``: its camera (another view) and its look."""
    return np.random.default_rng(seed + index if view == 0 else [seed, view, index])


def render_frames(body, camera, poses, trans, size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """The clip drawn by Cycles on the open body in a random look over one still background: RGB frames."""
    parts = np.argmax(body.weights, axis=1)
    hair = hair_vertices(body.v_template, parts, body.rest_joints()[15])
    vertices = body.pose(poses, np.zeros(10), trans, pose_correctives=False).vertices
    look = random_look(rng, parts, hair)
    count = len(vertices)
    images = render_batch(body.faces, vertices, np.broadcast_to(srgb_to_linear(look.vertex_colours),
                                                                (count, *look.vertex_colours.shape)),
                          np.tile([camera.focal, (size - 1) / 2, (size - 1) / 2], (count, 1)),
                          {"sun_direction": np.tile(look.sun_direction, (count, 1)),
                           "sun_strength": np.full(count, look.sun_strength),
                           "ambient": np.tile(look.ambient, (count, 1))}, RenderSettings(samples=8, size=size))
    back = background(rng, size)
    return [composite(image, back) for image in images]


def reconstruct_frames(name: str, frames: list[np.ndarray], fps: float, focal: float, **settings) -> dict | str:
    """RGB ``frames`` written as a video and reconstructed by the job (``settings`` over its defaults); the
    result's arrays, or the job's message when it fails."""
    import cv2

    from pocket_mocap.core.worker.job import Job

    height, width = frames[0].shape[:2]
    with tempfile.TemporaryDirectory() as folder:
        video = Path(folder) / f"{name}.avi"
        writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
        for image in frames:
            writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        writer.release()
        fov = float(np.degrees(2 * np.arctan(max(width, height) / 2 / focal)))
        job = Job({"kind": "reconstruct", "inputs": [str(video)], "cache_dir": str(Path(folder) / "cache"),
                   "hands_and_face": False, "fov_degrees": fov, **settings}, Path(folder) / "job")
        outcome = job.run_to_end(600)
        if outcome.state != "done":
            return outcome.message
        with np.load(Path(outcome.summary["results"][0]["result"])) as data:
            return {key: data[key] for key in data.files}


def render_and_reconstruct(trial: str, body, sequence, camera, poses, trans, size: int, rng: np.random.Generator
                           ) -> dict | str:
    """The clip drawn by Cycles, written as a video and reconstructed by the job (lock off); the result's arrays,
    or the job's message when it fails."""
    frames = render_frames(body, camera, poses, trans, size, rng)
    return reconstruct_frames(trial.replace("/", "_"), frames, sequence.fps, camera.focal, foot_lock=0.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mocap", type=Path, required=True, help="the CC_Base BVH folder (../shared/mocap/bvh)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--count", type=int, default=12, help="clips, spread over the split")
    parser.add_argument("--split", choices=("train", "validation"), default="train",
                        help="the pose bank's split to draw from (validation: to measure on, never to train on)")
    parser.add_argument("--size", type=int, nargs="+", default=[256, 512],
                        help="square sides in pixels, tried in turn until the landmark stage finds the person (a "
                             "clip that walks far from the camera is too small for it at 256)")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--view", type=int, default=0, help="0: each clip as recorded, from the default camera; "
                                                             "another number: turned, maybe mirrored, from a camera "
                                                             "drawn for it (write each view to its own folder)")
    args = parser.parse_args()
    body = load_body("open", "smplx", "", "neutral")
    chosen = chosen_clips(args.mocap, args.split, args.count)
    args.out.mkdir(parents=True, exist_ok=True)
    for index, path in enumerate(chosen):
        trial = f"{path.parent.name}/{path.stem}"
        if any((args.out / kept_name(trial, size)).is_file() for size in args.size):
            continue
        for size in args.size:
            rng = view_rng(args.seed, args.view, index)
            sequence, *rest = viewed(args.mocap, trial, body, size, args.view, rng)
            result = render_and_reconstruct(trial, body, sequence, *rest, size, rng)
            if isinstance(result, str):
                print(f"{trial} at {size} px: {result}", flush=True)
                continue
            if args.view:
                result["truth_contacts"] = sequence.contacts.astype(np.float32)
            np.savez(args.out / kept_name(trial, size), **result)
            print(f"{trial} at {size} px: {len(result['poses'])} frames kept", flush=True)
            break
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
