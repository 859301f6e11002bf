"""The temporal lifter at run time: a person's MediaPipe landmarks over a whole clip -> per frame, where the body's
33 landmark points and 96 keypoints are (metres, camera axes; landmarks hip-centred, keypoints pelvis-relative) and
the probability that each foot's heel and toe is on the floor (left heel, left toe, right heel, right toe).

Each frame is read with the ``WINDOW // 2`` frames before and after it (centred: 13 frames, 0.43 s at 30 fps, of
look-ahead; a video job knows its whole clip before it is grounded). The clip's first and last frames are repeated
to fill the window at its ends; frames where the person was not found take the nearest seen frame's features and
are marked unseen. Clips at other rates are resampled to 30 fps and back.

The weights are ours (``python3 tools/dev.py train-temporal``; training/lifter/temporal.py) and travel as ONNX with
their training record in the file's metadata; a file without one is refused with a sentence.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import PocketMocapError
from .features import FEATURES, HIPS, LANDMARKS, input_features
from .weights import trained_session

BUNDLED = Path(__file__).resolve().parent / "models" / "temporal_lifter.onnx"
WINDOW = 27
DILATIONS = (1, 3, 9)
RATE = 30.0
FOOT_LANDMARKS = [29, 31, 30, 32]  # left heel, left foot index (toe), right heel, right foot index
REQUIRED_METADATA = ("architecture", "trained_steps", "data", "held_out_clips", "validation", "command")
# A photo's fit reads this share of the lifter's points held still and the rest of MediaPipe's own world landmarks:
# their errors differ, and on held-out renders the mix beats either (docs/lifting.md, "A photo: the lifter's points
# mixed with MediaPipe's"). A video's second fit reads the lifter alone: there the mix measured worse.
LIFTER_SHARE = 0.7


def blended(points: np.ndarray, measured: np.ndarray, share: float = LIFTER_SHARE) -> np.ndarray:
    """The lifter's landmark ``points (..., 33, 3)`` mixed with MediaPipe's world landmarks ``measured`` (the same
    shape), each taken about its own mid-hip: ``share`` of the lifter's."""
    points, measured = (np.asarray(x, np.float64) for x in (points, measured))
    own = points - points[..., HIPS, :].mean(axis=-2, keepdims=True)
    theirs = measured - measured[..., HIPS, :].mean(axis=-2, keepdims=True)
    return share * own + (1.0 - share) * theirs


def clip_features(pixels: np.ndarray, visibility: np.ndarray, world: np.ndarray, seen: np.ndarray, focal: float,
                  centre: tuple[float, float]) -> np.ndarray:
    """``(F, FEATURES + 1)`` float32 for one person's clip: ``pixels (F, 33, 2)``, ``visibility (F, 33)``,
    MediaPipe's ``world (F, 33, 3)``, ``seen (F,)`` bool. Unseen frames copy the nearest seen frame's features."""
    count = len(pixels)
    seen = np.asarray(seen, bool)
    if not seen.any():
        raise ValueError("The person is not seen in any frame.")
    features = input_features(pixels.astype(np.float64), visibility.astype(np.float64), world.astype(np.float64),
                              np.full(count, float(focal)), np.tile(np.asarray(centre, np.float64), (count, 1)))
    kept = np.flatnonzero(seen)
    nearest = kept[np.abs(np.arange(count)[:, None] - kept[None]).argmin(axis=1)]
    return np.concatenate([features[nearest], seen[:, None]], axis=1).astype(np.float32)


def resample(values: np.ndarray, source_fps: float, target_fps: float, count: int | None = None) -> np.ndarray:
    """Linear resampling along the first axis from ``source_fps`` to ``target_fps`` (``count`` frames out)."""
    if abs(source_fps - target_fps) < 1e-6 and count in (None, len(values)):
        return values
    times = np.arange(len(values)) / source_fps
    count = count or max(1, int(round(times[-1] * target_fps)) + 1)
    wanted = np.minimum(np.arange(count) / target_fps, times[-1])
    flat = values.reshape(len(values), -1)
    out = np.stack([np.interp(wanted, times, column) for column in flat.T], axis=1)
    return out.reshape(count, *values.shape[1:]).astype(values.dtype)


class TemporalLifter:
    """One onnxruntime session of a trained temporal lifter."""

    def __init__(self, path: Path = BUNDLED):
        self.session, record = trained_session(path, "temporal lifter", REQUIRED_METADATA)
        inputs = self.session.get_inputs()
        if len(inputs) != 1 or inputs[0].shape[-1] != FEATURES + 1 or len(self.session.get_outputs()) != 2:
            raise PocketMocapError(f"{path.name} is not a temporal lifter this version can run (it expects "
                                   f"{FEATURES + 1} features a frame and gives points and contacts).")
        self.record = record
        self.validation = json.loads(record["validation"])

    def lift(self, features: np.ndarray, fps: float = RATE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``features (F, FEATURES + 1)`` of :func:`clip_features` at ``fps`` -> landmark points ``(F, 33, 3)``,
        keypoints ``(F, 96, 3)`` (float64 metres) and contact probabilities ``(F, 4)``."""
        count = len(features)
        steady = resample(features, fps, RATE)
        steady[:, -1] = np.round(steady[:, -1])
        half = WINDOW // 2
        padded = np.concatenate([np.repeat(steady[:1], half, axis=0), steady, np.repeat(steady[-1:], half, axis=0)])
        points, logits = self.session.run(None, {self.session.get_inputs()[0].name: padded[None].astype(np.float32)})
        points = resample(points[0].astype(np.float64), RATE, fps, count)
        contacts = 1.0 / (1.0 + np.exp(-resample(logits[0].astype(np.float64), RATE, fps, count)))
        return points[:, :LANDMARKS], points[:, LANDMARKS:], contacts

    def still(self, pixels: np.ndarray, visibility: np.ndarray, world: np.ndarray, focal: float,
              centre: tuple[float, float]) -> np.ndarray:
        """A photo's landmark points ``(33, 3)``: its one frame (``pixels (33, 2)``, ``visibility (33,)``, MediaPipe's
        ``world (33, 3)``) read as a window of a person holding still."""
        held = [np.repeat(np.asarray(values)[None], WINDOW, axis=0) for values in (pixels, visibility, world)]
        return self.lift(clip_features(*held, np.ones(WINDOW, bool), focal, centre))[0][WINDOW // 2]

    def read(self, landmarks: np.ndarray, seen: np.ndarray, focal: float, centre: tuple[float, float], fps: float
             ) -> tuple[np.ndarray, np.ndarray]:
        """One person's landmark points ``(F, 33, 3)`` and foot contact probabilities ``(F, 4)`` from the landmarks
        a video job keeps (``landmarks (F, 33, 6)``: pixels, visibility, world) and the frames they were seen in;
        probabilities are 0 where the person was not seen."""
        features = clip_features(landmarks[..., :2], landmarks[..., 2], landmarks[..., 3:], seen, focal, centre)
        points, _, contacts = self.lift(features, fps)
        return points, np.where(np.asarray(seen, bool)[:, None], contacts, 0.0)

    def contacts(self, landmarks: np.ndarray, seen: np.ndarray, focal: float, centre: tuple[float, float],
                 fps: float) -> np.ndarray:
        """:meth:`read`'s foot contact probabilities ``(F, 4)``."""
        return self.read(landmarks, seen, focal, centre, fps)[1]
