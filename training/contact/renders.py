"""Motion-capture clips drawn by Cycles and reconstructed by the extension's own job from their pixels: real fits
with known truth. The contact model trains on those of training clips next to its simulated fits, and the grounding
benchmark judges on those of held-out clips (``tools/bench_grounding.py --rendered``).

    .venv/bin/python -m training.contact.renders --mocap ../shared/mocap/bvh --out runs/contact/real_train --count 60

Each clip's first ``seconds`` on the open body in random clothes and light (the synthetic generator's mode (a)), a
static camera (``training.synth.sequences.static_camera``), ``size`` x ``size`` pixels over one still background,
written as a video and reconstructed with the foot lock off; the result is kept as ``<trial>_<size>.npz``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from core.bodymodel.library import load_body
from training.synth.appearance import background, composite, hair_vertices, random_look, srgb_to_linear
from training.synth.render_blender import RenderSettings, render_batch
from training.synth.sequences import seen_clip

from .data import clips

SECONDS = 5.0


def kept_name(trial: str, size: int) -> str:
    return f"{trial.replace('/', '_')}_{size}.npz"


def seen(mocap: Path, trial: str, body, size: int, seconds: float = SECONDS):
    """The clip's truth as rendered: ``(sequence, camera, poses, trans)``."""
    return seen_clip(mocap / f"{trial}.bvh", body, seconds, width=size, height=size)


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
    args = parser.parse_args()
    body = load_body("open", "smplx", "", "neutral")
    paths = clips(args.mocap, args.split)
    chosen = [paths[round(i)] for i in np.linspace(0, len(paths) - 1, min(args.count, len(paths)))]
    args.out.mkdir(parents=True, exist_ok=True)
    for index, path in enumerate(chosen):
        trial = f"{path.parent.name}/{path.stem}"
        if any((args.out / kept_name(trial, size)).is_file() for size in args.size):
            continue
        for size in args.size:
            rng = np.random.default_rng(args.seed + index)
            result = render_and_reconstruct(trial, body, *seen(args.mocap, trial, body, size), size, rng)
            if isinstance(result, str):
                print(f"{trial} at {size} px: {result}", flush=True)
                continue
            np.savez(args.out / kept_name(trial, size), **result)
            print(f"{trial} at {size} px: {len(result['poses'])} frames kept", flush=True)
            break
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
