"""Benchmark: grounding (floor, world trajectory, contacts, foot lock) on the shared videos, the tree before it
in the same run, and held-out motion capture seen by a static camera.

    .venv/bin/python tools/bench_grounding.py --before DIR [--repeats 3] [--skip-videos] [--skip-synthetic]
    .venv/bin/python tools/bench_grounding.py --tune   # how the contact thresholds were chosen (training clips)
    .venv/bin/python tools/bench_grounding.py --skip-videos --video-contacts --rendered --render-size 256 \
        --rendered-clips 002/002_10 005/005_03 005/005_14 005/005_17 007/007_08 --keep runs/contact/rendered \
        --kept runs/contact/rendered   # the rule's and the learned contacts side by side (this round's figures)

``--before``: a checkout of the tree before grounding (``git worktree add /tmp/before <commit>``); both trees run
the command line on each shared video, body only, alternating, so a loaded machine slows both alike.

Real videos (no truth): the issue's proxy (median speed of the lower ankle in camera space), foot skate (speed
along the floor of a heel or toe between two frames both in contact, world frame; the contacts and world frame
of the grounded result are used for both trees), floor contact (frames of a planted foot whose lower sole is
within 2 cm of the floor), how far the grounded legs moved in the image (95th percentile, px), contact share, camera
height, pitch and motion, and end-to-end speed (median wall time of the whole command over ``--repeats``).
Grounding's own time (background motion per frame + the post-process) is timed in-process on taiji.

Synthetic (truth known): the held-out CC_Base trials of the pose bank (``split_of``) on the open body, seen by a
static camera 1.4 m up, pitched 8 degrees down, their fit simulated by smooth noise on every joint angle and on
the distance (``training.synth.sequences.simulated_fit``; ``noise`` 0.25: planted feet slide about as fast as in
the real fits before grounding). Contact precision / recall against the truth's
contacts, camera height and pitch error, root (pelvis) trajectory error after aligning the first frame (its
position and heading), foot skate of the truth, the noisy fit and the grounded result. Every synthetic and
rendered figure is given for the sources of contacts (the rule, the bundled learned model, and from pixels, where the
result keeps MediaPipe's landmarks, the bundled temporal lifter's); ``--video-contacts`` grounds one
lock-free fit of each shared video with each.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT))
from bench_input_checks import importable  # noqa: E402

from pocket_mocap.core.bodymodel.library import load_body  # noqa: E402
from pocket_mocap.core.estimators.keypoints.fit import Camera  # noqa: E402
from pocket_mocap.core.grounding.camera_motion import BackgroundMotion  # noqa: E402
from pocket_mocap.core.grounding.ground import ground_clip  # noqa: E402
from pocket_mocap.core.grounding.skeleton import FootSkeleton  # noqa: E402
from pocket_mocap.core.media import VideoFrames  # noqa: E402
from pocket_mocap.core.rotations import axis_angle_to_matrix  # noqa: E402

MEDIA = ROOT.parent / "shared" / "media" / "videos"
MOCAP = ROOT.parent / "shared" / "mocap" / "bvh"
VIDEOS = ("v01_taiji__hybrik", "v02_basketball_dribble__mmhuman3d_single_person_demo",
          "v05_two_people_multi__mmhuman3d_multi_person_demo")
HELD_OUT = ("007/007_08", "005/005_03", "005/005_14", "002/002_10", "005/005_17")
RENDERED = ("002/002_10", "005/005_03")  # held out; they stay in a small area, so a 256-pixel frame shows them large
TUNING = ("002/002_01", "002/002_03", "005/005_02", "005/005_11", "006/006_02", "002/002_06")  # training split
GRID = {"height": ((0.03, 0.08), (0.04, 0.10), (0.03, 0.10), (0.05, 0.10)),
        "speed": ((0.15, 0.45), (0.2, 0.5), (0.25, 0.5), (0.15, 0.6)),
        "hysteresis": ((0.6, 0.4), (0.7, 0.5), (0.5, 0.3)), "steady": (0.05, 0.1)}
FLOOR_M = 0.02
FRAME_KEYS = ("poses", "trans", "joints", "joints_2d", "confidence", "person_box")
LEG_JOINTS = [1, 2, 4, 5, 7, 8, 10, 11]  # hips, knees, ankles, feet: what the lock moves


def run_cli(tree: Path, video: Path, out: Path, scratch: Path, *extra: str) -> float:
    env = dict(os.environ, PYTHONPATH=str(tree))
    env.pop("BLENDER_USER_RESOURCES", None)
    command = [sys.executable, "-m", "pocket_mocap.cli", "reconstruct", str(video), "-o", str(out), "--cache",
               str(scratch / f"cache-{time.monotonic_ns()}"), "--quiet", "--no-hands", *extra]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=scratch)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: {done.stderr.strip()}")
    return time.perf_counter() - started


def load(path: Path, like: dict | None = None) -> dict:
    """A result; of several people, the one nearest ``like``'s joints in the image (the same person)."""
    with np.load(path) as data:
        result = {key: data[key] for key in data.files}
    if "track_id" in result:
        own = {str(key) for key in result["person_keys"]}
        distance = [0.0] if like is None else [np.median(np.linalg.norm(joints - like["joints_2d"], axis=-1))
                                               for joints in result["joints_2d"]]
        person = int(np.argmin(distance))
        result = {key: value[person] if key in own else value for key, value in result.items()}
    return result


