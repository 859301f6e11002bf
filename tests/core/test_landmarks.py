"""Landmarks without MediaPipe (core/landmarks): the geometry and detector maths against hand-computed numbers, the
bundled models, and parity with MediaPipe 0.10.14 itself on real photos and video (the .venv keeps mediapipe as a
test-only reference)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from conftest import SHARED_MEDIA

from pocket_mocap.core.landmarks import geometry
from pocket_mocap.core.landmarks.detection import Detection, decode, weighted_nms
from pocket_mocap.core.landmarks.filters import OneEuro
from pocket_mocap.core.landmarks.pose import DETECTOR_ANCHORS, refine_from_heatmap

needs_reference = pytest.mark.skipif(importlib.util.find_spec("mediapipe") is None or not SHARED_MEDIA.is_dir(),
                                     reason="the MediaPipe reference or ../shared/media is absent")


def test_pose_detector_anchors_match_the_models_2254_boxes():
    anchors = DETECTOR_ANCHORS.anchors()
    assert anchors.shape == (2254, 2)
    np.testing.assert_allclose(anchors[:2], [[0.5 / 28, 0.5 / 28]] * 2)  # two anchors per 8-px cell
    np.testing.assert_allclose(anchors[-1], [6.5 / 7, 6.5 / 7])


def test_decode_puts_boxes_and_keypoints_relative_to_their_anchor():
    anchors = np.array([[0.25, 0.5], [0.75, 0.5]], np.float32)
    raw = np.array([[22.4, -11.2, 44.8, 22.4, 0, 0], [0, 0, 10, 10, 0, 0]], np.float32)
    found = decode(raw, np.array([3.0, -3.0]), anchors, 224, 1, 0.5)
    assert len(found) == 1 and found[0].score == pytest.approx(1 / (1 + np.exp(-3)))
    np.testing.assert_allclose(found[0].box, [0.25, 0.40, 0.45, 0.50], atol=1e-6)  # centre (0.35, 0.45), 0.2 x 0.1
    np.testing.assert_allclose(found[0].keypoints, [[0.25, 0.5]])


def test_weighted_nms_averages_overlapping_boxes_by_score():
    a = Detection(0.9, np.array([0.0, 0.0, 1.0, 1.0]), np.zeros((1, 2)))
    b = Detection(0.3, np.array([0.1, 0.0, 1.1, 1.0]), np.ones((1, 2)))
    far = Detection(0.6, np.array([5.0, 5.0, 6.0, 6.0]), np.zeros((1, 2)))
    merged = weighted_nms([b, far, a], 0.3)
    assert [d.score for d in merged] == [0.9, 0.6]
    np.testing.assert_allclose(merged[0].box, [0.025, 0.0, 1.025, 1.0])
    np.testing.assert_allclose(merged[0].keypoints, [[0.25, 0.25]])


def test_alignment_rect_is_centred_sized_and_turned_upright():
    # hip centre at (100, 200) px, size point 50 px straight above it: no rotation, side 100 px
    rect = geometry.rect_from_alignment(np.array([0.25, 0.5]), np.array([0.25, 0.375]), (400, 400))
    assert (rect.x_center, rect.y_center, rect.width, rect.height) == pytest.approx((0.25, 0.5, 0.25, 0.25))
    assert rect.rotation == pytest.approx(0.0)
    tilted = geometry.rect_from_alignment(np.array([0.5, 0.5]), np.array([0.6, 0.5]), (400, 200))  # point to the right
    assert tilted.rotation == pytest.approx(np.pi / 2)
    assert tilted.width * 400 == pytest.approx(80) and tilted.height * 200 == pytest.approx(80)


def test_transform_rect_squares_on_the_long_side_in_pixels_and_scales():
    rect = geometry.transform_rect(geometry.Rect(0.5, 0.5, 0.5, 0.5), (400, 200), scale=1.25)
    assert rect.width * 400 == pytest.approx(250) and rect.height * 200 == pytest.approx(250)


def test_crop_and_projection_are_inverse():
    """A dot in the image lands in the crop where projecting back from the crop puts it again."""
    image = np.zeros((120, 160, 3), np.uint8)
    image[40:43, 100:103] = 255
    rect = geometry.Rect(0.55, 0.4, 0.5, 0.6, rotation=0.4)
    tensor = geometry.crop(image, rect.pixels(160, 120), (64, 64), (0.0, 1.0), border_zero=True)[0, :, :, 0]
    row, col = np.unravel_index(np.argmax(tensor), tensor.shape)
    back = geometry.project_from_rect(np.array([[col / 64, row / 64, 0.0]]), rect)  # MediaPipe: index / size
    assert np.hypot(back[0, 0] * 160 - 101, back[0, 1] * 120 - 41) < 1.5


def test_heatmap_refinement_moves_a_landmark_to_the_confident_cells():
    heatmap = np.full((64, 64, 1), -10.0, np.float32)
    heatmap[30, 20, 0] = heatmap[30, 22, 0] = 10.0  # confident cells either side of column 21
    refined = refine_from_heatmap(np.array([[21.2 / 64, 30.4 / 64]]), heatmap)
    np.testing.assert_allclose(refined * 64, [[21.0, 30.0]], atol=1e-3)
    weak = refine_from_heatmap(np.array([[21.2 / 64, 30.4 / 64]]), np.full((64, 64, 1), -3.0, np.float32))
    np.testing.assert_allclose(weak * 64, [[21.2, 30.4]])  # nothing above 0.5 confidence: unchanged


def test_one_euro_follows_mediapipe_timing():
    smoother = OneEuro(min_cutoff=0.05, beta=0.0)
    assert smoother(33333, np.array([1.0])) == pytest.approx(1.0)  # the first value passes through
    alpha = 1 / (1 + 30.0003 / (2 * np.pi * 0.05))
    assert smoother(66666, np.array([2.0]))[0] == pytest.approx(1 + alpha, rel=1e-4)
    assert smoother(66666, np.array([9.0]))[0] == 9.0  # a repeated timestamp is passed through unfiltered


@needs_reference
def test_body_landmarks_equal_mediapipe_on_photos():
    from landmark_parity import Parity, compare_frames, read_photo, shared_photos

    parity = Parity()
    for path in shared_photos()[::3]:
        compare_frames([read_photo(path)], video=False, parity=parity, hands_and_face=False)
    assert parity.only_ours["pose"] == 0 and parity.only_reference["pose"] == 0
    assert parity.median("pose") < 1.0 and parity.median("world") < 0.005


@needs_reference
def test_tracked_body_landmarks_equal_mediapipe_on_video():
    from landmark_parity import Parity, compare_frames, read_video

    parity = compare_frames(read_video(SHARED_MEDIA / "videos" / "v01_taiji__hybrik.mp4", 40), True, Parity(),
                            hands_and_face=False)
    assert parity.both["pose"] == 40
    assert parity.median("pose") < 1.0 and parity.median("world") < 0.005
