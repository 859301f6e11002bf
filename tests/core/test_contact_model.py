"""The learned foot contact model (core/grounding/contact_model.py): its training record, refusal of files without
one, the numpy network against its torch twin, what its features read, and contacts on held-out motion capture
through fits as noisy as real ones, against the height-and-speed rule."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from conftest import ROOT

pytest.importorskip("scipy")  # not in the Blender test environments, which run only the blender tests

from pocket_mocap.core.bodymodel.library import load_body  # noqa: E402
from pocket_mocap.core.errors import PocketMocapError  # noqa: E402
from pocket_mocap.core.estimators.keypoints.fit import Camera  # noqa: E402
from pocket_mocap.core.grounding.contact_model import (  # noqa: E402
    FEATURES,
    ContactModel,
    FootEvidence,
    contact_features,
)
from pocket_mocap.core.grounding.ground import ground_clip  # noqa: E402
from pocket_mocap.core.grounding.skeleton import FootSkeleton  # noqa: E402
from pocket_mocap.core.worker.request import check_reconstruct  # noqa: E402

MOCAP = ROOT.parent / "shared" / "mocap" / "bvh"
HELD_OUT = ("007/007_08", "005/005_14", "002/002_10")  # held-out trials of the pose bank: a walk, a dance, standing
needs_mocap = pytest.mark.skipif(not MOCAP.is_dir(), reason="../shared/mocap is absent: no motion capture")


@pytest.fixture(scope="module")
def model():
    return ContactModel()


def test_bundled_model_carries_its_training_record(model):
    record = model.record
    assert record["steps"] >= 1000 and record["command"] == "python3 tools/dev.py train-contact"
    assert len(record["data"]["clips"]) >= 40 and record["data"]["frames"] >= 100_000
    assert record["held_out_clips"] and not set(record["held_out_clips"]) & set(record["data"]["clips"])
    assert {name.split("/")[1] for name in HELD_OUT} <= set(record["held_out_clips"]), "the pose bank's split"
    assert not set(record["data"]["rendered_clips"]) & set(record["held_out_clips"])
    assert record["losses"]["last_250"] < record["losses"]["first_250"]
    learned, rule = record["validation"]["learned_precision_recall"], record["validation"]["rule_precision_recall"]
    assert min(learned) > 0.6 and learned[1] > rule[1] + 0.2, (learned, rule)
    assert record["architecture"]["parameters"] < 200_000
    rendered = record["validation"]["rendered_clips"]  # real fits of held-out clips, measured after training
    assert len(rendered) >= 3 and set(rendered) <= set(record["held_out_clips"])
    found, rule = (record["validation"][f"rendered_{key}_precision_recall"] for key in ("learned", "rule"))
    assert min(found) > 0.7 and found[1] > rule[1] + 0.3, (found, rule)
    assert model.receptive_frames <= 91  # about 3 s at 30 fps: contacts are a local matter


def test_files_without_a_training_record_are_refused(tmp_path, model):
    arrays = dict(model.weights, feature_mean=model.mean, feature_scale=model.scale)
    path = tmp_path / "untrained.npz"
    np.savez(path, **arrays, record=json.dumps({"architecture": model.record["architecture"], "steps": 0}))
    with pytest.raises(PocketMocapError, match="no record of a training run"):
        ContactModel(path)
    np.savez(path, **arrays)
    with pytest.raises(PocketMocapError, match="no record of a training run"):
        ContactModel(path)
    path.write_bytes(b"not an archive")
    with pytest.raises(PocketMocapError, match="cannot be read"):
        ContactModel(path)
    with pytest.raises(PocketMocapError, match="missing"):
        ContactModel(tmp_path / "absent.npz")


def test_numpy_network_equals_its_torch_twin(tmp_path, model):
    torch = pytest.importorskip("torch")
    sys.path.insert(0, str(ROOT))
    from training.contact.train import Network

    torch.manual_seed(3)
    network = Network(16, 3, tuple(model.dilations))
    for parameter in network.parameters():  # not the near-zero start: every layer must matter
        parameter.data.normal_(0, 0.3)
    record = dict(model.record, steps=1)
    path = tmp_path / "twin.npz"
    np.savez(path, **network.arrays(), feature_mean=np.zeros(FEATURES, np.float32),
             feature_scale=np.ones(FEATURES, np.float32), record=json.dumps(record))
    features = np.random.default_rng(0).normal(0, 1, (97, FEATURES)).astype(np.float32)
    with torch.no_grad():
        expected = torch.sigmoid(network(torch.from_numpy(features.T[None]))).numpy()[0].T
    assert np.abs(ContactModel(path).probabilities(features) - expected).max() < 1e-5


def test_features_see_a_planted_foot_stand_still_in_the_image_while_the_distance_wanders():
    frames, fps, focal = 60, 30.0, 800.0
    wander = 0.2 * np.sin(np.linspace(0, 3 * np.pi, frames))  # metres along the camera's ray
    depth = 4.0 + wander
    rays = np.array([[-0.1, 0.45], [-0.1, 0.47], [0.1, 0.45], [0.2, 0.40]])  # each point's image position / depth
    camera_points = np.concatenate([rays[None] * depth[:, None, None], depth[:, None, None].repeat(4, 1)], axis=2)
    world = camera_points[..., [0, 2, 1]] * (1, 1, -1) + (0, 0, 1.8)  # level camera 1.8 m up: the floor is z = 0
    world[..., 2] = np.where(np.arange(4) < 3, 0.02, 0.2)  # three points on the floor, the right toe lifted
    evidence = FootEvidence(world, np.full(4, 0.02), camera_points[..., :2] / camera_points[..., 2:] * focal,
                            world.mean(axis=1) + (0, 0, 0.9), np.zeros((frames, 2)), depth, focal,
                            np.ones(frames, bool), fps)
    features = contact_features(evidence).reshape(frames, -1)[:, :24].reshape(frames, 4, 6)
    floor_speed, image_speed = features[5:-5, :3, 3], features[5:-5, :3, 4]
    assert floor_speed.max() > 0.5 and image_speed.max() < 1e-4  # slides in the world, still in the picture
    assert np.allclose(features[:, :3, 0], 0.0) and np.allclose(features[:, 3, 0], 0.18)  # height above planted
    assert np.allclose(features[:, 3, 1], 0.18)  # above the lowest point of the frame
    absent = FootEvidence(world, evidence.planted, evidence.image, evidence.pelvis_world, evidence.pelvis_image,
                          depth, focal, np.arange(frames) >= 10, fps)
    assert not contact_features(absent)[:10].any()


def test_a_mirrored_clip_reads_as_its_features_with_the_feet_swapped():
    """The training's mirror of a rendered clip (``mirrored_features``) is what the features of the mirror image
    would be: every feature is a height or a speed, so swapping the feet is all that changes."""
    sys.path.insert(0, str(ROOT))
    from training.contact.data import MIRROR_POINTS, mirrored_features

    rng = np.random.default_rng(5)
    frames = 40
    world = np.cumsum(rng.normal(0, 0.02, (frames, 4, 3)), axis=0) + (0, 0, 0.05)
    image = np.cumsum(rng.normal(0, 2.0, (frames, 4, 2)), axis=0) + 300.0
    pelvis_world, pelvis_image = world.mean(axis=1) + (0, 0, 0.9), image.mean(axis=1)
    depth, planted, valid = 4.0 + rng.normal(0, 0.05, frames), rng.uniform(0, 0.05, 4), np.ones(frames, bool)
    evidence = FootEvidence(world, planted, image, pelvis_world, pelvis_image, depth, 800.0, valid, 30.0)
    flip = np.array([-1.0, 1.0, 1.0])
    mirror = FootEvidence(world[:, MIRROR_POINTS] * flip, planted[MIRROR_POINTS], image[:, MIRROR_POINTS] * flip[:2],
                          pelvis_world * flip, pelvis_image * flip[:2], depth, 800.0, valid, 30.0)
    assert np.allclose(mirrored_features(contact_features(evidence)), contact_features(mirror), atol=1e-6)
    assert not np.allclose(mirrored_features(contact_features(evidence)), contact_features(evidence), atol=1e-3)


@needs_mocap
def test_another_view_of_a_rendered_clip_is_turned_kept_in_view_and_labelled_with_its_own_feet():
    """``training.contact.renders --view 1``: the clip turned, mirrored half the time, seen whole by a camera drawn for
    it; its labels are the truth's contacts as that view has them (a mirror swaps the feet)."""
    sys.path.insert(0, str(ROOT))
    from training.contact.data import MIRROR_POINTS
    from training.contact.renders import viewed

    body = load_body("open", "smplx", "", "neutral")
    pelvis = FootSkeleton.of(body, np.zeros(0)).rest[0]
    recorded = viewed(MOCAP, "007/007_08", body, 256, 0, np.random.default_rng(0))[0]
    mirrored, headings = [], []
    for seed in range(6):
        sequence, camera, poses, trans = viewed(MOCAP, "007/007_08", body, 256, 1, np.random.default_rng(seed))
        assert len(sequence.contacts) == len(recorded.contacts) == len(poses)
        swapped = np.array_equal(sequence.contacts, recorded.contacts[:, MIRROR_POINTS])
        assert swapped or np.array_equal(sequence.contacts, recorded.contacts)
        mirrored.append(swapped)
        path = sequence.trans + pelvis  # the pelvis in the view's world: the same walk, turned
        assert np.ptp(path[:, 1]) == pytest.approx(np.ptp(recorded.trans[:, 1]), abs=1e-6)
        headings.append(np.arctan2(*(path[-1] - path[0])[[0, 2]]))
        seen = trans + pelvis  # camera space
        pixels = seen[:, :2] / seen[:, 2:] * camera.focal + (camera.width / 2, camera.height / 2)
        assert (seen[:, 2] > 1.0).all() and (pixels > 0).all() and (pixels < 256).all()
    assert any(mirrored) and not all(mirrored)
    assert np.ptp(headings) > 1.0  # turned differently from view to view