def in_world(result: dict, to_world: np.ndarray, skeleton: FootSkeleton) -> np.ndarray:
    points = skeleton.contact_points(skeleton.pose(result["poses"], result["trans"]))
    return points @ to_world[:3, :3].T + to_world[:3, 3]


def skate(points: np.ndarray, flags: np.ndarray, fps: float) -> float:
    steady = flags[1:] & flags[:-1]
    speed = np.linalg.norm(np.diff(points[..., :2], axis=0), axis=-1) * fps
    return float(np.median(speed[steady])) if steady.any() else float("nan")


def on_floor(points: np.ndarray, flags: np.ndarray, sole: np.ndarray) -> float:
    gap = points[..., 2] - sole
    hits = []
    for heel, toe in ((0, 1), (2, 3)):
        down = flags[:, heel] | flags[:, toe]
        hits.append(np.abs(np.minimum(gap[down, heel], gap[down, toe])) < FLOOR_M)
    hits = np.concatenate(hits)
    return float(hits.mean()) if len(hits) else float("nan")


def ankle_proxy(result: dict, fps: float) -> float:
    """The issue's figure: median speed (camera space) of the lower ankle (the one further down the image)."""
    ankles = result["joints"][:, [7, 8]].astype(np.float64)
    lower = np.argmax(ankles[:, :, 1], axis=1)
    path = ankles[np.arange(len(ankles)), lower]
    return float(np.median(np.linalg.norm(np.diff(path, axis=0), axis=1)) * fps)


def videos(before: Path, repeats: int) -> None:
    body = load_body("open", "smpl", "", "neutral")
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        trees = {"before": importable(before, scratch), "after": importable(ROOT, scratch)}
        print("Shared videos, body only (before | grounded):")
        print(f"  {'video':<11} {'ankle proxy m/s':>17} {'skate m/s':>15} {'on floor':>13} {'legs moved':>10} "
              f"{'contact':>8} {'camera':>22} {'moves':>6}")
        skates = {"before": [], "after": []}
        for name in VIDEOS:
            times = {"before": [], "after": []}
            for repeat in range(repeats if name == VIDEOS[0] else 1):
                for tree in ("before", "after") if repeat % 2 == 0 else ("after", "before"):
                    times[tree].append(run_cli(trees[tree], MEDIA / f"{name}.mp4", scratch / f"{tree}.npz", scratch))
            old = load(scratch / "before.npz")
            new = load(scratch / "after.npz", like=old)
            fps = float(new["mocap_framerate"])
            to_world = new["world_from_camera"].astype(np.float64)
            flags = new["contacts"] >= 0.5
            skeleton_old = FootSkeleton.of(body, old["betas"])
            skeleton_new = FootSkeleton.of(body, new["betas"])
            points = {"before": in_world(old, to_world, skeleton_old), "after": in_world(new, to_world, skeleton_new)}
            skated = {tree: skate(points[tree], flags, fps) for tree in points}
            for tree in skates:
                skates[tree].append(skated[tree])
            floor = {"before": on_floor(points["before"], flags, skeleton_old.sole),
                     "after": on_floor(points["after"], flags, skeleton_new.sole)}
            moved = np.percentile(np.linalg.norm(new["joints_2d"][:, LEG_JOINTS] - old["joints_2d"][:, LEG_JOINTS],
                                                 axis=-1), 95)
            motion_note = "yes" if bool(new["camera_moving"]) else ""
            print(f"  {name[:11]:<11} {ankle_proxy(old, fps):7.3f} | {ankle_proxy(new, fps):6.3f} "
                  f"{skated['before']:6.3f} | {skated['after']:6.3f} {floor['before']:5.0%} | {floor['after']:5.0%} "
                  f"{moved:6.1f} px {flags.mean():7.0%}  height {float(new['camera_height']):4.2f} m "
                  f"pitch {float(new['camera_pitch']):4.1f}° {motion_note:>5}")
            if name == VIDEOS[0]:
                frames = len(new["poses"])
                speed = {tree: frames / statistics.median(times[tree]) for tree in times}
        print(f"  median skate over the videos: {np.median(skates['before']):.3f} before, "
              f"{np.median(skates['after']):.3f} grounded (m/s)")
        print(f"  taiji end to end, whole command (median of {repeats}): {speed['before']:.1f} fps before, "
              f"{speed['after']:.1f} fps now ({speed['after'] / speed['before'] - 1:+.1%})")
    grounding_share(body)


