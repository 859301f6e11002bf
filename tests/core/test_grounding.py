"""Grounding: legs and feet, the floor, the world frame, contacts, foot lock and camera motion, on synthetic
geometry, on held-out motion capture seen by a static camera, and through the reconstruct job."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SHARED_MEDIA

pytest.importorskip("scipy")  # not in the Blender test environments, which run only the blender tests
pytest.importorskip("cv2")

from scipy.ndimage import gaussian_filter1d  # noqa: E402

from pocket_mocap.core.bodymodel.library import load_body  # noqa: E402
from pocket_mocap.core.estimators import posed_joints  # noqa: E402
from pocket_mocap.core.estimators.keypoints.fit import Camera  # noqa: E402
from pocket_mocap.core.grounding.camera_motion import BackgroundMotion, camera_moves  # noqa: E402
from pocket_mocap.core.grounding.contact import contact_frames, runs  # noqa: E402
from pocket_mocap.core.grounding.contact_model import ContactModel  # noqa: E402
from pocket_mocap.core.grounding.floor import Floor, estimate_floor, world_from_camera  # noqa: E402
from pocket_mocap.core.grounding.ground import ground_clip, ground_people  # noqa: E402
from pocket_mocap.core.grounding.lock import lock_feet  # noqa: E402
from pocket_mocap.core.grounding.skeleton import LEGS, FootSkeleton, reach  # noqa: E402
from pocket_mocap.core.rotations import axis_angle_to_matrix  # noqa: E402

MOCAP = ROOT.parent / "shared" / "mocap" / "bvh"
HELD_OUT = ("007/007_08", "005/005_03", "005/005_14", "002/002_10", "005/005_17")  # validation trials of the bank
needs_mocap = pytest.mark.skipif(not MOCAP.is_dir(), reason="../shared/mocap is absent: no motion capture")


@pytest.fixture(scope="module")
def body():
    return load_body("open", "smplx", "", "neutral")


def random_poses(count: int, joints: int, seed: int = 0, spread: float = 0.4) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, spread, (count, joints * 3))


@pytest.mark.parametrize("family", ["smpl", "smplx"])
def test_foot_skeleton_poses_joints_as_the_fit_does(family):
    model = load_body("open", family, "", "neutral")
    betas = np.linspace(-1, 1, 10)
    skeleton = FootSkeleton.of(model, betas)
    poses = random_poses(5, len(model.parents))
    trans = np.random.default_rng(1).normal(0, 1, (5, 3))
    joints = skeleton.joints(skeleton.pose(poses, trans))
    for frame in range(5):
        expected = posed_joints(model.rest_joints(betas), model.parents, family, poses[frame], trans[frame])
        assert np.abs(joints[frame] - expected).max() < 1e-5


def test_contact_points_are_the_heel_and_toe_vertices(body):
    skeleton = FootSkeleton.of(body, np.zeros(10))
    posed = skeleton.pose(random_poses(3, len(body.parents), spread=0.3), np.zeros((3, 3)))
    points = skeleton.contact_points(posed)
    vertices = body.pose(random_poses(3, len(body.parents), spread=0.3), np.zeros(10), pose_correctives=False).vertices
    from pocket_mocap.core.estimators.keypoints.landmarks import surface_vertices
    found = surface_vertices(body.v_template, body.weights, body.joint_names, body.rest_joints())
    ids = [found[name] for name in ("left_heel", "left_foot_index", "right_heel", "right_foot_index")]
    assert np.abs(points - vertices[:, ids]).max() < 0.02  # rigid carriers vs blended skinning
    assert np.all(skeleton.sole >= 0) and np.all(skeleton.sole < 0.05)


@pytest.mark.parametrize("side", ["left", "right"])
def test_leg_ik_reaches_the_target_and_keeps_the_foot(body, side):
    skeleton = FootSkeleton.of(body, np.zeros(10))
    poses = random_poses(200, len(body.parents), seed=2, spread=0.25)
    trans = np.zeros((200, 3))
    local = axis_angle_to_matrix(poses.reshape(200, -1, 3))
    posed = skeleton.pose_local(local, trans)
    ankle = LEGS[side][2]
    offsets = np.random.default_rng(3).normal(0, 0.04, (200, 3))
    targets = posed.positions[:, ankle] + offsets
    targets[::7] = np.nan  # left alone
    reach(posed, side, targets, local)
    after = skeleton.pose_local(local, trans)
    moved = ~np.isnan(targets[:, 0])
    hip, knee = LEGS[side][:2]
    length = (np.linalg.norm(posed.positions[:, knee] - posed.positions[:, hip], axis=1)
              + np.linalg.norm(posed.positions[:, ankle] - posed.positions[:, knee], axis=1))
    reachable = moved & (np.linalg.norm(targets - posed.positions[:, hip], axis=1) < length - 0.01)
    assert reachable.sum() > 30
    assert np.abs(after.positions[reachable, ankle] - targets[reachable]).max() < 1e-3
    beyond = moved & ~reachable  # as near as a straight leg gets
    assert np.all(np.linalg.norm(after.positions[beyond, ankle] - targets[beyond], axis=1)
                  <= np.linalg.norm(posed.positions[beyond, ankle] - targets[beyond], axis=1) + 1e-6)
    assert np.abs(after.rotations[:, ankle] - posed.rotations[:, ankle]).max() < 1e-6, "the foot keeps its turn"
    assert np.allclose(after.positions[~moved], posed.positions[~moved])
    other = LEGS["right" if side == "left" else "left"][2]
    assert np.allclose(after.positions[:, other], posed.positions[:, other])


def tilted_floor(pitch_degrees: float, height: float) -> Floor:
    pitch = np.radians(pitch_degrees)
    return Floor(np.array([0.0, -np.cos(pitch), -np.sin(pitch)]), height)  # camera looking down by ``pitch``


def walk_on(floor: Floor, frames: int = 120, seed: int = 4) -> np.ndarray:
    """Heel and toe points of a walk away from the camera: planted on the floor, a third of the time lifted."""
    rng = np.random.default_rng(seed)
    forward = np.cross([1.0, 0.0, 0.0], floor.normal)
    start = -floor.offset * floor.normal + 2.5 * forward
    points = np.zeros((frames, 4, 3))
    for frame in range(frames):
        along = start + forward * frame * 0.02
        for point, (side, toe) in enumerate([(-0.1, 0), (-0.1, 0.2), (0.1, 0), (0.1, 0.2)]):
            lift = 0.15 if (frame // 10 + (point >= 2)) % 3 == 0 else 0.0
            points[frame, point] = along + (side, 0, 0) + forward * toe + floor.normal * lift
    return points + rng.normal(0, 0.01, points.shape)


def test_floor_of_a_walk_seen_by_a_tilted_camera():
    truth = tilted_floor(12.0, 1.5)
    points = walk_on(truth)
    body_up = np.array([0.0, -np.cos(np.radians(8)), -np.sin(np.radians(8))])  # leaning 4 degrees off
    floor = estimate_floor(points, np.zeros(4), body_up, np.ones(len(points), bool))
    assert np.degrees(np.arccos(floor.normal @ truth.normal)) < 1.0
    assert abs(floor.offset - 1.5) < 0.03
    assert abs(floor.camera_pitch_degrees() - 12.0) < 1.0


def test_world_frame_puts_the_floor_at_zero_and_the_camera_above_it():
    floor = tilted_floor(10.0, 1.6)
    points = walk_on(floor, seed=5)
    matrix = world_from_camera(floor, points[0, 0])
    world = points @ matrix[:3, :3].T + matrix[:3, 3]
    planted = floor.height(points) < 0.05
    assert np.abs(world[planted][:, 2]).max() < 0.05
    assert np.allclose(np.linalg.det(matrix[:3, :3]), 1.0)
    assert np.allclose(matrix[:3, 3][2], 1.6, atol=1e-6), "the camera stands at the floor's offset"
    assert np.linalg.norm(world[0, 0, :2]) < 1e-6, "the origin is under the first frame"


def test_contacts_need_a_steady_score_and_drop_flickers():
    scores = np.zeros((30, 4))
    scores[5:15, 0] = 0.9
    scores[10:12, 0] = 0.5  # inside the hysteresis band: stays in contact
    scores[20, 1] = 1.0  # a one-frame flicker
    confidence, flags = contact_frames(scores, np.ones(30, bool), 30.0)
    assert runs(flags[:, 0]) == [(5, 15)]
    assert not flags[:, 1].any()
    missing = np.ones(30, bool)
    missing[7] = False
    confidence, flags = contact_frames(scores, missing, 30.0)
    assert confidence[7, 0] == 0 and not flags[7, 0]


def test_lock_off_leaves_the_motion_alone(body):
    skeleton = FootSkeleton.of(body, np.zeros(10))
    local = axis_angle_to_matrix(random_poses(20, len(body.parents), spread=0.2).reshape(20, -1, 3))
    trans = np.zeros((20, 3))
    flags = np.ones((20, 4), bool)
    new_local, new_trans = lock_feet(skeleton, local, trans, flags, tilted_floor(0, 1.5), skeleton.sole, 0.0, 30)
    assert np.array_equal(new_local, local) and np.array_equal(new_trans, trans)


def test_background_motion_tells_a_panning_camera_from_a_still_one():
    rng = np.random.default_rng(6)
    scene = (gaussian_filter1d(gaussian_filter1d(rng.random((500, 900)), 2, axis=0), 2, axis=1) * 255)
    scene = np.repeat(scene[:, :, None], 3, axis=2).astype(np.uint8)
    for (step, moving), every in itertools.product(((6, True), (0, False)), (1, 3)):
        motion = BackgroundMotion(every)
        values = []
        for frame in range(12):
            rgb = np.ascontiguousarray(scene[50:410, 50 + frame * step: 690 + frame * step])
            rgb = np.clip(rgb + rng.normal(0, 2, rgb.shape), 0, 255).astype(np.uint8)  # sensor noise
            values.append(motion(rgb, np.array([250, 100, 390, 350])))
        assert np.isnan(values[0])
        measured = np.isfinite(values)
        assert measured.sum() == (11 if every == 1 else 4)  # every third frame, against the frame before it
        if moving:  # 6 px a frame on a 640 px wide frame, downsampled by 2
            assert np.allclose(np.asarray(values)[measured], 6 / 640, rtol=0.1)
        assert camera_moves(np.array(values)) == moving


@pytest.fixture(scope="module")
def held_out(body):
    sys.path.insert(0, str(ROOT))
    from training.synth.sequences import seen_clip
    return [seen_clip(MOCAP / f"{name}.bvh", body) for name in HELD_OUT]


@needs_mocap
def test_held_out_clips_get_their_floor_contacts_and_planted_feet(body, held_out):
    from training.synth.sequences import simulated_fit
    skeleton = FootSkeleton.of(body, np.zeros(0))
    hits = found = truths = 0
    for sequence, camera, poses, trans in held_out:
        frames = simulated_fit(poses, trans, skeleton.rest[0], noise=0.0)
        grounded = ground_clip(frames, body, np.zeros(10), Camera(camera.focal, camera.width / 2, camera.height / 2),
                               sequence.fps, 1.0, sequence.name)
        flags = grounded.frames["contacts"] >= 0.5
        hits, found, truths = hits + (flags & sequence.contacts).sum(), found + flags.sum(), \
            truths + sequence.contacts.sum()
        if np.ptp(sequence.trans[:, 2]) > 1.0:  # walked across the floor: the floor's tilt is seen
            assert abs(float(grounded.fields["camera_height"]) - 1.4) < 0.3, sequence.name
            assert abs(float(grounded.fields["camera_pitch"]) - 8.0) < 3.0, sequence.name
    assert hits / found >= 0.8 and hits / truths >= 0.85, (hits / found, hits / truths)


@needs_mocap
def test_foot_lock_plants_noisy_feet_on_the_floor(body, held_out):
    from training.synth.sequences import simulated_fit
    skeleton = FootSkeleton.of(body, np.zeros(0))
    sequence, camera, poses, trans = held_out[0]  # a walk
    frames = simulated_fit(poses, trans, skeleton.rest[0], noise=1.0)
    grounded = ground_clip(frames, body, np.zeros(10), Camera(camera.focal, camera.width / 2, camera.height / 2),
                           sequence.fps, 1.0, sequence.name)
    to_world = grounded.fields["world_from_camera"].astype(np.float64)
    before, after = (skeleton.contact_points(skeleton.pose(f["poses"], f["trans"])) @ to_world[:3, :3].T
                     + to_world[:3, 3] for f in (frames, grounded.frames))
    flags = grounded.frames["contacts"] >= 0.5
    steady = flags[1:] & flags[:-1]
    skate = [np.median(np.linalg.norm(np.diff(p[..., :2], axis=0), axis=-1)[steady]) * sequence.fps
             for p in (before, after)]
    assert skate[1] < 0.01 and skate[0] > 0.1, skate
    assert planted_share(grounded.frames, to_world, skeleton) >= 0.95


@needs_mocap
def test_two_people_share_one_floor_and_world(body, held_out):
    from training.synth.sequences import simulated_fit
    skeleton = FootSkeleton.of(body, np.zeros(0))
    sequence, camera, poses, trans = held_out[0]
    first = simulated_fit(poses, trans, skeleton.rest[0], 0.25, seed=1)  # about the real fits' skate
    second = simulated_fit(poses, trans + (1.0, 0.0, 0.5), skeleton.rest[0], 0.25, seed=2)  # beside and behind
    second["confidence"][:20] = 0  # not seen at first: kept as it was, never in contact
    grounded = ground_people([first, second], [np.zeros(10)] * 2, body,
                             Camera(camera.focal, camera.width / 2, camera.height / 2), sequence.fps, 1.0, "two")
    assert len(grounded.people) == 2
    assert np.array_equal(grounded.people[1]["poses"][:20], second["poses"][:20])
    assert not (grounded.people[1]["contacts"][:20] >= 0.5).any()
    to_world = grounded.fields["world_from_camera"].astype(np.float64)
    for frames in grounded.people:
        assert planted_share(frames, to_world, skeleton) >= 0.9, "both stand on the one floor"


@needs_mocap
def test_foot_lock_takes_the_wandering_distance_out_of_the_pelvis_path(body, held_out):
    from training.contact.data import FitNoise, noisy_fit
    skeleton = FootSkeleton.of(body, np.zeros(0))
    sequence, camera, poses, trans = held_out[3]  # standing: both feet planted, the distance wanders
    frames = noisy_fit(poses, trans, skeleton.rest[0], FitNoise(depth_slow=0.04, depth_seconds=0.5), sequence.fps,
                       np.random.default_rng(0))
    grounded = ground_clip(frames, body, np.zeros(10), Camera(camera.focal, camera.width / 2, camera.height / 2),
                           sequence.fps, 1.0, sequence.name, ContactModel())
    truth = skeleton.pose(poses, trans).positions[:, 0]
    fitted = skeleton.pose(frames["poses"], frames["trans"]).positions[:, 0]
    locked = skeleton.pose(grounded.frames["poses"], grounded.frames["trans"]).positions[:, 0]
    error = [np.linalg.norm(path - truth - (path - truth).mean(axis=0), axis=1).mean() for path in (fitted, locked)]
    assert error[1] < 0.75 * error[0], error  # camera space, each path's mean offset taken out


def planted_share(frames: dict, to_world: np.ndarray, skeleton: FootSkeleton) -> float:
    """Of the frames a foot is in contact, the share where its lower sole is within 2 cm of the floor."""
    points = skeleton.contact_points(skeleton.pose(frames["poses"], frames["trans"]))
    gap = (points @ to_world[:3, :3].T + to_world[:3, 3])[..., 2] - skeleton.sole
    flags = frames["contacts"] >= 0.5
    near = [np.abs(np.minimum(gap[down, heel], gap[down, toe])) < 0.02
            for heel, toe in ((0, 1), (2, 3)) for down in [flags[:, heel] | flags[:, toe]]]
    return float(np.concatenate(near).mean())


@pytest.mark.skipif(not SHARED_MEDIA.is_dir(), reason="../shared/media is absent: no real people")
def test_video_result_carries_the_grounding_fields(tmp_path):
    from pocket_mocap.core.worker.job import Job

    video = SHARED_MEDIA / "videos" / "v02_basketball_dribble__mmhuman3d_single_person_demo.mp4"
    results = {}
    for strength in (1.0, 0.0):
        job = Job({"kind": "reconstruct", "inputs": [str(video)], "cache_dir": str(tmp_path / "cache"),
                   "hands_and_face": False, "foot_lock": strength}, tmp_path / f"job{strength}")
        outcome = job.run_to_end(300)
        assert outcome.state == "done", outcome.message
        assert any("camera moves" in warning for warning in outcome.warnings), "this phone video pans"
        with np.load(outcome.summary["results"][0]["result"]) as data:
            results[strength] = {key: data[key] for key in data.files}
    result, unlocked = results[1.0], results[0.0]
    assert float(result["foot_lock"]) == 1.0 and float(unlocked["foot_lock"]) == 0.0 and bool(result["camera_moving"])
    body = load_body("open", "smpl", "", "neutral")
    skeleton = FootSkeleton.of(body, result["betas"])
    to_world = result["world_from_camera"].astype(np.float64)
    flags = result["contacts"] >= 0.5
    steady = flags[1:] & flags[:-1]
    skates = []
    for motion in (result, unlocked):
        points = skeleton.contact_points(skeleton.pose(motion["poses"], motion["trans"])) @ to_world[:3, :3].T
        skates.append(np.median(np.linalg.norm(np.diff(points[..., :2], axis=0), axis=-1)[steady]) * 12.0)
    assert skates[0] < 0.03 < skates[1], skates
    count = len(result["poses"])
    assert result["contacts"].shape == (count, 4) and 0 <= result["contacts"].min() <= result["contacts"].max() <= 1
    normal = result["floor"][:3]
    assert abs(np.linalg.norm(normal) - 1) < 1e-5 and normal[1] < -0.8, "up is -y in camera space"
    assert result["world_root_orient"].shape == result["world_trans"].shape == (count, 3)
    to_world = result["world_from_camera"]
    pelvis = result["joints"][:, 0] @ to_world[:3, :3].T + to_world[:3, 3]
    assert 0.6 < np.median(pelvis[:, 2]) < 1.2, "the pelvis stands about a metre above the floor"
    assert Path(outcome.summary["results"][0]["result"]).is_file()


@needs_mocap
def test_contact_scores_found_elsewhere_replace_the_model(body, held_out):
    """The temporal lifter's contacts (``scores``) decide where feet are planted, through the same hysteresis."""
    from training.synth.sequences import simulated_fit
    skeleton = FootSkeleton.of(body, np.zeros(0))
    sequence, camera, poses, trans = held_out[3]  # 002_10, standing
    frames = simulated_fit(poses, trans, skeleton.rest[0], noise=0.0)
    scores = np.zeros((len(poses), 4))
    scores[:, :2] = 0.9  # the left heel and toe planted throughout, the right foot never
    scores[40:60, 0] = 0.1  # but the left heel lifts for 20 frames
    grounded = ground_clip(frames, body, np.zeros(10), Camera(camera.focal, camera.width / 2, camera.height / 2),
                           sequence.fps, 1.0, sequence.name, ContactModel(), scores)
    flags = grounded.frames["contacts"] >= 0.5
    assert flags[:, 1].all() and not flags[:, 2:].any()
    assert not flags[40:60, 0].any() and flags[:40, 0].all() and flags[60:, 0].all()


