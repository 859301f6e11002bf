"""Photos and videos at the edge, with numbers: a picture's size read from its header before decoding, a
video's frames placed at their times, a cut video's two counts."""

from __future__ import annotations

import numpy as np
import pytest

from pocket_mocap.core import media
from pocket_mocap.core.errors import MediaError

from . import make as m


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".bmp", ".tif", ".webp"])
def test_photo_size_from_the_header_of_every_format(tmp_path, suffix):
    path = tmp_path / f"x{suffix}"
    m.photo(97, 61)(path)
    assert media.photo_size(np.fromfile(path, np.uint8), path.name) == (97, 61)


@pytest.mark.parametrize("make, says", [
    (m.png_claiming(20000, 20000, compressed_zeros=10), "400 megapixels"),
    (m.jpeg_claiming(12000, 9000), "108 megapixels"),
    (m.bmp_claiming(1, 100), "too small"),
    (m.webp_claiming(16383, 16383), "268 megapixels"),
    (m.tiff_claiming(100000, 100000), "10000 megapixels"),
], ids=["png", "jpeg", "bmp", "webp", "tiff"])
def test_headers_refuse_before_decoding(tmp_path, make, says):
    path = tmp_path / "x.img"
    make(path)
    with pytest.raises(MediaError, match=says):
        media.photo_size(path.read_bytes(), "x")


def test_constant_rate_leaves_even_frames_alone():
    assert media.constant_rate(np.arange(50) / 23.976) is None
    jitter = np.arange(50) / 30 + np.random.default_rng(0).uniform(-0.005, 0.005, 50)
    assert media.constant_rate(jitter) is None, "a few ms of jitter is not a variable rate"


def test_constant_rate_places_frames_at_their_times():
    times = np.concatenate([np.arange(20) / 24, 19 / 24 + np.arange(1, 11) / 3])  # 24 fps, then 3 fps
    indices, rate = media.constant_rate(times)
    assert rate == pytest.approx(24.0)
    assert len(indices) == round((times[-1] - times[0]) * 24) + 1 == 100
    assert np.array_equal(indices[:20], np.arange(20)), "the 24 fps part is kept frame for frame"
    shown = times[indices]
    assert np.max(np.abs(shown - (times[0] + np.arange(len(indices)) / 24))) <= 1 / 6 + 1e-9, \
        "every tick shows the frame nearest its time (at most half a 3 fps interval away)"


def test_truncation_warning_names_both_counts(tmp_path):
    info = media.MediaInfo(tmp_path / "cut.mp4", "video", 40, 24.0, 64, 48)
    assert media.truncation_warning(info, 40) == media.truncation_warning(info, 39) == ""
    assert "ended after 20 of the 40 frames" in media.truncation_warning(info, 20)