def video_contacts() -> None:
    """Each shared video fitted once with the lock off, then grounded here with the rule's contacts and the learned
    model's: contact share, skate on its own contacts, planted soles on the floor, how far the lock moved the legs
    in the image (95th percentile)."""
    body = load_body("open", "smpl", "", "neutral")
    print("\nShared videos, the same fit grounded with each source of contacts:")
    print(f"  {'video':<11} {'contacts':<8} {'share':>6} {'skate m/s':>9} {'on floor':>8} {'legs moved':>10}")
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        tree = importable(ROOT, scratch)
        for name in VIDEOS:
            run_cli(tree, MEDIA / f"{name}.mp4", scratch / "free.npz", scratch, "--foot-lock", "0")
            result = load(scratch / "free.npz")
            intrinsics = result["camera_intrinsics"]
            camera = Camera(float(intrinsics[0, 0]), float(intrinsics[0, 2]), float(intrinsics[1, 2]))
            frames = {key: result[key] for key in FRAME_KEYS}
            fps = float(result["mocap_framerate"])
            skeleton = FootSkeleton.of(body, result["betas"])
            for label, contacts in contact_sources(result):
                grounded = ground_clip(frames, body, result["betas"], camera, fps, 1.0, name, *contacts)
                new = grounded.frames
                to_world = grounded.fields["world_from_camera"].astype(np.float64)
                flags = new["contacts"] >= 0.5
                points = in_world(new, to_world, skeleton)
                shift = new["joints_2d"][:, LEG_JOINTS] - frames["joints_2d"][:, LEG_JOINTS]
                moved = np.percentile(np.linalg.norm(shift, axis=-1), 95)
                print(f"  {name[:11]:<11} {label:<8} {flags.mean():6.0%} {skate(points, flags, fps):9.3f} "
                      f"{on_floor(points, flags, skeleton.sole):8.0%} {moved:7.1f} px")


def grounding_share(body) -> None:
    """Grounding's own cost on taiji: the background motion per decoded frame and the post-process."""
    video = MEDIA / f"{VIDEOS[0]}.mp4"
    motion = BackgroundMotion()
    frames = list(VideoFrames(video))
    started = time.perf_counter()
    for _, rgb in frames:
        motion(rgb, None)
    per_frame = (time.perf_counter() - started) / len(frames)
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "taiji.npz"
        run_cli(importable(ROOT, Path(scratch)), video, out, Path(scratch))
        result = load(out)
    camera = Camera(float(result["camera_intrinsics"][0, 0]), float(result["camera_intrinsics"][0, 2]),
                    float(result["camera_intrinsics"][1, 2]))
    frames_dict = {key: result[key] for key in FRAME_KEYS}
    started = time.perf_counter()
    ground_clip(frames_dict, body, result["betas"], camera, float(result["mocap_framerate"]), 1.0, "taiji")
    post = time.perf_counter() - started
    print(f"  grounding's own time on taiji: background motion {per_frame * 1000:.2f} ms a frame, post-process "
          f"{post:.2f} s for {len(frames)} frames ({post / len(frames) * 1000:.2f} ms a frame)")