class _Constant:
    """A contact model that says ``value`` for every point of every frame."""

    def __init__(self, value: float):
        self.value = value

    def probabilities(self, features, fps):
        return np.full((len(features), 4), self.value, np.float32)


@needs_mocap
def test_contacts_from_both_sources_are_their_mean(body, held_out):
    """``contacts="both"``: half the lifter's scores, half the learned model's probabilities, then the hysteresis."""
    from training.synth.sequences import simulated_fit
    skeleton = FootSkeleton.of(body, np.zeros(0))
    sequence, camera, poses, trans = held_out[3]  # 002_10, standing
    frames = simulated_fit(poses, trans, skeleton.rest[0], noise=0.0)
    scores = np.tile([0.9, 0.9, 0.3, 0.3], (len(poses), 1))
    seen = Camera(camera.focal, camera.width / 2, camera.height / 2)

    def planted(model, share):
        grounded = ground_clip(frames, body, np.zeros(10), seen, sequence.fps, 1.0, sequence.name, model, scores,
                               share)
        return grounded.frames["contacts"] >= 0.5

    assert planted(_Constant(0.0), 1.0)[:, :2].all()  # the scores alone: the left foot planted
    assert not planted(_Constant(0.0), 0.5).any()  # (0.9 + 0) / 2 = 0.45, under the 0.6 it takes to plant
    both = planted(_Constant(0.95), 0.5)  # (0.9 + 0.95) / 2 = 0.925 and (0.3 + 0.95) / 2 = 0.625: all planted
    assert both.all()
