"""The "reconstruct" job: photos and videos -> body parameters per frame -> a result file per input.

Runs in the worker. Videos are written in chunks as they go; a result folder is keyed by the input
file and the settings, so re-running the same job reuses a finished result or resumes a killed one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .. import media
from ..bodymodel.library import load_body
from ..bodymodel.model import BodyModel
from ..errors import JobCancelled, MediaError, PocketMocapError
from ..estimators.keypoints.estimator import KeypointEstimator
from ..estimators.keypoints.fit import Camera
from ..fileio import write_json_atomically
from ..rotations import axis_angle_to_quaternion, quaternion_to_axis_angle
from ..worker.context import TaskContext
from .results import ChunkStore, write_result
from .smoothing import OneEuroFilter

RESULT_VERSION = 2  # bump when results change meaning: old cached results are then not reused
SHAPE_FRAMES = 30  # frames whose limb lengths set a video's body shape
PHOTO_ITERATIONS = 15
ESTIMATORS = ("keypoints", "efficienthuman", "binaryhpe")


@dataclass(frozen=True)
class Settings:
    estimator: str = "keypoints"
    body_model: str = "open"
    body_file: str = ""
    gender: str = "neutral"
    fov_degrees: float = 55.0
    smoothing: float = 0.5
    hands_and_face: bool = True
    lifter: bool = False  # the learned 3D stage between the landmarks and the fit (keypoints estimator)
    person: int = 0
    weights: str = ""  # the network's weights file, for estimators that have one

    @classmethod
    def from_job(cls, job: dict) -> Settings:
        known = {key: job[key] for key in cls.__dataclass_fields__ if key in job}
        return cls(**known)

    @property
    def family(self) -> str:
        if self.body_model in ("smpl", "smplx"):
            return self.body_model
        return "smplx" if self.hands_and_face else "smpl"


def result_folder(cache_root: Path, path: Path, settings: Settings) -> Path:
    """``cache_root/results/<key>``: the key covers the input file (path, size, time) and the settings."""
    stat = path.stat()
    stamps = [Path(f).stat().st_mtime_ns if f and Path(f).is_file() else 0
              for f in (settings.body_file, settings.weights)]  # a retrained or replaced file changes results
    key = json.dumps([RESULT_VERSION, str(path.resolve()), stat.st_size, stat.st_mtime_ns, asdict(settings),
                      stamps], sort_keys=True)
    return cache_root / "results" / hashlib.sha1(key.encode()).hexdigest()[:16]


def run_reconstruct(job: dict, ctx: TaskContext) -> tuple[str, dict]:
    settings = Settings.from_job(job)
    if settings.estimator not in ESTIMATORS:
        raise PocketMocapError(f'There is no "{settings.estimator}" estimator; choose one of '
                               f'{", ".join(ESTIMATORS)}.')
    if settings.person != 0:
        raise PocketMocapError("This version reconstructs the most prominent person only (person 0).")
    if settings.estimator != "keypoints":
        usable, reason = _network(settings.estimator).weights_status(settings.weights)
        if not usable:
            raise PocketMocapError(reason)
        if settings.estimator == "binaryhpe" and settings.family != "smplx":
            raise PocketMocapError("BinaryHPE predicts SMPL-X (body, hands and face): choose the open body with "
                                   "hands and face, or an SMPL-X model file.")
    skipped: list[str] = []
    inputs = media.collect_inputs(job.get("inputs", []), skipped)
    for note in skipped:
        ctx.warn(note)
    model = load_body(settings.body_model, settings.family, settings.body_file, settings.gender)
    infos = media.probe_inputs(inputs, ctx.warn)  # with several inputs, an unreadable one is a warning
    cache_root = Path(job.get("cache_dir") or ctx.job_dir)
    run = Run(ctx, sum(info.frame_count for info in infos))
    results = []
    for info in infos:
        try:
            results.append(reconstruct_one(info, model, settings, result_folder(cache_root, info.path, settings), run))
        except MediaError as exc:
            if len(infos) == 1:
                raise
            ctx.warn(str(exc))  # one bad file in a folder does not stop the others
    if not results:
        raise MediaError("No person was found in any of the inputs.")
    ctx.progress(run.done, run.done, "", force=True)
    summary = {"results": results, "frames": run.done}
    listing = write_json_atomically(ctx.job_dir / "results.json", summary, durable=False)  # the job's scratch
    return str(listing), summary


class Run:
    """Progress across all inputs of a job."""

    def __init__(self, ctx: TaskContext, total: int):
        self.ctx, self.total, self.done = ctx, total, 0

    def step(self, name: str, frames: int = 1) -> None:
        self.done += frames
        self.ctx.progress(self.done, max(self.total, self.done), name)


def reconstruct_one(info: media.MediaInfo, model: BodyModel, settings: Settings, folder: Path, run: Run) -> dict:
    final = folder / "result.npz"
    folder.mkdir(parents=True, exist_ok=True)
    if final.is_file():
        notes = _read_notes(folder)
        for warning in notes.get("warnings", []):  # a reused result still says what was wrong with its input
            run.ctx.warn(warning)
        run.step(info.path.name, info.frame_count)
        return {"input": str(info.path), "result": str(final), "frames": notes.get("frames", info.frame_count),
                "reused": True}
    warnings: list[str] = []
    fps = info.fps or 30.0
    if info.kind == "photo":
        frames, betas, camera = reconstruct_photo(info, model, settings)
        run.step(info.path.name)
    else:
        video = VideoReconstruction(info, model, settings, folder / "chunks", run)
        frames, betas, camera = video.run()
        fps, warnings = video.fps, video.warnings
    write_result(final, frames, betas=betas, fps=fps, family=model.family, gender=settings.gender,
                 intrinsics=camera.matrix(), extra={"source": str(info.path), "estimator": settings.estimator,
                                                    "body_model": settings.body_model})
    write_json_atomically(folder / "notes.json", {"frames": int(len(frames["confidence"])), "warnings": warnings})
    return {"input": str(info.path), "result": str(final), "frames": int(len(frames["confidence"])),
            "reused": False}


def _read_notes(folder: Path) -> dict:
    try:
        notes = json.loads((folder / "notes.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return notes if isinstance(notes, dict) else {}


def reconstruct_photo(info, model, settings) -> tuple[dict, np.ndarray, Camera]:
    (_, rgb), = media.iter_frames(info.path)
    camera = Camera.from_fov(info.width, info.height, settings.fov_degrees)
    with estimator_for(settings, model, camera, video=False) as estimator:
        item = estimator.observe(rgb, search=True)
        if item is None:
            raise MediaError(f'No person was found in "{info.path.name}". Use a photo where the whole body, or '
                             'at least head and shoulders, is clearly visible.')
        betas = estimator.shape([item])
        frame = estimator.fitter(betas, temporal=0.0).estimate(item, PHOTO_ITERATIONS)
    return {key: np.asarray([value]) for key, value in frame.items()}, betas, camera


def estimator_for(settings: Settings, model: BodyModel, camera: Camera, video: bool, fps: float = 30.0):
    if settings.estimator == "efficienthuman":
        return _network("efficienthuman").EfficientHumanEstimator(settings, model, camera, video)
    if settings.estimator == "binaryhpe":
        return _network("binaryhpe").BinaryHPEEstimator(settings, model, camera, video)
    return KeypointEstimator(settings, model, camera, video, fps)


def _network(name: str):
    """The run-time module of a network estimator (imported on demand: onnxruntime loads with it)."""
    if name == "binaryhpe":
        from ..estimators import binaryhpe

        return binaryhpe
    from ..estimators import efficienthuman

    return efficienthuman


class VideoReconstruction:
    """Frame by frame with the estimator's tracking, smoothed, written in chunks; resumes where it stopped."""

    def __init__(self, info: media.MediaInfo, model: BodyModel, settings: Settings, chunks: Path, run: Run):
        self.info, self.model, self.settings, self.run_progress = info, model, settings, run
        self.store = ChunkStore(chunks)
        self.camera = Camera.from_fov(info.width, info.height, settings.fov_degrees)
        self.chunk_frames = max(1, round((info.fps or 30.0) * 2))
        self.filters = {name: OneEuroFilter(info.fps or 30.0, settings.smoothing) for name in ("rotations", "trans")}
        self.last: dict | None = None
        self.video = media.VideoFrames(info.path)  # keeps each decoded frame's time
        self.fps = info.fps or 30.0  # of the result: the container's, or the one a variable rate is resampled to
        self.warnings: list[str] = []

    def run(self) -> tuple[dict, np.ndarray, Camera]:
        state = self.store.state()
        start = self.store.next_frame()
        self.run_progress.step(self.info.path.name, start)
        with estimator_for(self.settings, self.model, self.camera, True, self.info.fps or 30.0) as estimator:
            frames = ((index, estimator.observe(rgb)) for index, rgb in self._frames_after(start))
            pending = [] if "betas" in state else _take(frames, SHAPE_FRAMES)
            betas = np.asarray(state["betas"], np.float32) if "betas" in state else \
                estimator.shape([item for _, item in pending])
            fitter = estimator.fitter(betas)
            self._restore(state, estimator, fitter)
            try:
                self._fit_all(estimator, fitter, _chain(pending, frames), start, betas)
            except JobCancelled:
                self._keep_partial(betas)
                raise
        finished = self.store.frames()
        if warning := media.truncation_warning(self.info, len(finished["confidence"])):
            self._warn(warning)
        if len(finished["confidence"]) == 0 or not np.any(finished["confidence"] > 0):
            raise MediaError(f'No person was found in any frame of "{self.info.path.name}".')
        missing = int(np.sum(finished["confidence"] == 0))
        if missing:
            self._warn(f'No person was found in {missing} of the {len(finished["confidence"])} frames of '
                       f'"{self.info.path.name}"; those frames hold the last pose (confidence 0).')
        return self._at_constant_rate(finished), betas, self.camera

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        self.run_progress.ctx.warn(message)

    def _at_constant_rate(self, frames: dict) -> dict:
        """A variable-frame-rate video's frames resampled by their times to its most common frame interval (each
        output frame is the decoded frame nearest its time), so that keys at a constant rate fall where the
        frames were shown."""
        times = frames.pop("time", None)
        resampled = None if times is None else media.constant_rate(times)
        if resampled is None:
            return frames
        indices, self.fps = resampled
        steps = np.diff(times)[np.diff(times) > 0] * 1000
        self._warn(f'"{self.info.path.name}" has a variable frame rate (its frames are {steps.min():.0f} to '
                   f"{steps.max():.0f} ms apart): its {len(times)} frames were placed at their times, as "
                   f"{len(indices)} frames at {self.fps:.3g} fps.")
        return {key: value[indices] for key, value in frames.items()}

    def _keep_partial(self, betas: np.ndarray) -> None:
        """On cancel: the frames finished so far as ``partial.npz``, for a user who wants to keep them."""
        finished = self.store.frames()
        if len(finished["confidence"]):
            partial = self.store.folder.parent / "partial.npz"
            write_result(partial, finished, betas=betas, fps=self.info.fps or 30.0, family=self.model.family,
                         gender=self.settings.gender, intrinsics=self.camera.matrix(),
                         extra={"source": str(self.info.path), "estimator": self.settings.estimator,
                                "body_model": self.settings.body_model})
            self.run_progress.ctx.partial_result = str(partial)

    def _frames_after(self, start: int):
        """(index, rgb) from frame ``start``; earlier frames are decoded and skipped so that no frame is lost
        or repeated whatever the codec's seeking does."""
        for index, rgb in self.video:
            if index >= start:
                yield index, rgb

    def _restore(self, state: dict, estimator, fitter) -> None:
        if "last" in state:
            fitter.restore(state.get("fitter", {}))
            estimator.restore(state.get("estimator", {}))
            self.last = {key: np.asarray(value) for key, value in state["last"].items()}
        for name, saved in state.get("filters", {}).items():
            self.filters[name].restore({k: None if v is None else np.asarray(v) for k, v in saved.items()})

    def _fit_all(self, estimator, fitter, items, start: int, betas: np.ndarray) -> None:
        batch: dict[str, list] = {}
        batch_start = start
        try:
            for index, item in items:
                self.run_progress.ctx.check_cancelled()
                self.last = self._fit_frame(fitter, item)
                for key, value in self.last.items():
                    batch.setdefault(key, []).append(value)
                batch.setdefault("time", []).append(self.video.times[index])
                self.run_progress.step(self.info.path.name)
                if len(batch["confidence"]) >= self.chunk_frames:
                    self._flush(batch_start, batch, estimator, fitter, betas)
                    batch_start, batch = index + 1, {}
        except JobCancelled:
            if batch:
                self._flush(batch_start, batch, estimator, fitter, betas)
            raise
        if batch:
            self._flush(batch_start, batch, estimator, fitter, betas)

    def _fit_frame(self, fitter, item) -> dict:
        if item is None:  # no person this frame: hold the last pose (or rest before the first), confidence 0
            if self.last is None:
                empty = len(self.model.parents) * 3
                frame = {"poses": np.zeros(empty), "trans": np.zeros(3), "joints": np.zeros((24, 3)),
                         "joints_2d": np.zeros((24, 2)), "confidence": 0.0, "person_box": np.zeros(4)}
                if getattr(fitter, "expressions", 0):  # an estimator that predicts the face
                    frame["expression"] = np.zeros(fitter.expressions)
                return frame
            return dict(self.last, confidence=0.0)
        return self._smooth_output(fitter, fitter.estimate(item))

    def _smooth_output(self, fitter, frame: dict) -> dict:
        """One-Euro on the fitted rotations as quaternions (sign kept continuous) and on the translation;
        joints are recomputed from the smoothed pose so that they stay consistent with it."""
        quaternions = axis_angle_to_quaternion(frame["poses"].reshape(-1, 3).astype(np.float64))
        previous = self.filters["rotations"].value
        if previous is not None:
            quaternions = np.where(np.sum(quaternions * previous, axis=1, keepdims=True) < 0, -quaternions,
                                   quaternions)
        smoothed = self.filters["rotations"](quaternions)
        smoothed /= np.linalg.norm(smoothed, axis=1, keepdims=True)
        poses = quaternion_to_axis_angle(smoothed).ravel()
        trans = self.filters["trans"](frame["trans"])
        joints = fitter.joints(poses, trans)
        return dict(frame, poses=poses.astype(np.float32), trans=trans.astype(np.float32), joints=joints,
                    joints_2d=self.camera.project(joints))

    def _flush(self, start: int, batch: dict, estimator, fitter, betas: np.ndarray) -> None:
        state = {"betas": betas, "fitter": fitter.state(), "estimator": estimator.state(), "last": self.last,
                 "filters": {name: f.state() for name, f in self.filters.items()}}
        self.store.write(start, batch, state)


def _take(items, count: int) -> list:
    taken = []
    for item in items:
        taken.append(item)
        if len(taken) >= count:
            break
    return taken


def _chain(first: list, rest):
    yield from first
    yield from rest