def aligned_error(truth_pelvis: np.ndarray, truth_root: np.ndarray, pelvis: np.ndarray, root: np.ndarray
                  ) -> np.ndarray:
    """Per-frame distance after turning and moving ``pelvis`` (Z up) so that its first frame's position and
    heading match the truth's (Z up)."""
    def heading(rotation):
        forward = rotation[:, 2]  # the body's +Z (it faces +Z at rest)
        return np.arctan2(forward[1], forward[0])

    turn = heading(truth_root[0]) - heading(root[0])
    c, s = np.cos(turn), np.sin(turn)
    yaw = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    moved = (pelvis - pelvis[0]) @ yaw.T + truth_pelvis[0]
    return np.linalg.norm(moved - truth_pelvis, axis=1)


def synthetic(noises: tuple[float, ...]) -> None:
    from training.synth.sequences import seen_clip, simulated_fit

    body = load_body("open", "smplx", "", "neutral")
    skeleton = FootSkeleton.of(body, np.zeros(0))
    y_up_to_z_up = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    print("\nHeld-out motion capture, static camera 1.4 m up, 8° down (truth known):")
    print(f"  {'clip':<11} {'contacts':<8} {'noise':>5} {'precision':>9} {'recall':>6} {'height err':>10} "
          f"{'pitch err':>9} "
          f"{'root err fit | grounded (mean / end)':>36} {'skate truth | fit | grounded':>29}")
    for (noise, (label, contacts)) in itertools.product(noises, contact_sources()):
        totals = np.zeros(3)
        for name in HELD_OUT:
            sequence, camera, poses, trans = seen_clip(MOCAP / f"{name}.bvh", body)
            frames = simulated_fit(poses, trans, skeleton.rest[0], noise)
            grounded = ground_clip(frames, body, np.zeros(10), Camera(camera.focal, camera.width / 2,
                                                                      camera.height / 2), sequence.fps, 1.0, name,
                                   *contacts)
            new = grounded.frames
            flags = new["contacts"] >= 0.5
            hits = (flags & sequence.contacts).sum()
            totals += (hits, flags.sum(), sequence.contacts.sum())
            truth_posed = skeleton.pose(sequence.poses, sequence.trans)
            truth_pelvis = truth_posed.positions[:, 0] @ y_up_to_z_up.T
            truth_root = y_up_to_z_up @ truth_posed.rotations[:, 0]
            pelvis = new["world_trans"] + skeleton.rest[0]
            root = axis_angle_to_matrix(new["world_root_orient"].astype(np.float64))
            error = aligned_error(truth_pelvis, truth_root, pelvis, root)
            to_world = grounded.fields["world_from_camera"].astype(np.float64)
            fit_posed = skeleton.pose(frames["poses"], frames["trans"])
            fit_error = aligned_error(truth_pelvis, truth_root, fit_posed.positions[:, 0] @ to_world[:3, :3].T,
                                      to_world[:3, :3] @ fit_posed.rotations[:, 0])
            truth_points = skeleton.contact_points(truth_posed) @ y_up_to_z_up.T
            fit_points = in_world(frames, to_world, skeleton)
            new_points = in_world(new, to_world, skeleton)
            skates = [skate(p, sequence.contacts, sequence.fps) for p in (truth_points, fit_points, new_points)]
            print(f"  {name[4:]:<11} {label:<8} {noise:5.2f} {hits / max(1, flags.sum()):9.2f} "
                  f"{hits / max(1, sequence.contacts.sum()):6.2f} "
                  f"{float(grounded.fields['camera_height']) - 1.4:+9.2f} m "
                  f"{float(grounded.fields['camera_pitch']) - 8.0:+8.1f}° "
                  f"{fit_error.mean():6.2f} | {error.mean():.2f} / {error[-1]:.2f} m "
                  f"{skates[0]:9.3f} | {skates[1]:.3f} | {skates[2]:.3f}")
        print(f"  all clips, {label}, noise {noise:.2f}: precision {totals[0] / totals[1]:.2f}, "
              f"recall {totals[0] / totals[2]:.2f}")


