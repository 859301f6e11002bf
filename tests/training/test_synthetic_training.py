"""EfficientHuman on synthetic shards: the mode (b) input built in torch equals silhouette_input, augmentation
keeps landmarks, heatmaps and targets together, a 34-channel network trains, resumes, exports (float16) and runs
through the run-time estimator on a real photo."""

from __future__ import annotations

import types

import numpy as np
import pytest
from conftest import SHARED_MEDIA

torch = pytest.importorskip("torch")

from core.estimators.keypoints.landmarks import POSE  # noqa: E402
from core.estimators.silhouette_input import silhouette_input  # noqa: E402
from training.data import augment  # noqa: E402
from training.silhouette_data import ShardData, inputs_from_fields  # noqa: E402
from training.synth.bank import random_test_poses  # noqa: E402
from training.synth.generate import generate  # noqa: E402
from training.synth.shards import SyntheticShards  # noqa: E402

PHOTO = SHARED_MEDIA / "images" / "single" / "s03_yoga_treepose__tfexamples_image3.jpeg"
JOINT_LANDMARKS = {"left_shoulder": 16, "right_shoulder": 17, "left_elbow": 18, "right_elbow": 19,
                   "left_wrist": 20, "right_wrist": 21, "left_hip": 1, "right_hip": 2, "left_knee": 4,
                   "right_knee": 5, "left_ankle": 7, "right_ankle": 8}  # MediaPipe landmark -> SMPL joint


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shards")
    generate("silhouette", random_test_poses(16, seed=3), 5, 12, folder / "train", shard_size=5)
    generate("silhouette", random_test_poses(16, seed=4), 6, 4, folder / "val", shard_size=4)
    return folder


def stack(items: list[dict]) -> dict:
    return {key: torch.tensor(np.stack([item[key] for item in items])) for key in items[0]}


def test_torch_input_equals_silhouette_input(shards):
    reader, data = SyntheticShards(shards / "train"), ShardData(shards / "train", augmented=False)
    assert len(data) == 12 and data.in_channels == 34 and data.mode == "silhouette"
    batch = stack([data[i] for i in (0, 7)])
    built = inputs_from_fields(batch["silhouette"], batch["landmarks_2d"], batch["heights"]).numpy()
    for row, index in enumerate((0, 7)):
        assert np.abs(built[row] - reader[index]["image"]).max() < 1e-5
    fields = data[3]
    assert fields["silhouette"].dtype == np.uint8 and fields["silhouette"].max() == 255  # 66 kB across processes
    mask = fields["silhouette"] / np.float32(255)
    direct = silhouette_input(mask, fields["landmarks_2d"], fields["heights"])
    built = inputs_from_fields(torch.tensor(mask)[None], *(torch.tensor(fields[k])[None] for k in ("landmarks_2d",
                                                                                                    "heights")),
                               soften_px=0.0)
    assert np.abs(built[0].numpy() - direct).max() < 1e-5


def test_augmented_fields_move_with_the_targets(shards, monkeypatch):
    monkeypatch.setattr("training.silhouette_data.MASK_CHANGE", 0.0)  # erosion would take thin wrists away
    data = ShardData(shards / "train", augmented=True, seed=1)
    for index in range(12):
        sample = data[index]
        pixels = (sample["uvd"][:, :2] + 0.5) * 256
        for name, joint in JOINT_LANDMARKS.items():  # joint landmarks are the joints themselves
            assert np.abs(sample["landmarks_2d"][POSE[name]] - pixels[joint]).max() < 1e-3, (index, name)
        inside = np.all((pixels[:24] >= 0) & (pixels[:24] < 256), axis=1)
        spots = pixels[:24][inside].round().astype(int).clip(0, 255)
        assert np.mean(sample["silhouette"][spots[:, 1], spots[:, 0]] > 77) > 0.85  # joints on the body