def test_the_job_takes_learned_lifted_both_or_rule_contacts_and_names_the_choices_otherwise():
    job = {"inputs": ["x.mp4"]}
    assert check_reconstruct(job | {"contacts": "rule"})["contacts"] == "rule"
    assert check_reconstruct(job | {"contacts": "lifted"})["contacts"] == "lifted"
    assert check_reconstruct(job | {"contacts": "both"})["contacts"] == "both"
    with pytest.raises(PocketMocapError, match="choose one of learned, lifted, both, rule"):
        check_reconstruct(job | {"contacts": "magic"})


@needs_mocap
def test_learned_contacts_hold_through_a_wandering_fit_where_the_rule_loses_them(model):
    sys.path.insert(0, str(ROOT))
    from training.contact.data import FitNoise, noisy_fit
    from training.synth.sequences import seen_clip

    body = load_body("open", "smplx", "", "neutral")
    pelvis = FootSkeleton.of(body, np.zeros(0)).rest[0]
    noise = FitNoise(depth_slow=0.04, depth_seconds=0.5, depth_jitter=0.004, angle_slow_degrees=2.0,
                     angle_jitter_degrees=0.3, lean_degrees=8.0)  # about the fits of the rendered clips
    totals = {"learned": np.zeros(3), "rule": np.zeros(3)}
    for name in HELD_OUT:
        sequence, camera, poses, trans = seen_clip(MOCAP / f"{name}.bvh", body)
        frames = noisy_fit(poses, trans, pelvis, noise, sequence.fps, np.random.default_rng(4))
        for label, contacts in (("learned", model), ("rule", None)):
            grounded = ground_clip(frames, body, np.zeros(10), Camera(camera.focal, camera.width / 2,
                                                                      camera.height / 2), sequence.fps, 1.0, name,
                                   contacts)
            flags = grounded.frames["contacts"] >= 0.5
            totals[label] += ((flags & sequence.contacts).sum(), flags.sum(), sequence.contacts.sum())
    precision, recall = {k: v[0] / v[1] for k, v in totals.items()}, {k: v[0] / v[2] for k, v in totals.items()}
    assert precision["learned"] >= 0.85 and recall["learned"] >= 0.9, (precision, recall)
    assert recall["learned"] > recall["rule"] + 0.2, (precision, recall)


