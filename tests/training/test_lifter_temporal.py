"""Training the temporal lifter: clips read in order, their foot contacts, the windows it learns from, and its network
run strided (training) and dilated (export, run time) giving the same numbers."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ROOT

torch = pytest.importorskip("torch")

from core.lifting.features import FEATURES, HIPS  # noqa: E402
from core.lifting.temporal import BUNDLED, WINDOW, TemporalLifter  # noqa: E402
from training.lifter.data import Corruption  # noqa: E402
from training.lifter.model import TemporalLifter as Network  # noqa: E402
from training.lifter.temporal import ClipBodies, WindowSampler, foot_contacts  # noqa: E402

MOCAP = ROOT.parent / "shared" / "mocap"


def test_foot_contacts_need_a_low_and_still_point():
    frames = 30
    feet = np.zeros((frames, 4, 3))
    feet[:, :, 0] = np.arange(4) * 0.1
    feet[:, 1, 1] = np.linspace(0.0, 0.3, frames)  # left toe rises 30 cm
    feet[:, 2, 2] = np.arange(frames) * 0.02  # right heel slides at 0.6 m/s
    flags = foot_contacts(feet)
    assert flags[:, 0].all() and flags[:, 3].all()
    assert not flags[:, 2].any()
    assert flags[:3, 1].all() and not flags[8:, 1].any()  # 5 cm above its lowest (5th percentile)


@pytest.fixture(scope="module")
def kit():
    from training.synth.generator import OpenBodyKit

    return OpenBodyKit()


def _walk(frames: int = 60) -> dict:
    """The rest pose drifting forward at 1 m/s with a slow turn of the left knee."""
    poses = np.zeros((frames, 22, 3), np.float32)
    poses[:, 4, 0] = np.linspace(0.0, 1.0, frames)
    pelvis = np.column_stack([np.zeros(frames), np.full(frames, 0.95), np.arange(frames) / 30.0])
    return {"name": "walk", "trial": "00_00", "split": "train", "poses": poses, "pelvis": pelvis.astype(np.float32)}


def test_windows_are_in_the_run_time_layout(kit):
    bodies = ClipBodies([_walk()], kit, seed=0)
    assert bodies.landmarks.shape == (60, 33, 3) and bodies.keypoints.shape == (60, 96, 3)
    assert np.isclose(np.percentile(bodies.landmarks[:, [29, 30, 31, 32], 1].min(axis=1), 5), 0.0, atol=1e-6)
    sampler = WindowSampler(bodies, Corruption.measured(), missing_rate=1.0, edge_rate=0.5)
    batch = sampler.batch(np.random.default_rng(1), 64)
    inputs, targets = batch["inputs"], batch["targets"]
    assert inputs.shape == (64, WINDOW, FEATURES + 1) and targets.shape == (64, 129, 3)
    assert batch["contacts"].shape == (64, 4) and set(np.unique(batch["contacts"])) <= {0.0, 1.0}
    assert (inputs[:, WINDOW // 2, -1] == 1).all()  # the centre frame is always seen
    assert (inputs[..., -1] == 0).any()
    for row, frame in zip(*np.nonzero(inputs[..., -1] == 0), strict=True):  # an unseen frame repeats a seen one
        seen = np.flatnonzero(inputs[row, :, -1] == 1)
        assert any(np.array_equal(inputs[row, frame, :-1], inputs[row, other, :-1]) for other in seen)
    np.testing.assert_allclose(targets[:, HIPS].mean(axis=1), 0.0, atol=1e-5)  # landmarks hip-centred
    np.testing.assert_allclose(targets[:, 33], 0.0, atol=1e-6)  # keypoints pelvis-relative
    assert 1.2 < np.ptp(targets[:, :33, :], axis=1).max(axis=1).mean() < 2.2  # a whole body, metres


def test_mirrored_windows_are_the_mirror_image_of_the_motion(kit):
    """A mirrored window's targets, mirrored back, are the same body up to a rotation (the camera turns with the
    mirror), its contacts swap feet, and the bent left knee of the walk becomes a bent right knee."""
    from training.lifter.mediapipe_errors import pa_error
    from training.lifter.temporal import CONTACT_MIRROR, LANDMARK_MIRROR, mirrored

    bodies = ClipBodies([_walk()], kit, seed=0)
    plain = WindowSampler(bodies, Corruption.measured()).batch(np.random.default_rng(4), 16)
    flipped = WindowSampler(bodies, Corruption.measured(), mirror_rate=1.0).batch(np.random.default_rng(4), 16)
    back = mirrored(flipped["targets"][:, :33].astype(np.float64), LANDMARK_MIRROR)
    assert pa_error(back, plain["targets"][:, :33].astype(np.float64)).max() < 1e-4
    np.testing.assert_array_equal(flipped["contacts"], plain["contacts"][:, CONTACT_MIRROR])

    def knee_angles(points):  # hip-knee-ankle angle in degrees: (left, right)
        angles = []
        for hip, knee, ankle in ((23, 25, 27), (24, 26, 28)):
            a, b = points[:, hip] - points[:, knee], points[:, ankle] - points[:, knee]
            cosine = (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
            angles.append(np.degrees(np.arccos(np.clip(cosine, -1, 1))))
        return angles

    left, right = knee_angles(plain["targets"])
    mirrored_left, mirrored_right = knee_angles(flipped["targets"])
    np.testing.assert_allclose(mirrored_right, left, atol=1e-3)
    np.testing.assert_allclose(mirrored_left, right, atol=1e-3)
    assert (left < right - 5).any()  # the walk does bend its left knee


def test_strided_training_and_dilated_run_time_agree():
    torch.manual_seed(0)
    model = Network().eval()
    clip = torch.randn(1, 40 + WINDOW - 1, FEATURES + 1)
    with torch.no_grad():
        points, logits = model.clip(clip)
        windows = clip.unfold(1, WINDOW, 1)[0].permute(0, 2, 1)  # (40, WINDOW, F + 1)
        each_points, each_logits = model(windows)
    assert points.shape == (1, 40, 129, 3) and logits.shape == (1, 40, 4)
    assert torch.allclose(points[0], each_points, atol=1e-5) and torch.allclose(logits[0], each_logits, atol=1e-5)


def test_exported_file_runs_as_torch_does(tmp_path):
    pytest.importorskip("onnx")
    from training.lifter.train_temporal import export

    torch.manual_seed(1)
    model = Network().eval()
    record = {"architecture": "temporal", "trained_steps": 1, "data": "test", "held_out_clips": "x",
              "validation": "{}", "command": "test"}
    export(model, tmp_path / "temporal.onnx", record)
    lifter = TemporalLifter(tmp_path / "temporal.onnx")
    features = np.random.default_rng(2).normal(0, 0.5, (50, FEATURES + 1)).astype(np.float32)
    features[:, -1] = 1.0
    landmarks, keypoints, contacts = lifter.lift(features)
    padded = np.concatenate([np.repeat(features[:1], 13, 0), features, np.repeat(features[-1:], 13, 0)])
    with torch.no_grad():
        points, logits = model.clip(torch.from_numpy(padded)[None])
    assert np.abs(landmarks - points[0, :, :33].numpy()).max() < 1e-4
    assert np.abs(keypoints - points[0, :, 33:].numpy()).max() < 1e-4
    assert np.abs(contacts - torch.sigmoid(logits[0]).numpy()).max() < 1e-4


@pytest.mark.skipif(not (MOCAP / "bvh").is_dir(), reason="../shared/mocap is absent")
def test_a_clip_is_read_in_order_on_the_open_body():
    from core.bodymodel.library import load_body
    from training.lifter.motion import read_clip
    from training.synth import retarget
    from training.synth.mocap_sources import find_sources

    model = load_body("open", "smplx")
    rest = model.rest_joints()
    leg = float(np.mean([np.linalg.norm(rest[a] - rest[b]) + np.linalg.norm(rest[b] - rest[c])
                         for a, b, c in ((1, 4, 7), (2, 5, 8))]))
    clip = next(c for c in find_sources(MOCAP, ["cc-base"]) if c.name == "002_10")  # standing, held out
    read = read_clip(clip, retarget.open_rig(model), leg)
    poses, pelvis = read["poses"], read["pelvis"]
    assert poses.shape == (len(pelvis), 22, 3) and len(pelvis) > 100 and np.isfinite(poses).all()
    frame_step = np.linalg.norm(np.diff(pelvis, axis=0), axis=1)
    assert np.median(frame_step) < 0.02  # in order: consecutive frames are near each other
    assert 0.75 < np.median(pelvis[:, 1]) < 1.1  # standing on the clip's floor, on the open body's legs


@pytest.mark.skipif(not (MOCAP / "bvh").is_dir(), reason="../shared/mocap is absent")
@pytest.mark.skipif(not BUNDLED.is_file(), reason="no temporal lifter in this build")
def test_bundled_lifter_on_a_held_out_clip_beats_its_corrupted_input(kit):
    """Windows of 002_10 (a trial the lifter never saw) through the measured errors: the bundled file's centre
    frames within 70 mm PA-MPJPE, under half the corrupted world landmarks' error; contacts mostly right; and each
    centre frame alone, held still as a photo is, well under the corrupted input's error too."""
    from core.bodymodel.library import load_body
    from training.lifter.mediapipe_errors import LIMBS, pa_error
    from training.lifter.motion import read_clip
    from training.synth import retarget
    from training.synth.mocap_sources import find_sources

    model = load_body("open", "smplx")
    rest = model.rest_joints()
    leg = float(np.mean([np.linalg.norm(rest[a] - rest[b]) + np.linalg.norm(rest[b] - rest[c])
                         for a, b, c in ((1, 4, 7), (2, 5, 8))]))
    clip = next(c for c in find_sources(MOCAP, ["cc-base"]) if c.name == "002_10")
    sampler = WindowSampler(ClipBodies([{"name": "002_10", **read_clip(clip, retarget.open_rig(model), leg)}], kit,
                                       seed=3), Corruption.measured())
    batch = sampler.batch(np.random.default_rng(4), 200)
    session = TemporalLifter().session
    outputs = [session.run(None, {session.get_inputs()[0].name: window[None]}) for window in batch["inputs"]]
    points = np.concatenate([out[0][0] for out in outputs])  # one window of 27 frames: its centre frame
    logits = np.concatenate([out[1][0] for out in outputs])
    truth = batch["targets"][:, LIMBS]
    ours = pa_error(points[:, LIMBS], truth).mean() * 1000
    theirs = pa_error(batch["inputs"][:, WINDOW // 2, 99:198].reshape(-1, 33, 3)[:, LIMBS], truth).mean() * 1000
    assert ours < 70 and ours < 0.5 * theirs, (ours, theirs)
    assert np.mean((logits > 0) == (batch["contacts"] > 0.5)) > 0.8
    # A photo: the centre frame alone, held still for the whole window (``TemporalLifter.still``).
    held = np.repeat(batch["inputs"][:, WINDOW // 2:WINDOW // 2 + 1], WINDOW, axis=1)
    held[..., -1] = 1.0
    still = np.concatenate([session.run(None, {session.get_inputs()[0].name: window[None]})[0][0] for window in held])
    alone = pa_error(still[:, LIMBS], truth).mean() * 1000
    assert alone < 0.6 * theirs, (alone, theirs)


def test_the_learning_rate_warms_up_then_decays_with_the_runs_time():
    from training.lifter.train import set_rate, take_step

    weight = torch.nn.Parameter(torch.tensor([2.0]))
    optimiser = torch.optim.SGD([weight], lr=1.0)
    rates = []
    for step, progress in ((0, 0.0), (150, 0.0), (300, 0.0), (600, 0.5), (900, 1.0)):
        set_rate(optimiser, 0.1, step, progress)
        rates.append(optimiser.param_groups[0]["lr"])
    np.testing.assert_allclose(rates, [0.0, 0.05, 0.1, 0.05, 0.0], atol=1e-12)
    set_rate(optimiser, 0.1, 300, 0.0)
    assert take_step(optimiser, (weight ** 2).sum()) == 4.0 and abs(float(weight) - 1.6) < 1e-6  # 2 - 0.1 * 4


@pytest.mark.skipif(not (MOCAP / "bvh").is_dir(), reason="../shared/mocap is absent: no motion capture")
def test_a_reconstructed_render_of_another_view_becomes_real_windows_labelled_by_that_view(kit, tmp_path):
    """``real_sequences --from-renders``: the landmarks a video job kept of a rendered training clip, next to the
    truth that view drew (found again from the clip, the view and the seed); a file of another view is refused."""
    from core.bodymodel.library import load_body
    from training.contact.renders import chosen_clips, view_rng, viewed
    from training.lifter.real_sequences import RealWindows, from_reconstructions, truth

    mocap, body = MOCAP / "bvh", load_body("open", "smplx", "", "neutral")
    path = chosen_clips(mocap, "train", 60)[0]
    trial = f"{path.parent.name}/{path.stem}"
    sequence, camera, poses, trans = viewed(mocap, trial, body, 256, 1, view_rng(20, 1, 0))
    drawn = truth(kit, body, sequence, poses, trans)["landmarks"]
    count = len(drawn)
    landmarks = np.zeros((count, 33, 6))
    landmarks[..., :2] = drawn[..., :2] / drawn[..., 2:] * camera.focal + 127.5
    landmarks[..., 2] = 1.0
    landmarks[..., 3:] = drawn - drawn[:, HIPS].mean(axis=1, keepdims=True)
    confidence = np.ones(count)
    confidence[:5] = 0.0  # the person not found in the first frames
    landmarks[:5] = 0.0
    renders = tmp_path / "renders"
    renders.mkdir()
    np.savez(renders / f"{path.parent.name}_{path.stem}_256.npz", landmarks=landmarks, confidence=confidence,
             camera_intrinsics=np.array([[camera.focal, 0, 127.5], [0, camera.focal, 127.5], [0, 0, 1]]),
             truth_contacts=sequence.contacts.astype(np.float32))
    lines = from_reconstructions(renders, 1, mocap, body, kit, tmp_path / "windows", count=60)
    assert lines[0] == f"{trial}: {count - 5} of {count} frames seen ({path.parent.name}_{path.stem}_256.npz)"
    assert all(line.endswith(f"not rendered in {renders}") for line in lines[1:])
    with np.load(tmp_path / "windows" / f"view1_{path.stem}.npz") as data:
        np.testing.assert_allclose(data["landmarks"], drawn)
        np.testing.assert_array_equal(data["clip_contacts"], sequence.contacts)
        assert data["seen"].sum() == count - 5 and float(data["focal"]) == pytest.approx(camera.focal)
    windows = RealWindows(tmp_path / "windows")
    inputs, targets, contacts = windows.batch(np.random.default_rng(0), 8)
    assert len(windows) == count - 5 and inputs.shape == (8, WINDOW, FEATURES + 1) and targets.shape == (8, 129, 3)
    assert (inputs[:, WINDOW // 2, -1] == 1).all() and contacts.shape == (8, 4)

    refused = from_reconstructions(renders, 2, mocap, body, kit, tmp_path / "other", count=60)
    assert refused[0].startswith(f"{trial}: {path.parent.name}_{path.stem}_256.npz is not the view drawn")
    assert not (tmp_path / "other" / f"view2_{path.stem}.npz").exists()
