"""EfficientHuman with smoke-trained weights runs end to end; untrained files are refused."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import SHARED_MEDIA

torch = pytest.importorskip("torch")
PHOTO = SHARED_MEDIA / "images" / "single" / "s03_yoga_treepose__tfexamples_image3.jpeg"


def test_untrained_weights_are_refused_and_trained_ones_listed(smoke_weights, tmp_path):
    from pocket_mocap.core import catalog
    from pocket_mocap.core.estimators.efficienthuman import weights_status
    from training.efficienthuman import efficienthuman
    from training.export import export_onnx

    untrained = export_onnx(efficienthuman().eval(), tmp_path / "random.onnx")  # trained_steps = 0
    assert weights_status(str(untrained)) == (False, '"random.onnx" holds untrained weights; it will not be used.')
    assert weights_status(str(smoke_weights))[0]
    choice = catalog.find(catalog.estimators(str(smoke_weights)), "efficienthuman")
    assert choice.available and choice.weights == str(smoke_weights) and "10.90 M" in choice.parameters


@pytest.mark.skipif(not PHOTO.is_file(), reason="../shared/media is absent: no real people")
def test_cli_reconstructs_with_efficienthuman(smoke_weights, tmp_path):
    from test_cli import pocket_mocap

    done = pocket_mocap("reconstruct", str(PHOTO), "-o", str(tmp_path / "eh.npz"), "--estimator", "efficienthuman",
                        "--weights", str(smoke_weights), "--cache", str(tmp_path / "cache"), "--quiet")
    assert done.returncode == 0, done.stderr
    with np.load(tmp_path / "eh.npz") as result:
        assert str(result["estimator"]) == "efficienthuman"
        assert result["poses"].shape == (1, 165) and np.all(np.isfinite(result["poses"]))
        assert result["joints"].shape == (1, 24, 3) and result["trans"][0, 2] > 0
    done = pocket_mocap("reconstruct", str(PHOTO), "-o", str(tmp_path / "eh.fbx"), "--estimator", "efficienthuman",
                        "--weights", str(smoke_weights), "--cache", str(tmp_path / "cache"), "--quiet")
    assert done.returncode == 0 and b"left_knee" in (tmp_path / "eh.fbx").read_bytes()
    info = json.loads(pocket_mocap("info", "--json", "--weights", str(smoke_weights)).stdout)
    assert info["estimators"][1]["available"]


def test_cli_without_weights_says_how_to_get_them(tmp_path):
    from conftest import write_test_photo
    from test_cli import pocket_mocap

    photo = write_test_photo(tmp_path / "in.png")  # a readable input, so that the missing weights are what stops it
    done = pocket_mocap("reconstruct", str(photo), "-o", str(tmp_path / "x.npz"), "--estimator", "efficienthuman",
                        "--cache", str(tmp_path / "cache"), "--quiet")
    assert done.returncode == 1 and "no trained weights" in done.stderr
