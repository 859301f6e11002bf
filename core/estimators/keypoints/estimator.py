"""The keypoint-guided default estimator frame by frame: every person's MediaPipe landmarks (smoothed for video,
per identity), the body fit, SMPL-X fingers and jaw. Used by ``core/pipeline/reconstruct.py`` through the
estimator interface (``observe_people``, ``shape``, ``fitter``; the fitter's ``estimate``, ``joints``,
``state``/``restore``)."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import numpy as np

from ...bodymodel.model import BodyModel
from ...lifting.lifter import Lifter
from ...lifting.temporal import TemporalLifter, blended
from ...pipeline.smoothing import OneEuroFilter
from ...prior.gmm import PosePrior
from ...rotations import axis_angle_to_matrix, matrix_to_axis_angle
from .. import posed_joints, smpl_order
from .detect import PeopleDetector
from .fit import BODY_JOINTS, PRIOR_WEIGHT, BodyFitter, Camera, FitWeights, Observation, bent_wrong, fit_shape
from .hands import finger_rotations, finger_tips, jaw_rotation

VIDEO_ITERATIONS = 4
FIRST_PASS_ITERATIONS = 1  # with the temporal lifter's second fit, the first only starts it (docs/lifting.md)
REFIT_ITERATIONS = 1  # the second fit (``refit``), warm-started from the frame before


class KeypointEstimator:
    """The keypoint-guided default, frame by frame: every person's MediaPipe landmarks (smoothed for video, per
    identity) -> fit."""

    def __init__(self, settings, model: BodyModel, camera: Camera, video: bool, fps: float = 30.0):
        self.settings, self.model, self.camera, self.video, self.fps = settings, model, camera, video, fps
        self.detector = PeopleDetector(video=video, hands_and_face=settings.hands_and_face, fps=fps)
        weights = getattr(settings, "lifter_weights", "")
        self.lifter = (Lifter(Path(weights)) if weights else Lifter()) if getattr(settings, "lifter", False) else None
        held_still = not video and self.lifter is None and getattr(settings, "temporal_lifter", False)
        self.still = TemporalLifter() if held_still else None  # a photo: the temporal lifter reads it held still
        self.filters: dict[int, dict[str, OneEuroFilter]] = {}

    def __enter__(self) -> KeypointEstimator:
        return self

    def __exit__(self, *_exc) -> None:
        self.detector.close()

    @property
    def crowded(self) -> bool:
        """Whether the last frame held more people than are reconstructed (``core/tracking/detect.py``)."""
        return self.detector.crowded

    def observe_people(self, rgb: np.ndarray) -> dict[int, Observation]:
        """Landmarks of everyone in ``rgb``, by track id (a photo's people numbered from the largest)."""
        people = self.detector.detect(rgb)
        for track_id, obs in people.items():
            centre = (self.camera.cx, self.camera.cy)
            if self.lifter is not None:  # the learned 3D stage: where the landmark points really are
                obs.world, _ = self.lifter.lift(obs.pose_2d, obs.visibility, obs.world, self.camera.focal, centre)
            elif self.still is not None:  # a photo (a video's frames are read with their neighbours: Lane.refit)
                obs.measured_world = obs.world
                obs.world = blended(self.still.still(obs.pose_2d, obs.visibility, obs.world, self.camera.focal, centre),
                                    obs.measured_world)
            filters = self.filters.setdefault(track_id, self._new_filters())
            obs.pose_2d = filters["pose_2d"](obs.pose_2d)
            obs.world = filters["world"](obs.world)
        return people

    def _new_filters(self) -> dict[str, OneEuroFilter]:
        strength = self.settings.smoothing if self.video else 0.0
        return {name: OneEuroFilter(self.fps, strength) for name in ("pose_2d", "world")}

    def shape(self, items: list) -> np.ndarray:
        seen = [obs for obs in items if obs is not None]
        return fit_shape(self.model, seen) if seen else np.zeros(self.model.num_betas, np.float32)

    def fitter(self, betas: np.ndarray, temporal: float = 0.2) -> FrameFitter:
        return FrameFitter(self.model, self.camera, betas, self.settings, temporal)

    def state(self) -> dict:
        return {"filters": {str(track_id): {name: f.state() for name, f in filters.items()}
                            for track_id, filters in self.filters.items()}, "people": self.detector.state()}

    def restore(self, state: dict) -> None:
        for track_id, saved_filters in state.get("filters", {}).items():
            filters = self.filters.setdefault(int(track_id), self._new_filters())
            for name, saved in saved_filters.items():
                filters[name].restore({k: None if v is None else np.asarray(v) for k, v in saved.items()})
        self.detector.restore(state.get("people", {}))


@functools.cache
def bundled_prior() -> PosePrior:
    """The learned pose prior, read once per worker."""
    return PosePrior()


class FrameFitter:
    """Body fit plus SMPL-X fingers and jaw; keeps the previous frame for warm starts. Each frame's output also
    keeps the MediaPipe landmarks it was fitted to (``landmarks (33, 6)``: pixels, visibility, world)."""

    landmarks = True

    def __init__(self, model: BodyModel, camera: Camera, betas: np.ndarray, settings,
                 temporal: float = 0.0):
        self.model, self.settings = model, settings
        prior = float(getattr(settings, "pose_prior", 0.0))
        self.body = BodyFitter(model, camera, betas, bundled_prior() if prior > 0 else None)
        self.weights = FitWeights(temporal=temporal, prior=PRIOR_WEIGHT * prior)
        self.previous: np.ndarray | None = None
        self.tips = finger_tips(model.shaped_vertices(betas), model.weights, self.body.rest) \
            if model.family == "smplx" else None

    def estimate(self, obs: Observation, iterations: int | None = None) -> dict:
        """A video frame (its first fit), or with ``iterations`` a photo (:meth:`checked`)."""
        if iterations is not None:
            return self.checked(obs, iterations)
        refitted = getattr(self.settings, "temporal_lifter", False)
        return self.fit(obs, FIRST_PASS_ITERATIONS if refitted else VIDEO_ITERATIONS)

    def checked(self, obs: Observation, iterations: int, start: np.ndarray | None = None) -> dict:
        """The frame fitted to ``obs.world``. Where that holds a lifter's points and the fit bends a knee or an elbow
        the wrong way (a limb read on the wrong side in depth), it is fitted again, from the same start, to
        MediaPipe's own world landmarks, and that fit is kept if it bends them right."""
        before = self.previous
        frame = self.fit(obs, iterations, start)
        if obs.measured_world is None or not bent_wrong(frame["poses"]):
            return frame
        lifted, self.previous = self.previous, before
        measured = self.fit(dataclasses.replace(obs, world=obs.measured_world, measured_world=None), iterations, start)
        if not bent_wrong(measured["poses"]):
            return measured
        self.previous = lifted
        return frame

    def state(self) -> dict:
        return {"previous": self.previous, "fixed": self.body.fixed}

    def restore(self, state: dict) -> None:
        if state.get("previous") is not None:
            self.previous = np.asarray(state["previous"])
            self.body.fixed[:] = np.asarray(state["fixed"])

    def refit(self, obs: Observation, poses: np.ndarray, trans: np.ndarray, first: bool) -> dict:
        """The frame fitted again to ``obs`` in a second pass over the clip, frame after frame, keeping the fingers,
        jaw and eyes of the first pass's ``poses (J*3,)``; ``first``: the clip's first frame, which starts from the
        first pass's pose and ``trans (3,)`` (the others from the frame before). The output keeps no landmarks."""
        poses = np.asarray(poses, np.float64)
        self.body.fixed[BODY_JOINTS:] = axis_angle_to_matrix(poses.reshape(-1, 3)[BODY_JOINTS:])
        start = None
        if first:
            self.previous = None
            start = np.concatenate([poses[:BODY_JOINTS * 3], np.asarray(trans, np.float64)])
        frame = self.checked(obs, REFIT_ITERATIONS, start)
        del frame["landmarks"]
        return frame

    def fit(self, obs: Observation, iterations: int, start: np.ndarray | None = None) -> dict:
        fit = self.body.fit(obs, self.previous, self.weights, iterations, start)
        self.previous = fit.params
        poses = fit.poses.reshape(-1, 3).copy()
        if self.tips is not None and self.settings.hands_and_face:
            self._hands_and_jaw(obs, fit.params, poses)
        joints = smpl_order(fit.joints, self.model.family)
        return {"poses": poses.ravel(), "trans": fit.trans, "joints": joints,
                "joints_2d": self.body.camera.project(joints), "confidence": fit.confidence,
                "landmarks": np.column_stack([obs.pose_2d, obs.visibility, obs.world]).astype(np.float32),
                "person_box": obs.box()}

    def joints(self, poses: np.ndarray, trans: np.ndarray) -> np.ndarray:
        """Camera-space SMPL-order joints ``(24, 3)`` of a full pose ``(J*3,)`` and translation."""
        return posed_joints(self.body.rest, self.model.parents, self.model.family, poses, trans)

    def _hands_and_jaw(self, obs: Observation, params: np.ndarray, poses: np.ndarray) -> None:
        world = self.body.world_rotations(params)
        for side, landmarks, wrist in (("left", obs.left_hand, 20), ("right", obs.right_hand, 21)):
            if landmarks is None:
                continue
            for joint, matrix in finger_rotations(side, landmarks, world[wrist], self.body.rest, self.model.parents,
                                                  self.tips[side]).items():
                self.body.fixed[joint] = matrix
        if obs.face is not None:
            self.body.fixed[22] = axis_angle_to_matrix(jaw_rotation(obs.face))
        poses[22:] = matrix_to_axis_angle(self.body.fixed[22:])