def test_generic_augment_swaps_heatmaps_with_their_landmarks(shards):
    sample = SyntheticShards(shards / "train")[2]
    rng = np.random.default_rng(0)
    for _ in range(6):
        moved = augment(sample, rng)
        assert moved["image"].shape == (34, 256, 256)
        pixels = (moved["uvd"][:, :2] + 0.5) * 256
        for name in ("left_wrist", "right_knee"):
            heatmap = moved["image"][1 + POSE[name]]
            joint = pixels[JOINT_LANDMARKS[name]]
            if heatmap.max() < 0.5 or not np.all((joint > 4) & (joint < 251)):
                continue  # dropped (MediaPipe-like corruption) or outside the crop
            peak = np.unravel_index(np.argmax(heatmap), heatmap.shape)[::-1]
            assert np.linalg.norm(np.array(peak) - joint) < 2.0, name


def test_34_channel_network_trains_resumes_exports_and_runs_on_a_photo(shards, tmp_path):
    pytest.importorskip("onnxruntime")
    from core.bodymodel.library import load_body
    from core.estimators.efficienthuman import EfficientHumanEstimator, weights_status
    from core.estimators.network import read_metadata
    from training.efficienthuman import efficienthuman
    from training.export import onnx_difference
    from training.losses import RLELoss
    from training.train import BodyTensors, evaluate, export_checkpoint, save_weights, train

    body = load_body("open", "smpl")
    data, val = ShardData(shards / "train"), ShardData(shards / "val", augmented=False)
    checkpoint = tmp_path / "eh.pt"
    losses = train(data, body, 2, checkpoint, batch_size=2, log_every=1, validation=val, val_every=2)
    assert len(losses) == 2 and np.all(np.isfinite(losses))
    state = torch.load(checkpoint, weights_only=True)
    assert state["in_channels"] == 34 and state["step"] == 2 and state["validation"][-1]["samples"] == 4
    assert train(data, body, 3, checkpoint, batch_size=2, log_every=1, resume=True) and \
        torch.load(checkpoint, weights_only=True)["step"] == 3
    weights = save_weights(checkpoint, tmp_path / "weights.pt")
    assert weights.stat().st_size < checkpoint.stat().st_size / 4  # float16, no optimizer state
    onnx_file = export_checkpoint(checkpoint, tmp_path / "eh.onnx", fp16=True)
    meta = read_metadata(onnx_file)
    assert meta["pocket_mocap.input"] == "silhouette" and meta["pocket_mocap.trained_steps"] == "3"
    assert onnx_file.stat().st_size < 25.5e6 and weights_status(str(onnx_file)) == (True, "")
    model = efficienthuman(torch.load(checkpoint, weights_only=True)["model"]).eval()
    assert max(onnx_difference(model, onnx_file, torch.rand(1, 34, 256, 256)).values()) < 2e-2
    figures = evaluate(model, RLELoss(), BodyTensors(body), val, torch.device("cpu"))
    assert figures["mpjpe_mm"] > figures["pa_mpjpe_mm"] > 0 and 0 <= figures["pck_0.1"] <= 1
    if not PHOTO.is_file():
        pytest.skip("../shared/media is absent: no real people")
    import cv2

    from core.estimators.keypoints.fit import Camera
    from core.estimators.silhouette_input import photo_input

    rgb = cv2.cvtColor(cv2.imread(str(PHOTO)), cv2.COLOR_BGR2RGB)
    camera = Camera.from_fov(rgb.shape[1], rgb.shape[0], 55.0)
    with EfficientHumanEstimator(types.SimpleNamespace(weights=str(onnx_file)), body, camera, video=False) as eh:
        assert eh.input == "silhouette"
        item = eh.observe(rgb, search=True)
        assert item is not None and item["outputs"]["uvd"].shape == (96, 3)
        frame = eh.fitter(eh.shape([item])).estimate(item)
        _, square, _ = photo_input(eh.detector, rgb)
    assert np.allclose(item["square"], square, atol=1.0)  # the same crop as the mode (b) twin
    assert np.all(np.isfinite(frame["poses"])) and frame["joints"].shape == (24, 3) and frame["trans"][2] > 0