def test_calibration_measures_how_a_fit_follows_the_ankles_and_the_distance():
    """``training.contact.data calibrate``'s measure: a fit that is the truth follows the ankles' bend exactly and
    has no distance error; one with noisy joint angles and a jittering distance shows both."""
    sys.path.insert(0, str(ROOT))
    from training.contact.data import FitErrors, FitNoise, ankle_bends, noisy_fit

    body = load_body("open", "smplx", "", "neutral")
    frames = 60
    poses = np.zeros((frames, len(body.parents), 3))
    poses[:, [7, 8], 0] = 0.4 * np.sin(np.linspace(0, 4 * np.pi, frames))[:, None]  # the ankles bend and stretch
    poses = poses.reshape(frames, -1)
    trans = np.tile([0.0, 0.0, 4.0], (frames, 1))
    bends = ankle_bends(body, None, poses, trans)
    assert np.ptp(bends, axis=0) == pytest.approx(np.degrees(0.8), abs=2.0)  # the bend's own swing, each side
    pelvis = FootSkeleton.of(body, np.zeros(0)).rest[0]
    valid = np.ones(frames, bool)
    exact, noisy = FitErrors(), FitErrors()
    rng = np.random.default_rng(0)
    same = noisy_fit(poses, trans, pelvis, FitNoise(), 30.0, rng)
    exact.add((poses, trans, None), (same["poses"], same["trans"], None), body, body, valid)
    off = noisy_fit(poses, trans, pelvis, FitNoise(angle_slow_degrees=15.0, depth_jitter=0.01), 30.0, rng)
    noisy.add((poses, trans, None), (off["poses"], off["trans"], None), body, body, valid)
    first, second = exact.summary(), noisy.summary()
    assert first["ankle_bend"]["correlation"] > 0.999 and first["ankle_bend"]["slope"] == pytest.approx(1.0, abs=0.01)
    assert first["distance_error_m"]["spread"] < 1e-4
    assert second["ankle_bend"]["correlation"] < 0.95 and second["ankle_bend"]["spread_degrees"] > 3.0
    assert second["distance_error_m"]["frame_to_frame"] > 0.02  # 1 % of 4 m, frame to frame


