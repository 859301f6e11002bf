"""Benchmark: reconstruction speed, jitter and worker memory on the taiji clip, and photo latency.

    .venv/bin/python tools/bench_reconstruct.py [--repeats 3]

End-to-end fps = frames / wall time of the whole worker job (decode + landmarks + fit + smoothing +
writing), body only and with hands and face; jitter = mean joint acceleration (m/s²) of the 12 limb
joints, hip-centred, against raw MediaPipe world landmarks in the same run, and how many frames our joints run
behind those landmarks (``metrics.lag_frames``; MediaPipe's own landmark smoothing is in both); memory = the
worker's peak resident set (VmHWM). Medians of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import metrics  # noqa: E402

from pocket_mocap.core.estimators.keypoints.landmarks import POSE  # noqa: E402
from pocket_mocap.core.pipeline.smoothing import jitter  # noqa: E402
from pocket_mocap.core.worker.job import Job  # noqa: E402

MEDIA = metrics.GT.parent
VIDEO = MEDIA / "videos" / "v01_taiji__hybrik.mp4"
PHOTO = MEDIA / "images" / "single" / "s03_yoga_treepose__tfexamples_image3.jpeg"


def run_job(inputs: list[Path], **settings) -> tuple[float, int, dict]:
    """Wall seconds, peak worker memory (kB) and the first result of one fresh job."""
    with tempfile.TemporaryDirectory() as cache:
        job = Job({"kind": "reconstruct", "inputs": [str(p) for p in inputs], "cache_dir": cache, **settings},
                  Path(cache) / "job")
        started = time.perf_counter()
        job.start()
        peak = 0
        while (interval := job.poll()) is not None:
            peak = max(peak, _peak_memory(job._process.pid))
            time.sleep(interval / 4)
        seconds = time.perf_counter() - started
        assert job.outcome.state == "done", job.outcome.message
        with np.load(job.outcome.summary["results"][0]["result"]) as data:
            result = {key: data[key] for key in data.files}
    return seconds, peak, result


def _peak_memory(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def raw_world(video: Path) -> np.ndarray:
    """MediaPipe's own world landmarks for the 12 limb joints, every frame: ``(F, 12, 3)``."""
    from pocket_mocap.core import media
    from pocket_mocap.core.estimators.keypoints.detect import LandmarkDetector

    limbs = [POSE[name] for name in metrics.LIMBS]
    frames = []
    with LandmarkDetector(video=True, hands_and_face=False) as detector:
        for _, rgb in media.iter_frames(video):
            obs = detector.detect(rgb)
            frames.append(obs.world[limbs] if obs is not None else frames[-1])
    return np.array(frames)


def hip_centred(joints: np.ndarray) -> np.ndarray:
    return joints - (joints[:, :1] + joints[:, 3:4]) / 2  # 12-limb order: left_hip first, right_hip fourth


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not VIDEO.is_file():
        print(f"{VIDEO} is absent: nothing to measure.")
        return 0
    frames = 412
    rows = {}
    for label, settings in (("body only", {"hands_and_face": False}), ("hands and face", {})):
        runs = [run_job([VIDEO], **settings) for _ in range(args.repeats)]
        seconds = statistics.median(r[0] for r in runs)
        rows[label] = (frames / seconds, max(r[1] for r in runs) / 1024, runs[0][2])
    fps = 23.976
    ours_limbs = hip_centred(rows["body only"][2]["joints"][:, metrics.SMPL_LIMBS])
    raw_limbs = hip_centred(raw_world(VIDEO))
    ours, raw = jitter(ours_limbs, fps), jitter(raw_limbs, fps)
    # each joint's mean taken out: the body's joints and MediaPipe's landmarks sit a few centimetres apart
    lag = metrics.lag_frames(ours_limbs - ours_limbs.mean(axis=0), raw_limbs - raw_limbs.mean(axis=0))
    photo = [run_job([PHOTO])[0] for _ in range(args.repeats)]
    print(f"taiji, {frames} frames 1280x720, 2 threads, median of {args.repeats}")
    for label, (rate, memory, _) in rows.items():
        print(f"  {label:<15} {rate:6.1f} fps end to end   worker peak memory {memory:6.0f} MB")
    print(f"  jitter (mean limb-joint acceleration, hip-centred): ours {ours:.2f} m/s² vs raw MediaPipe "
          f"{raw:.2f} m/s² ({ours / raw:.2f}x)")
    print(f"  lag behind raw MediaPipe's world landmarks: {lag:.2f} frames ({1000 * lag / fps:.0f} ms)")
    print(f"photo job (worker start + MediaPipe load + detect + fit + write): {statistics.median(photo):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
