"""One-Euro smoothing: steadies noise, follows motion, resumes from saved state; the pass back in time over a
finished clip takes the streamed pass's lag out and steadies further; a clip's people are smoothed only over the
frames they are seen in."""

from __future__ import annotations

import metrics
import numpy as np
import pytest

from pocket_mocap.core.pipeline.smoothing import (
    OneEuroFilter,
    backward_pass,
    filtered_rotations,
    jitter,
)
from pocket_mocap.core.rotations import axis_angle_to_matrix


def noisy_walk(frames: int = 200, fps: float = 30.0, seed: int = 0):
    t = np.arange(frames) / fps
    clean = np.stack([np.sin(t), np.cos(0.5 * t), 0.1 * t], axis=1)[:, None, :]  # (F, 1, 3)
    return clean, clean + np.random.default_rng(seed).normal(0, 0.01, clean.shape)


def test_filter_reduces_jitter_and_keeps_the_motion():
    clean, noisy = noisy_walk()
    smoothing = OneEuroFilter(30.0, strength=0.5)
    smoothed = np.stack([smoothing(frame) for frame in noisy])
    assert jitter(smoothed, 30.0) < 0.5 * jitter(noisy, 30.0)  # the issue: at most half at default strength
    # A causal filter lags fast motion (here 1 m/s): the error stays within 1.5x the noise it removes.
    assert np.abs(smoothed - clean)[20:].mean() < 1.5 * np.abs(noisy - clean)[20:].mean()


def test_strength_zero_is_identity_and_state_resumes():
    _, noisy = noisy_walk(50)
    off = OneEuroFilter(30.0, strength=0.0)
    assert np.array_equal(np.stack([off(f) for f in noisy]), noisy)
    whole = OneEuroFilter(30.0, 0.7)
    expected = [whole(f) for f in noisy]
    first = OneEuroFilter(30.0, 0.7)
    part = [first(f) for f in noisy[:20]]
    second = OneEuroFilter(30.0, 0.7)
    second.restore(first.state())
    part += [second(f) for f in noisy[20:]]
    assert np.allclose(np.stack(part), np.stack(expected))


def test_jitter_of_constant_velocity_is_zero():
    line = np.linspace(0, 1, 30)[:, None, None] * np.ones((1, 2, 3))
    assert jitter(line, 30.0) < 1e-9


def turning(frames: int = 240, fps: float = 30.0, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two joints turning back and forth (axis-angle, ``(F, 6)``), a drifting translation, and the noisy copies."""
    t = np.arange(frames)[:, None] / fps
    poses = np.hstack([0.8 * np.sin(1.3 * t) * (0, 0, 1), 0.5 * np.cos(0.9 * t) * (1, 0, 0) + (0, 0.3, 0)])
    trans = np.hstack([0.2 * np.sin(0.7 * t), 0.1 * t, 3 + 0.1 * np.cos(t)])
    rng = np.random.default_rng(seed)
    return poses, poses + rng.normal(0, 0.03, poses.shape), trans + rng.normal(0, 0.01, trans.shape)


def points(poses: np.ndarray) -> np.ndarray:
    """Where the joints' axes end up: a unit vector turned by each joint's rotation, ``(F, 2, 3)``."""
    return axis_angle_to_matrix(poses.reshape(len(poses), -1, 3)) @ np.array([0.0, 1.0, 0.0])


def test_the_pass_back_takes_out_the_streamed_passs_lag_and_steadies_further():
    clean, noisy, trans = turning()
    rotations, translation = OneEuroFilter(30.0, 0.5), OneEuroFilter(30.0, 0.5)
    streamed = np.stack([filtered_rotations(rotations, p) for p in noisy]), np.stack([translation(t) for t in trans])
    both = backward_pass(*streamed, 30.0, 0.5)
    truth = points(clean)
    assert metrics.lag_frames(points(streamed[0]), truth) > 0.4  # the causal filter runs behind the motion
    assert abs(metrics.lag_frames(points(both[0]), truth)) < 0.15  # forwards then back: no lag
    assert jitter(points(both[0]), 30.0) < 0.7 * jitter(points(streamed[0]), 30.0)
    assert np.abs(points(both[0]) - truth).mean() < np.abs(points(streamed[0]) - truth).mean()
    assert jitter(both[1][:, None], 30.0) < jitter(streamed[1][:, None], 30.0)
    assert np.allclose(backward_pass(noisy, trans, 30.0, 0.0)[0], noisy, atol=1e-9)  # strength 0: nothing


def test_lag_frames_finds_a_known_delay():
    clean, _, _ = turning()
    truth = points(clean)
    assert metrics.lag_frames(truth, truth) == 0.0
    assert abs(metrics.lag_frames(truth[3:], truth[:-3]) + 3) < 0.05  # three frames ahead
    assert abs(metrics.lag_frames(truth[:-3], truth[3:]) - 3) < 0.05


class _Fitter:
    def joints(self, poses: np.ndarray, trans: np.ndarray) -> np.ndarray:
        return np.tile(trans, (24, 1))


class _Camera:
    def project(self, joints: np.ndarray) -> np.ndarray:
        return joints[..., :2]


def test_a_person_is_smoothed_only_over_the_frames_they_are_seen_in():
    Lane = pytest.importorskip("pocket_mocap.core.pipeline.reconstruct").Lane  # noqa: N806 - cv2, not in Blender
    _, noisy, trans = turning(60)
    presence = np.ones(60)
    presence[20:30] = 0  # not seen: the held pose stays as it was
    frames = {"poses": noisy.astype(np.float32), "trans": trans.astype(np.float32), "presence": presence,
              "joints": np.zeros((60, 24, 3), np.float32), "joints_2d": np.zeros((60, 24, 2), np.float32)}
    frames["poses"][20:30] = frames["poses"][19]
    held = frames["poses"][20:30].copy()
    Lane(1, np.zeros(10), _Fitter(), 30.0, 0.5, 2).centred(frames, _Camera(), 30.0, 0.5)
    assert np.array_equal(frames["poses"][20:30], held)
    assert not np.allclose(frames["poses"][:20], noisy[:20], atol=1e-6)
    assert np.allclose(frames["joints"][30:, 0], frames["trans"][30:], atol=1e-6)  # joints follow the pose
    assert np.all(frames["joints"][20:30] == 0)
