"""Generate synthetic training shards.

    python -m training.synth.generate --mode silhouette --count 10000 --seed 0 --poses runs/poses.npz --out DIR
    python -m training.synth.generate --mode rgb --count 512 --seed 0 --poses runs/poses.npz --out DIR

``--test-poses N`` replaces the pose bank by N random test rotations (for trying the generator only). Shards
already on disk are kept, so an interrupted run resumes with the same arguments.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from pathlib import Path

import numpy as np

from core.bodymodel.joints import SMPLX_NAMES

from . import appearance
from .bank import PoseBank, PoseBankError, load_pose_bank, random_test_poses
from .generator import SyntheticGenerator
from .render_blender import RenderError, RenderSettings, render_batch
from .shards import MODES, shard_name, write_manifest, write_shard


def silhouette_samples(generator: SyntheticGenerator, seed: int, indices: range) -> list[dict]:
    """Mode (b): the ground truth, silhouette, part mask and landmarks of each sample (no image)."""
    return [generator.sample(seed, index) for index in indices]


def rgb_samples(generator: SyntheticGenerator, seed: int, indices: range, settings: RenderSettings | None = None
                ) -> list[dict]:
    """Mode (a): as mode (b) plus ``rgb (256, 256, 3) uint8`` (rendered, composited, degraded) and the render's
    ``alpha (256, 256) uint8``. One Blender process renders the whole range."""
    samples = silhouette_samples(generator, seed, indices)
    body = generator.kit.body
    parts = np.argmax(body.weights, axis=1)
    hair = appearance.hair_vertices(body.v_template, parts, body.rest_joints()[SMPLX_NAMES.index("head")])
    rngs = [np.random.default_rng([seed, index, 1]) for index in indices]  # appearance: its own stream
    looks = [appearance.random_look(rng, parts, hair) for rng in rngs]
    vertices = np.stack([generator.full_vertices(generator.scene(seed, index)) for index in indices])
    lights = {"sun_direction": np.stack([look.sun_direction for look in looks]),
              "sun_strength": np.array([look.sun_strength for look in looks]),
              "ambient": np.stack([look.ambient for look in looks])}
    colours = np.stack([appearance.srgb_to_linear(look.vertex_colours) for look in looks])
    rgba = render_batch(body.faces, vertices, colours, np.stack([s["intrinsics"] for s in samples]), lights,
                        settings)
    for sample, image, rng in zip(samples, rgba, rngs, strict=True):
        sample["rgb"] = appearance.degrade(appearance.composite(image, appearance.background(rng)), rng)
        sample["alpha"] = image[..., 3].copy()
    return samples


def generate(mode: str, bank: PoseBank, seed: int, count: int, out: Path, shard_size: int = 256,
             workers: int = 1, settings: RenderSettings | None = None) -> list[Path]:
    """Write ``count`` samples of ``seed`` as shards under ``out``; returns the shard paths."""
    if mode not in MODES:
        raise ValueError(f"Unknown mode {mode!r}: use one of {', '.join(MODES)}.")
    if count < 1 or shard_size < 1:
        raise ValueError("--count and --shard-size must be at least 1.")
    out.mkdir(parents=True, exist_ok=True)
    generator = SyntheticGenerator(bank)
    write_manifest(out, mode, seed, count, shard_size, bank, generator.ranges)
    jobs = [(mode, seed, range(start, min(start + shard_size, count)), out / shard_name(start // shard_size))
            for start in range(0, count, shard_size)]
    todo = [job for job in jobs if not job[3].is_file()]
    if workers > 1 and len(todo) > 1:
        with multiprocessing.get_context("fork").Pool(workers, _init_worker, (bank, settings)) as pool:
            pool.map(_run_job, todo, chunksize=1)
    else:
        _init_worker(bank, settings, generator)
        for job in todo:
            _run_job(job)
    return [job[3] for job in jobs]


_WORKER: dict = {}


def _init_worker(bank: PoseBank, settings: RenderSettings | None, generator: SyntheticGenerator | None = None
                 ) -> None:
    _WORKER["generator"] = generator or SyntheticGenerator(bank)
    _WORKER["settings"] = settings


def _run_job(job: tuple) -> None:
    mode, seed, indices, path = job
    generator = _WORKER["generator"]
    samples = rgb_samples(generator, seed, indices, _WORKER["settings"]) if mode == "rgb" else \
        silhouette_samples(generator, seed, indices)
    write_shard(path, samples)
    print(f"wrote {path} ({len(samples)} samples)", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=MODES, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--poses", type=Path, help="pose bank .npz (training/synth/poses.py)")
    source.add_argument("--test-poses", type=int, metavar="N", help="N random TEST poses instead of a bank")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--shard-size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=1, help="processes (mode silhouette)")
    parser.add_argument("--samples", type=int, default=8, help="Cycles samples per pixel (mode rgb)")
    parser.add_argument("--threads", type=int, default=2, help="Blender render threads (mode rgb)")
    args = parser.parse_args(argv)
    try:
        bank = load_pose_bank(args.poses) if args.poses else random_test_poses(args.test_poses, args.seed)
        generate(args.mode, bank, args.seed, args.count, args.out, args.shard_size, args.workers,
                 RenderSettings(samples=args.samples, threads=args.threads))
    except (PoseBankError, RenderError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