def test_more_clips_for_the_contact_model_keep_out_held_out_trials_and_stand_on_the_floor(tmp_path):
    """``training.contact.data.motion_sequences`` (``train --motion``): of the lifter's motion file it takes the
    clips from ``extra/`` of the training split, never a CC_Base clip (read from its BVH instead), a validation
    trial or a held-out one; each stands on the floor with its truth contacts. A clip standing still: every heel and
    toe planted, the soles at the floor."""
    sys.path.insert(0, str(ROOT))
    from training.contact.data import motion_sequences

    body = load_body("open", "smplx", "", "neutral")
    frames = 40
    pelvis = np.tile([0.3, 1.7, -0.2], (frames, 1)).astype(np.float32)  # anywhere: the floor is found under it
    still = np.zeros((frames, 22, 3), np.float32)
    clips = [("001_01", "01_01", "train"), ("src/60/60_01", "60_01", "train"), ("src/60/60_02", "60_02", "validation"),
             ("src/05/05_03", "05_03", "train")]
    arrays = {f"c{i}_{key}": value for i in range(len(clips)) for key, value in (("poses", still), ("pelvis", pelvis))}
    np.savez(tmp_path / "motion.npz", **arrays, names=np.array([c[0] for c in clips]),
             trials=np.array([c[1] for c in clips]), splits=np.array([c[2] for c in clips]))
    sequences = motion_sequences(tmp_path / "motion.npz", body, {"05_03"})
    assert [s.name for s in sequences] == ["src/60/60_01"]
    sequence = sequences[0]
    assert sequence.poses.shape == (frames, len(body.parents) * 3) and sequence.fps == 30.0
    assert sequence.contacts.all()
    skeleton = FootSkeleton.of(body, np.zeros(0))
    points = skeleton.contact_points(skeleton.pose(sequence.poses.astype(np.float64), sequence.trans))
    assert (points[..., 1] - skeleton.sole).min() == pytest.approx(0.0, abs=1e-6)  # the lowest sole on Y = 0