def rendered(seconds: float = 5.0, keep: Path | None = None, size: int = 256, names: tuple[str, ...] = RENDERED,
             kept: Path | None = None) -> None:
    """RENDERED clips drawn by Cycles (mode (a) of the synthetic generator: the open body in random clothes and
    light, ``size`` x ``size``, over one still background), written as a video and reconstructed by the
    command's own job with the lock off, then grounded here by the pipeline's own call, with the rule's contacts
    and the learned model's: MediaPipe and the fit see pixels, and the grounding is judged against the truth.
    ``keep``: a folder for the unlocked results; ``kept``: such a folder, read instead of rendering again."""
    body = load_body("open", "smplx", "", "neutral")
    fitted_body = load_body("open", "smpl", "", "neutral")
    print(f"\nRendered held-out clips ({seconds:g} s, {size} x {size}, Cycles), reconstructed from their pixels:")
    print(f"  {'clip':<11} {'contacts':<8} {'precision':>9} {'recall':>6} {'height err':>10} {'pitch err':>9} "
          f"{'root err mean':>13} {'skate truth | grounded':>23}")
    for name in names:
        sequence, camera, poses, trans = seen_clip_of(name, body, seconds, size)
        stored = None if kept is None else kept / f"{name.replace('/', '_')}_{size}.npz"
        if stored is not None and stored.is_file():
            result = load(stored)
        else:
            from training.contact.renders import render_and_reconstruct

            rng = np.random.default_rng(zlib.crc32(name.encode()))  # each clip's own look, whatever the list
            result = render_and_reconstruct(name, body, sequence, camera, poses, trans, size, rng)
            if isinstance(result, str):
                print(f"  {name[4:]:<11} {result}")
                continue
            if keep is not None:
                keep.mkdir(parents=True, exist_ok=True)
                np.savez(keep / f"{name.replace('/', '_')}_{size}.npz", **result)
        for label, contacts in contact_sources(result):
            judge_rendered(name, label, sequence, dict(result), body, fitted_body, contacts)


def seen_clip_of(name: str, body, seconds: float, size: int):
    from training.contact.renders import seen

    return seen(MOCAP, name, body, size, seconds)


def contact_sources(result: dict | None = None) -> list:
    """``(label, (contact model, scores[, share]))``: the rule (no model), the bundled learned model when there is
    one, and where ``result`` kept the landmarks, the bundled temporal lifter's contacts read from them, alone and
    half and half with the learned model's (the job's ``contacts`` settings)."""
    from pocket_mocap.core.grounding.contact_model import BUNDLED, ContactModel
    from pocket_mocap.core.lifting import temporal

    sources = [("rule", (None, None))] + ([("learned", (ContactModel(), None))] if BUNDLED.is_file() else [])
    if result is not None and "landmarks" in result and temporal.BUNDLED.is_file():
        intrinsics = result["camera_intrinsics"]
        scores = temporal.TemporalLifter().contacts(result["landmarks"], result["confidence"] > 0,
                                                    float(intrinsics[0, 0]), (float(intrinsics[0, 2]),
                                                                              float(intrinsics[1, 2])),
                                                    float(result["mocap_framerate"]))
        sources.append(("lifted", (ContactModel(), scores)))
        sources.append(("both", (ContactModel(), scores, 0.5)))
    return sources


def judge_rendered(name: str, label: str, sequence, result: dict, body, fitted_body, contacts) -> None:
    z_up = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    intrinsics = result["camera_intrinsics"]
    grounded = ground_clip({key: result[key] for key in FRAME_KEYS}, fitted_body, result["betas"],
                           Camera(float(intrinsics[0, 0]), float(intrinsics[0, 2]), float(intrinsics[1, 2])),
                           sequence.fps, 1.0, name, *contacts)
    result |= grounded.frames | grounded.fields
    flags = result["contacts"] >= 0.5
    hits = (flags & sequence.contacts).sum()
    skeleton = FootSkeleton.of(fitted_body, result["betas"])
    truth_skeleton = FootSkeleton.of(body, np.zeros(0))
    truth_posed = truth_skeleton.pose(sequence.poses, sequence.trans)
    error = aligned_error(truth_posed.positions[:, 0] @ z_up.T, z_up @ truth_posed.rotations[:, 0],
                          result["world_trans"] + skeleton.rest[0],
                          axis_angle_to_matrix(result["world_root_orient"].astype(np.float64)))
    to_world = result["world_from_camera"].astype(np.float64)
    skates = [skate(truth_skeleton.contact_points(truth_posed) @ z_up.T, sequence.contacts, sequence.fps),
              skate(in_world(result, to_world, skeleton), sequence.contacts, sequence.fps)]
    print(f"  {name[4:]:<11} {label:<8} {hits / max(1, flags.sum()):9.2f} "
          f"{hits / max(1, sequence.contacts.sum()):6.2f} "
          f"{float(result['camera_height']) - 1.4:+9.2f} m {float(result['camera_pitch']) - 8.0:+8.1f}° "
          f"{error.mean():11.2f} m {skates[0]:11.3f} | {skates[1]:.3f}")


