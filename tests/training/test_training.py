"""Smoke training: a few dozen steps on generated samples lower the loss; checkpoints resume; the
trained network exports; augmentation keeps targets on the image."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from support.bodyfiles import random_model_arrays  # noqa: E402

from core.bodymodel.model import body_model_from_arrays  # noqa: E402
from training.data import GeneratedSamples, augment  # noqa: E402
from training.train import train  # noqa: E402


@pytest.fixture(scope="module")
def body():
    return body_model_from_arrays(random_model_arrays("smpl", seed=0), "smpl", "random SMPL-topology body")


def test_a_few_dozen_steps_lower_the_loss_and_resume(body, tmp_path):
    source = GeneratedSamples(body, 16)
    checkpoint = tmp_path / "smoke.pt"
    losses = train(source, body, 30, checkpoint, batch_size=4, log_every=10)
    assert np.all(np.isfinite(losses))
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    state = torch.load(checkpoint, weights_only=True)
    assert state["step"] == 30
    more = train(source, body, 33, checkpoint, batch_size=4, log_every=1, resume=True)
    assert len(more) == 3 and torch.load(checkpoint, weights_only=True)["step"] == 33


def test_generated_targets_are_consistent(body):
    sample = GeneratedSamples(body, 1)[0]
    assert sample["image"].shape == (3, 256, 256) and sample["uvd"].shape == (96, 3)
    assert np.allclose(sample["xyz"][0], 0) and np.allclose(sample["uvd"][0, 2], 0)
    assert np.abs(sample["uvd"][:, :2]).max() < 0.5, "the whole body inside the crop"
    assert np.allclose(np.linalg.norm(sample["twist"], axis=1), 1, atol=1e-5)


def test_augmentation_moves_targets_with_the_image(body):
    sample = GeneratedSamples(body, 1)[0]
    rng = np.random.default_rng(3)
    for _ in range(5):
        moved = augment(sample, rng)
        pixels = ((moved["uvd"][:, :2] + 0.5) * 256).round().astype(int)
        seen = moved["visible"] > 0
        assert seen.sum() > 50
        image = moved["image"].transpose(1, 2, 0)
        x, y = np.clip(pixels[seen, 0], 0, 255), np.clip(pixels[seen, 1], 0, 255)
        # the blobs are bright, the background dark: most targets land on bright pixels
        assert np.median(image[y, x].max(axis=1)) > np.median(image.max(axis=2))


def test_checkpoint_with_the_authors_names_loads():
    import re

    from training.checkpoints import AUTHOR_NAMES, convert_author_state_dict
    from training.efficienthuman import efficienthuman

    ours = efficienthuman().state_dict()
    # Build the authors' naming by running the table backwards (each replacement back to its pattern).
    backwards = [(r"^backbone\.", "preact."), (r"^keypoints\.maps\.", "final_layer."),
                 (r"^keypoints\.norm\.g$", "mlp.0.g"), (r"^keypoints\.lift\.weight$", "mlp.1.weight"),
                 (r"^keypoints\.gau\.norm\.g$", "gau.ln.g"), (r"^keypoints\.gau\.out\.", "gau.o."),
                 (r"^keypoints\.gau\.residual_scale$", "gau.res_scale.scale"), (r"^keypoints\.gau\.", "gau."),
                 (r"^keypoints\.coords\.(\d)\.weight$", r"coord_\1.weight"),
                 (r"^keypoints\.sigmas\.(\d)\.weight$", r"sigma_\1.weight"), (r"^shape\.", "decshape."),
                 (r"^twist\.", "decphi."), (r"^camera\.", "deccam."), (r"^mean_betas$", "init_shape")]
    authors = {}
    for key, value in ours.items():
        for pattern, replacement in backwards:
            if re.search(pattern, key):
                key = re.sub(pattern, replacement, key)
                break
        authors["module." + key] = value + 1.0 if value.is_floating_point() else value
    assert any(k.startswith("module.preact.") for k in authors) and len(AUTHOR_NAMES) > 10
    converted = convert_author_state_dict(authors, set(ours))
    model = efficienthuman(converted)
    assert torch.equal(model.fc1.weight, ours["fc1.weight"] + 1.0)
    with pytest.raises(KeyError, match="no counterpart"):
        convert_author_state_dict({**authors, "module.extra_head.weight": torch.zeros(1)}, set(ours))
