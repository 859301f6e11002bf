"""Synthetic data throughput: samples per second per mode, the median of repeated runs, shards written to a
temporary folder (the whole pipeline: sampling, rasterising, rendering, compressing).

    OMP_NUM_THREADS=1 .venv/bin/python tools/bench_synth.py [--poses runs/poses.npz] [--repeats 3]

Mode (b) runs ``--workers`` processes (default 2, for 2 cores); mode (a) one Blender process with 2 render
threads. Also reported: one process's sampling rate and the reader's mode (b) input building rate.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.synth.bank import load_pose_bank, random_test_poses  # noqa: E402
from training.synth.generate import generate  # noqa: E402
from training.synth.generator import SyntheticGenerator  # noqa: E402
from training.synth.render_blender import RenderSettings  # noqa: E402
from training.synth.shards import SyntheticShards  # noqa: E402


def rate(run, count: int, repeats: int) -> tuple[float, list[float]]:
    speeds = []
    for repeat in range(repeats):
        started = time.perf_counter()
        run(repeat)
        speeds.append(count / (time.perf_counter() - started))
    return statistics.median(speeds), speeds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--poses", type=Path, help="pose bank (default: random test poses)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--silhouette-count", type=int, default=512)
    parser.add_argument("--rgb-count", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--samples", type=int, default=8, help="Cycles samples per pixel")
    args = parser.parse_args()
    bank = load_pose_bank(args.poses) if args.poses else random_test_poses(256, 0)
    print(f"pose source: {bank.source}")
    generator = SyntheticGenerator(bank)
    count = args.silhouette_count
    median, runs = rate(lambda r: [generator.sample(100 + r, i) for i in range(count // 4)], count // 4, args.repeats)
    print(f"sampling only, 1 process: {median:.1f} samples/s (runs {', '.join(f'{s:.1f}' for s in runs)})")
    with tempfile.TemporaryDirectory() as folder:
        median, runs = rate(lambda r: generate("silhouette", bank, r, count, Path(folder) / f"b{r}",
                                               shard_size=count // args.workers, workers=args.workers),
                            count, args.repeats)
        print(f"mode (b) silhouette, {args.workers} processes, shards written: {median:.1f} samples/s "
              f"(runs {', '.join(f'{s:.1f}' for s in runs)})")
        shards = SyntheticShards(Path(folder) / "b0")
        median, runs = rate(lambda r: [shards[i]["image"] for i in range(len(shards))], len(shards), args.repeats)
        print(f"mode (b) reader, input tensors built: {median:.1f} samples/s")
        settings = RenderSettings(samples=args.samples, threads=2)
        rgb = args.rgb_count
        median, runs = rate(lambda r: generate("rgb", bank, r, rgb, Path(folder) / f"a{r}", shard_size=rgb,
                                               settings=settings), rgb, args.repeats)
        print(f"mode (a) rgb, one Blender process (Cycles {args.samples} spp, 2 threads), batch {rgb}: "
              f"{median:.2f} samples/s (runs {', '.join(f'{s:.2f}' for s in runs)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