def test_input_channels_travel_with_the_weights():
    from training.data import LANDMARK_FLIP
    from training.efficienthuman import build, efficienthuman, input_kind

    model = efficienthuman(in_channels=34)
    assert model.backbone.stem[0].weight.shape[1] == 34 and efficienthuman(model.state_dict()).in_channels == 34
    assert efficienthuman().in_channels == 3 and (input_kind(3), input_kind(34)) == ("rgb", "silhouette")
    with pytest.raises(ValueError, match="3 or 34 input channels"):
        build("efficienthuman", None, in_channels=5)
    assert [LANDMARK_FLIP[k] for k in LANDMARK_FLIP] == list(range(33))
    assert LANDMARK_FLIP[POSE["left_wrist"]] == POSE["right_wrist"] and LANDMARK_FLIP[POSE["nose"]] == POSE["nose"]
    assert LANDMARK_FLIP[POSE["mouth_left"]] == POSE["mouth_right"]


@pytest.mark.parametrize("family", ["smpl", "smplx"])
def test_run_time_fitter_turns_synthetic_targets_back_into_the_sample(shards, family):
    """The estimator's back-projection, IK and root placement fed a sample's true outputs (uvd, camera, twist,
    betas) in the sample's own crop camera land on its joints: the training targets mean what run time reads
    (with SMPL-X, SMPL's hand joint is the mean of the finger bases, as in the data)."""
    from core.bodymodel.joints import SMPL_PARENTS
    from core.bodymodel.library import load_body
    from core.estimators.efficienthuman import LEAF_PARENTS, EfficientHumanFitter
    from core.estimators.keypoints.fit import Camera
    from core.ik import hybrik

    body = load_body("open", family)
    stub = types.SimpleNamespace(model=body, skeleton=hybrik.smpl_skeleton(SMPL_PARENTS, LEAF_PARENTS, {9: 12, 0: 3}))
    with np.load(shards / "train" / "shard_00000.npz") as data:
        samples = [{key: data[key][i] for key in data.files} for i in range(5)]
    pixels, millimetres, hands = [], [], []
    for s in samples:
        stub.camera = Camera(*(float(v) for v in s["intrinsics"]))
        outputs = {"uvd": s["uvd"], "camera": s["camera"], "twist": s["twist"], "betas": s["betas"],
                   "sigma": np.zeros((96, 3), np.float32)}
        frame = EfficientHumanFitter(stub, s["betas"]).estimate({"square": (127.5, 127.5, 256.0), "box": None,
                                                          "outputs": outputs})
        pixels.append(np.linalg.norm(frame["joints_2d"] - s["keypoints_2d"][:24], axis=1))
        relative = (frame["joints"] - frame["joints"][0]) - (s["keypoints_3d"][:24] - s["keypoints_3d"][0])
        millimetres.append(1000 * np.linalg.norm(relative, axis=1).mean())
        hands.append(1000 * np.linalg.norm(relative[20:], axis=1))  # wrists and hands
    # A.5's fixed 1000 px crop camera is an approximation (docs/synth_generator.md): a few px, a few cm.
    assert np.median(np.concatenate(pixels)) < 6.0 and np.mean(millimetres) < 70.0, (pixels, millimetres)
    assert np.median(hands) < 60.0, hands


def test_schedule_anneals_by_time_when_time_runs_out_first():
    from training.train import learning_rate

    peak, steps = 1e-3, 30000
    assert learning_rate(100, steps, peak, time_fraction=0.9) < peak  # warm-up only by steps: still rising
    assert learning_rate(100, steps, peak, time_fraction=0.9) == learning_rate(100, steps, peak)
    early = learning_rate(2000, steps, peak)
    assert early > 0.95 * peak  # by steps alone, barely started
    assert learning_rate(2000, steps, peak, time_fraction=0.5) == pytest.approx(peak * (0.05 + 0.95 * 0.5))
    assert learning_rate(2000, steps, peak, time_fraction=1.0) == pytest.approx(0.05 * peak)  # annealed at the end
    assert learning_rate(2000, steps, peak, time_fraction=0.0) == early  # time behind the steps changes nothing