def tune() -> None:
    """The contact thresholds on the training clips TUNING: every GRID setting, ranked by the lower of precision
    and recall at noise 0.25 (then at noise 0)."""
    import pocket_mocap.core.grounding.contact as contact
    import pocket_mocap.core.grounding.ground as ground
    from training.synth.sequences import seen_clip, simulated_fit

    body = load_body("open", "smplx", "", "neutral")
    skeleton = FootSkeleton.of(body, np.zeros(0))
    runs = []
    for name in TUNING:
        sequence, camera, poses, trans = seen_clip(MOCAP / f"{name}.bvh", body)
        for noise, seed in itertools.product((0.0, 0.25), (0, 1)):
            runs.append((noise, sequence, simulated_fit(poses, trans, skeleton.rest[0], noise, seed),
                         Camera(camera.focal, camera.width / 2, camera.height / 2)))
    ranked = []
    for height, speed, hysteresis, steady in itertools.product(*GRID.values()):
        contact.HEIGHT_M, contact.SPEED_M_S, (contact.ON, contact.OFF), ground.STEADY_SECONDS = \
            height, speed, hysteresis, steady
        scores = {}
        for noise in (0.0, 0.25):
            totals = np.zeros(3)
            for level, sequence, frames, camera in runs:
                if level == noise:
                    flags = ground.ground_clip(frames, body, np.zeros(10), camera, sequence.fps, 0.0,
                                               "tune").frames["contacts"] >= 0.5
                    totals += ((flags & sequence.contacts).sum(), flags.sum(), sequence.contacts.sum())
            scores[noise] = (totals[0] / totals[1], totals[0] / totals[2])
        ranked.append((min(scores[0.25]), min(scores[0.0]), height, speed, hysteresis, steady, scores))
    ranked.sort(key=lambda row: (-row[0], -row[1]))
    print("Contact thresholds on the training clips (best first): height m, speed m/s, on/off, smoothing s; "
          "precision / recall at noise 0 and 0.25")
    for row in ranked[:8]:
        print(f"  {row[2]} {row[3]} {row[4]} {row[5]}  {row[6][0.0][0]:.2f} / {row[6][0.0][1]:.2f}   "
              f"{row[6][0.25][0]:.2f} / {row[6][0.25][1]:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, help="a checkout of the tree before grounding")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-videos", action="store_true")
    parser.add_argument("--video-contacts", action="store_true",
                        help="also the shared videos grounded with the rule's and the learned contacts")
    parser.add_argument("--skip-synthetic", action="store_true")
    parser.add_argument("--tune", action="store_true", help="rank the contact thresholds on training clips, only")
    parser.add_argument("--rendered", action="store_true", help="also held-out clips rendered and reconstructed")
    parser.add_argument("--render-size", type=int, action="append",
                        help="square render side in pixels (repeatable; default 256 and 512)")
    parser.add_argument("--rendered-clips", nargs="+", default=list(RENDERED),
                        help="CC_Base trials to render (default: the held-out ones)")
    parser.add_argument("--keep", type=Path, help="a folder for the rendered clips' unlocked results")
    parser.add_argument("--kept", type=Path, help="a --keep folder to read instead of rendering again")
    args = parser.parse_args()
    if args.tune:
        tune()
        return 0
    if not args.skip_videos:
        if args.before is None or not MEDIA.is_dir():
            raise SystemExit("The video part needs --before DIR and ../shared/media.")
        videos(args.before, args.repeats)
    if args.video_contacts:
        video_contacts()
    if not args.skip_synthetic:
        if not MOCAP.is_dir():
            raise SystemExit("The synthetic part needs ../shared/mocap.")
        synthetic((0.0, 0.25, 0.5))
        if args.rendered:
            for size in args.render_size or (256, 512):
                rendered(keep=args.keep, size=size, names=tuple(args.rendered_clips), kept=args.kept)
    return 0


if __name__ == "__main__":
    sys.exit(main())
