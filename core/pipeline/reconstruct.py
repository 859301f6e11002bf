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
from ..estimators.keypoints.fit import Camera, Observation
from ..fileio import write_json_atomically
from ..grounding.camera_motion import BackgroundMotion
from ..tracking.detect import MAX_PEOPLE
from ..worker.context import TaskContext
from .readahead import ReadAhead
from .results import ChunkStore, write_result
from .smoothing import OneEuroFilter, backward_pass, filtered_rotations

RESULT_VERSION = 6  # bump when results change meaning: old cached results are then not reused (6: the second fit)
SHAPE_FRAMES = 30  # frames whose limb lengths set a video's body shape, at most
SHAPE_SECONDS = 1.0  # and at most this much of the video: at a low frame rate the fit need not wait 30 frames
READ_AHEAD_BYTES = 64 * 2**20  # decoded frames waiting for the fit: as many as fit in this, 2 to SHAPE_FRAMES
PHOTO_ITERATIONS = 15
MOTION_EVERY = 3  # the background's motion (is the camera still?) is measured on every third frame
UPSIDE_DOWN_M = 0.1  # the neck this far below the pelvis: an upside-down body
UPSIDE_DOWN_CONFIDENCE = 0.3  # its confidence is scaled by this
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
    lifter_weights: str = ""  # another trained lifter file instead of the bundled one (benchmarks)
    temporal_lifter: bool = True  # keypoints estimator: the temporal lifter's 3D points in the fit (a video: a second
    # fit to them, read over 27 frames; a photo: the fit reads them, the photo read as a person holding still)
    pose_prior: float = 1.0  # the learned pose prior in the fit, 0 (off) to 3 (keypoints estimator)
    foot_lock: float = 1.0  # video: 0 (off) to 1 (a planted foot stays put)
    contacts: str = "learned"  # video: foot contact from the learned model on the fitted feet, the temporal lifter
    # reading the landmarks ("lifted"; the learned model where the estimator keeps none), the mean of the two
    # ("both"), or "rule" (height, speed)
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
                "people": notes.get("people", []), "reused": True}
    fps = info.fps or 30.0
    grounding: dict = {}  # a video's floor and world frame
    if info.kind == "photo":
        people, camera, warnings = reconstruct_photo(info, model, settings)
        for warning in warnings:
            run.ctx.warn(warning)
        run.step(info.path.name)
    else:
        video = VideoReconstruction(info, model, settings, folder / "chunks", run)
        people, camera = video.run()
        fps, warnings = video.fps, video.warnings
        grounding = ground_video(people, model, camera, fps, settings, info.path.name, warnings, run)
    write_people(final, people, fps=fps, family=model.family, gender=settings.gender, intrinsics=camera.matrix(),
                 extra={"source": str(info.path), "estimator": settings.estimator, "body_model": settings.body_model}
                 | grounding)
    frames = int(len(people[0].frames["confidence"]))
    listed = [person.summary() for person in people]
    write_json_atomically(folder / "notes.json", {"frames": frames, "people": listed, "warnings": warnings})
    return {"input": str(info.path), "result": str(final), "frames": frames, "people": listed, "reused": False}


def ground_video(people: list, model: BodyModel, camera: Camera, fps: float, settings: Settings, name: str,
                 warnings: list[str], run: Run) -> dict:
    """Everyone on one floor, in one world, feet locked (``people``' frames are replaced); returns the clip's
    grounding fields for the result file."""
    from ..grounding.contact_model import ContactModel
    from ..grounding.ground import ground_people  # imported while the first frames are read (VideoReconstruction)

    scores = lifted_contacts(people, camera, fps) if settings.contacts in ("lifted", "both") else None
    contacts = ContactModel() if settings.contacts != "rule" else None
    grounded = ground_people([person.frames for person in people], [person.betas for person in people], model,
                             camera, fps, settings.foot_lock, name, contacts, scores,
                             0.5 if settings.contacts == "both" else 1.0)
    for person, frames in zip(people, grounded.people, strict=True):
        person.frames = frames
    for warning in grounded.warnings:
        warnings.append(warning)
        run.ctx.warn(warning)
    return grounded.fields


def lifted_contacts(people: list, camera: Camera, fps: float) -> list | None:
    """Each person's foot contacts from the temporal lifter, read from the landmarks their fit kept; ``None``
    where the estimator keeps none (the network estimators), so that the learned contact model finds them."""
    from ..lifting.temporal import TemporalLifter

    if any("landmarks" not in person.frames for person in people):
        return None
    lifter = TemporalLifter()
    return [lifter.contacts(person.frames["landmarks"], np.asarray(person.frames["presence"], bool), camera.focal,
                            (camera.cx, camera.cy), fps) for person in people]


@dataclass
class Person:
    """One person's reconstruction: ``frames`` in the one-person layout (``poses (F, J*3)``...) with
    ``presence (F,)`` bool, the identity's fixed ``betas``, and its track id."""

    track_id: int
    frames: dict
    betas: np.ndarray

    def summary(self) -> dict:
        seen = np.flatnonzero(self.frames["presence"])
        return {"track_id": int(self.track_id), "frames_seen": int(len(seen)),
                "first_frame": int(seen[0]) if len(seen) else 0}


def write_people(path: Path, people: list[Person], **fields) -> Path:
    """The result file: one person in the one-person layout, several with the leading person axis."""
    if len(people) == 1:
        frames = {key: value for key, value in people[0].frames.items() if key != "presence"}
        return write_result(path, frames, betas=people[0].betas, **fields)
    frames = {key: np.stack([person.frames[key] for person in people]) for key in people[0].frames}
    return write_result(path, frames, betas=np.stack([person.betas for person in people]), **fields,
                        track_ids=np.asarray([person.track_id for person in people]))


def _read_notes(folder: Path) -> dict:
    try:
        notes = json.loads((folder / "notes.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return notes if isinstance(notes, dict) else {}


def reconstruct_photo(info, model, settings) -> tuple[list[Person], Camera, list[str]]:
    (_, rgb), = media.iter_frames(info.path)
    camera = Camera.from_fov(info.width, info.height, settings.fov_degrees)
    warnings = []
    with estimator_for(settings, model, camera, video=False) as estimator:
        found = observe_people(estimator, rgb, search=True)
        if not found:
            raise MediaError(f'No person was found in "{info.path.name}". Use a photo where the whole body, or '
                             'at least head and shoulders, is clearly visible.')
        if getattr(estimator, "crowded", False):
            warnings.append(crowd_warning(info.path.name))
        people = []
        for track_id, item in sorted(found.items()):
            betas = estimator.shape([item])
            frame = estimator.fitter(betas, temporal=0.0).estimate(item, PHOTO_ITERATIONS)
            if upside_down(frame["joints"], frame["joints_2d"]):
                frame["confidence"] = float(frame["confidence"]) * UPSIDE_DOWN_CONFIDENCE
                warnings.append(f'The person found in "{info.path.name}" is upside down (head below hips), as when '
                                "a photo shows only legs, so their confidence was lowered: use a photo that shows "
                                "the head and shoulders, unless they really are upside down.")
            frames = {key: np.asarray([value]) for key, value in frame.items()} | {"presence": np.ones(1, bool)}
            people.append(Person(track_id, frames, betas))
    return people, camera, warnings


def upside_down(joints: np.ndarray, joints_2d: np.ndarray) -> bool:
    """A fitted body (SMPL-order ``joints (24, 3)`` camera space, y down, and their pixels) whose neck is well
    below its pelvis, in 3D and in the image: what MediaPipe makes of a photo of legs alone (it draws a whole
    body, head down), and rarely a real pose."""
    return bool(joints[12, 1] - joints[0, 1] > UPSIDE_DOWN_M and joints_2d[15, 1] > joints_2d[0, 1])


def observe_people(estimator, rgb: np.ndarray, search: bool = False) -> dict:
    """``{track id: observation}`` of everyone the estimator sees; an estimator that follows one person gives
    that person as person 1."""
    if hasattr(estimator, "observe_people"):
        return estimator.observe_people(rgb)
    item = estimator.observe(rgb, search=search)
    return {} if item is None else {1: item}


def crowd_warning(name: str) -> str:
    return (f'More than {MAX_PEOPLE} people are in "{name}": the {MAX_PEOPLE} found first (the most prominent) '
            "are reconstructed, the others are left out.")


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


LANDMARK_POINTS = 33
MIN_TRACK_SECONDS = 0.5  # an identity seen for less (a passer-by's glimpse, a false detection) is left out
REFITTED = ("poses", "trans", "joints", "joints_2d", "confidence")  # what a second fit replaces
MAX_TRACKS = 2 * MAX_PEOPLE  # identities in one video (people come and go); later ones are left out, with a warning


def rest_frame(joints: int, fitter) -> dict:
    """A frame before a person is first seen: the rest pose at the camera, confidence 0, absent."""
    frame = {"poses": np.zeros(joints * 3), "trans": np.zeros(3), "joints": np.zeros((24, 3)),
             "joints_2d": np.zeros((24, 2)), "confidence": 0.0, "person_box": np.zeros(4), "presence": 0.0}
    if getattr(fitter, "expressions", 0):  # an estimator that predicts the face
        frame["expression"] = np.zeros(fitter.expressions)
    if getattr(fitter, "landmarks", False):  # an estimator that keeps the landmarks it fitted to
        frame["landmarks"] = np.zeros((LANDMARK_POINTS, 6))
    return frame


class Lane:
    """One identity's fitting across a video: its fixed body shape, its fitter (warm starts), the smoothing of
    its output and its last pose (held, confidence 0, where the person is not seen)."""

    def __init__(self, track_id: int, betas: np.ndarray, fitter, fps: float, smoothing: float, joints: int):
        self.track_id, self.betas, self.fitter, self.joints = track_id, betas, fitter, joints
        self.filters = {name: OneEuroFilter(fps, smoothing) for name in ("rotations", "trans")}
        self.last: dict | None = None

    def state(self) -> dict:
        return {"betas": self.betas, "fitter": self.fitter.state(), "last": self.last,
                "filters": {name: f.state() for name, f in self.filters.items()}}

    def restore(self, state: dict) -> None:
        self.fitter.restore(state.get("fitter", {}))
        if state.get("last") is not None:
            self.last = {key: np.asarray(value) for key, value in state["last"].items()}
        for name, saved in state.get("filters", {}).items():
            self.filters[name].restore({k: None if v is None else np.asarray(v) for k, v in saved.items()})

    def centred(self, frames: dict, camera: Camera, fps: float, strength: float) -> None:
        """The clip's pass back in time (``backward_pass``) over each run of frames this person is seen in, in
        ``frames`` (this person's ``(F, ...)`` arrays); their joints recomputed from the smoothed pose."""
        present = np.asarray(frames["presence"]) > 0
        edges = np.flatnonzero(np.diff(np.concatenate([[0], present.astype(np.int8), [0]])))
        for start, stop in zip(edges[::2], edges[1::2], strict=True):
            poses, trans = backward_pass(frames["poses"][start:stop], frames["trans"][start:stop], fps, strength)
            joints = np.stack([self.fitter.joints(p, t) for p, t in zip(poses, trans, strict=True)])
            frames["poses"][start:stop], frames["trans"][start:stop] = poses, trans
            frames["joints"][start:stop], frames["joints_2d"][start:stop] = joints, camera.project(joints)

    def refit(self, frames: dict, points: np.ndarray, camera: Camera, size: tuple[int, int], fps: float,
              smoothing: float, ctx: TaskContext) -> None:
        """This person's seen frames (``frames``: their ``(F, ...)`` arrays, changed in place) fitted again in order
        to the landmark ``points (F, 33, 3)`` in place of MediaPipe's world landmarks, fingers and jaw kept, and
        smoothed forward afresh (:meth:`centred` runs back over them after); frames without the person hold the
        last refitted pose."""
        self.filters = {name: OneEuroFilter(fps, smoothing) for name in ("rotations", "trans")}
        last = None
        for index, present in enumerate(np.asarray(frames["presence"]) > 0):
            if not present:
                if last is not None:
                    for key in ("poses", "trans", "joints", "joints_2d"):
                        frames[key][index] = last[key]
                continue
            ctx.check_cancelled()
            landmarks = np.asarray(frames["landmarks"][index], np.float64)
            obs = Observation(*size, landmarks[:, :2], landmarks[:, 2], points[index], measured_world=landmarks[:, 3:])
            refitted = self.fitter.refit(obs, frames["poses"][index], frames["trans"][index], last is None)
            last = self._smooth_output(refitted, camera)
            for key in REFITTED:
                frames[key][index] = last[key]

    def absent(self) -> dict:
        """A frame without this person: the last pose held, or the rest pose before the first; confidence 0."""
        return rest_frame(self.joints, self.fitter) if self.last is None else dict(self.last, confidence=0.0,
                                                                                    presence=0.0)

    def fit(self, item, camera: Camera) -> dict:
        """This frame's pose from observation ``item`` (or the held pose when it is ``None``)."""
        if item is None:
            return self.absent()
        self.last = dict(self._smooth_output(self.fitter.estimate(item), camera), presence=1.0)
        return self.last

    def _smooth_output(self, frame: dict, camera: Camera) -> dict:
        """One-Euro on the fitted rotations as quaternions (sign kept continuous) and on the translation;
        joints are recomputed from the smoothed pose so that they stay consistent with it. (Once the clip is
        done, :meth:`centred` runs the filter back over it.)"""
        poses = filtered_rotations(self.filters["rotations"], frame["poses"])
        trans = self.filters["trans"](frame["trans"])
        joints = self.fitter.joints(poses, trans)
        return dict(frame, poses=poses.astype(np.float32), trans=trans.astype(np.float32), joints=joints,
                    joints_2d=camera.project(joints))


class VideoReconstruction:
    """Frame by frame with the estimator's tracking, one lane per identity, smoothed, written in chunks; resumes
    where it stopped. Frames are decoded and observed on a thread of their own, ahead of the fit (``ReadAhead``):
    the estimator's state is taken with each frame, so that a chunk resumes from its own last frame."""

    def __init__(self, info: media.MediaInfo, model: BodyModel, settings: Settings, chunks: Path, run: Run):
        self.info, self.model, self.settings, self.run_progress = info, model, settings, run
        self.store = ChunkStore(chunks)
        self.camera = Camera.from_fov(info.width, info.height, settings.fov_degrees)
        self.chunk_frames = max(1, round((info.fps or 30.0) * 2))
        self.shape_frames = max(1, min(SHAPE_FRAMES, round((info.fps or 30.0) * SHAPE_SECONDS)))
        self.lanes: dict[int, Lane] = {}
        self.window: dict[int, list] = {}  # track id -> its observations in the first frames: its body shape
        self.video = media.VideoFrames(info.path)  # keeps each decoded frame's time
        self.fps = info.fps or 30.0  # of the result: the container's, or the one a variable rate is resampled to
        self.warnings: list[str] = []
        self.background = BackgroundMotion(MOTION_EVERY)  # is the camera still? (for the world trajectory)
        self.motion: dict[int, float] = {}  # frame index -> the background's motion since the frame before
        self._said: set[str] = set()

    def run(self) -> tuple[list[Person], Camera]:
        state = self.store.state()
        start = self.store.next_frame()
        self.run_progress.step(self.info.path.name, start)
        with estimator_for(self.settings, self.model, self.camera, True, self.info.fps or 30.0) as estimator:
            if "lanes" in state:
                estimator.restore(state.get("estimator", {}))
                for track_id, saved in state["lanes"].items():
                    self._new_lane(estimator, int(track_id), np.asarray(saved["betas"], np.float32)).restore(saved)
            depth = min(SHAPE_FRAMES, max(2, READ_AHEAD_BYTES // max(1, self.info.width * self.info.height * 3)))
            with ReadAhead(self._observed(estimator, start), depth) as observed:
                _import_what_comes_later()
                frames = self._taken(observed)
                pending = [] if "lanes" in state else _take(frames, self.shape_frames)
                for _, people, _ in pending:
                    for track_id, item in people.items():
                        self.window.setdefault(track_id, []).append(item)
                try:
                    self._fit_all(estimator, _chain(pending, frames), start)
                except JobCancelled:
                    self._keep_partial()
                    raise
        return self._finished(), self.camera

    def _observed(self, estimator, start: int):
        """On the read-ahead thread: ``(index, rgb, people, crowded, estimator state)`` of each frame from
        ``start``; frames before it are decoded and skipped, so that no frame is lost or repeated whatever the
        codec's seeking does."""
        with ReadAhead(self.video, 2) as decoded:  # the next frames decoded meanwhile, on a thread of their own
            for index, rgb in decoded:
                if index >= start:
                    people = observe_people(estimator, rgb)
                    yield index, rgb, people, bool(getattr(estimator, "crowded", False)), estimator.state()

    def _taken(self, observed):
        """``(index, people, estimator state)`` of each observed frame, as the fit takes it: the background's
        motion is measured then, leaving out the largest person as last fitted."""
        for index, rgb, people, crowded, state in observed:
            seen = [lane.last["person_box"] for lane in self.lanes.values()
                    if lane.last is not None and lane.last["confidence"] > 0]
            box = max(seen, key=lambda b: float(np.prod(b[2:] - b[:2]))) if seen else None  # the largest person
            self.motion[index] = self.background(rgb, box)
            if crowded:
                self._warn_once(crowd_warning(self.info.path.name))
            yield index, people, state

    def _new_lane(self, estimator, track_id: int, betas: np.ndarray) -> Lane:
        lane = Lane(track_id, betas, estimator.fitter(betas), self.info.fps or 30.0, self.settings.smoothing,
                    len(self.model.parents))
        self.lanes[track_id] = lane
        return lane

    def _finished(self) -> list[Person]:
        ids, frames = self.store.people()
        count = frames["confidence"].shape[-1] if "confidence" in frames else 0
        if warning := media.truncation_warning(self.info, count):
            self._warn(warning)
        if not len(ids) or not np.any(frames["presence"] > 0):
            raise MediaError(f'No person was found in any frame of "{self.info.path.name}".')
        frames = self._at_constant_rate(frames)
        if self.settings.temporal_lifter and "landmarks" in frames:
            try:
                self._refit(ids, frames)
            except JobCancelled:
                self._keep_partial()
                raise
        self._centre(ids, frames)
        people = self._people(ids, frames)
        self._report_gaps(people)
        return people

    def _refit(self, ids: np.ndarray, frames: dict) -> None:
        """Every person's frames fitted again (in place in ``frames``) to the temporal lifter's 3D, which it reads
        from the landmarks the first fit kept, 27 frames at a time."""
        from ..lifting.temporal import TemporalLifter

        lifter = TemporalLifter()
        for row, track_id in enumerate(ids):
            own = {key: frames[key][row] for key in REFITTED + ("presence", "landmarks")}
            seen = own["presence"] > 0
            if seen.any():
                points, _ = lifter.read(own["landmarks"], seen, self.camera.focal, (self.camera.cx, self.camera.cy),
                                        self.fps)
                self.lanes[int(track_id)].refit(own, points, self.camera, (self.info.width, self.info.height),
                                                self.fps, self.settings.smoothing, self.run_progress.ctx)

    def _centre(self, ids: np.ndarray, frames: dict) -> None:
        """Every person's smoothing run back over the finished clip (in place in ``frames``): no lag, less jitter."""
        if self.settings.smoothing <= 0:
            return
        for row, track_id in enumerate(ids):
            own = {key: frames[key][row] for key in ("poses", "trans", "joints", "joints_2d", "presence")}
            self.lanes[int(track_id)].centred(own, self.camera, self.fps, self.settings.smoothing)

    def _people(self, ids: np.ndarray, frames: dict, leave_out: bool = True) -> list[Person]:
        """The lanes as people; identities seen under MIN_TRACK_SECONDS are left out (unless nobody is longer)."""
        shared = {key: frames[key] for key in ("time", "background_motion") if key in frames}
        people = []
        for row, track_id in enumerate(ids):
            own = {key: value[row] for key, value in frames.items() if key not in shared}
            own["presence"] = own["presence"] > 0
            people.append(Person(int(track_id), own | shared, self.lanes[int(track_id)].betas))
        people.sort(key=lambda person: person.track_id)
        seen = [int(person.frames["presence"].sum()) for person in people]
        enough = min(frames["presence"].shape[-1], max(3, round(MIN_TRACK_SECONDS * self.fps)))
        kept = [person for person, count in zip(people, seen, strict=True) if count >= enough]
        if not leave_out or not kept:
            return people if not kept else kept
        if len(kept) < len(people):
            self._warn(f'{len(people) - len(kept)} of the people found in "{self.info.path.name}" were seen for '
                       f"under {MIN_TRACK_SECONDS:g} s (a glimpse or a false detection) and are left out.")
        return kept

    def _report_gaps(self, people: list[Person]) -> None:
        name = self.info.path.name
        total = len(people[0].frames["presence"])
        if len(people) == 1:
            missing = int(np.sum(~people[0].frames["presence"]))
            if missing:
                self._warn(f'No person was found in {missing} of the {total} frames of "{name}"; those frames hold '
                           "the last pose (confidence 0).")
            return
        partly = [f"person {number} in {int(person.frames['presence'].sum())}"
                  for number, person in enumerate(people, start=1) if not person.frames["presence"].all()]
        if partly:
            self._warn(f'{len(people)} people were found in "{name}"; not in every one of its {total} frames: '
                       f"{', '.join(partly)}. Where a person is not seen the rig holds their last pose, or the rest "
                       "pose before they appear (confidence 0).")

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        self.run_progress.ctx.warn(message)

    def _warn_once(self, message: str) -> None:
        if message not in self._said:
            self._said.add(message)
            self._warn(message)

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
        return {key: value[indices] if key == "background_motion" else value[:, indices]
                for key, value in frames.items()}

    def _keep_partial(self) -> None:
        """On cancel: the frames finished so far as ``partial.npz``, for a user who wants to keep them."""
        ids, frames = self.store.people()
        if len(ids):
            frames.pop("time", None)
            partial = self.store.folder.parent / "partial.npz"
            write_people(partial, self._people(ids, frames, leave_out=False), fps=self.info.fps or 30.0,
                         family=self.model.family, gender=self.settings.gender, intrinsics=self.camera.matrix(),
                         extra={"source": str(self.info.path), "estimator": self.settings.estimator,
                                "body_model": self.settings.body_model})
            self.run_progress.ctx.partial_result = str(partial)

    def _fit_all(self, estimator, items, start: int) -> None:
        """Fit ``items`` ``(index, people, estimator state)``, writing a chunk every ``chunk_frames`` frames (and
        the frames done when cancelled) with the states to resume from after its last frame."""
        batch: dict[int, dict[str, list]] = {}
        shared: dict[str, list] = {}
        batch_start, state = start, {}
        try:
            for index, people, observed_state in items:
                self.run_progress.ctx.check_cancelled()
                for track_id in people:
                    if track_id not in self.lanes:
                        self._start_lane(estimator, track_id, people[track_id])
                rows = len(shared.get("time", []))
                for track_id, lane in self.lanes.items():
                    frame = lane.fit(people.get(track_id), self.camera)
                    lane_batch = batch.setdefault(track_id, {})
                    if not lane_batch and rows:  # a new person in this chunk: absent in its earlier frames
                        for key, value in rest_frame(lane.joints, lane.fitter).items():
                            lane_batch[key] = [value] * rows
                    for key, value in frame.items():
                        lane_batch.setdefault(key, []).append(value)
                shared.setdefault("time", []).append(self.video.times[index])
                shared.setdefault("background_motion", []).append(self.motion.pop(index, np.nan))
                self.run_progress.step(self.info.path.name)
                state = observed_state  # the estimator's, after the last frame of the batch
                if len(shared["time"]) >= self.chunk_frames:
                    self._flush(batch_start, batch, shared, state)
                    batch_start, batch, shared = index + 1, {}, {}
        except JobCancelled:
            if shared:
                self._flush(batch_start, batch, shared, state)
            raise
        if shared:
            self._flush(batch_start, batch, shared, state)

    def _start_lane(self, estimator, track_id: int, item) -> None:
        if len(self.lanes) >= MAX_TRACKS:
            self._warn_once(f'More than {MAX_TRACKS} different people appear in "{self.info.path.name}": the first '
                            f"{MAX_TRACKS} are reconstructed, later ones are left out.")
            return
        betas = estimator.shape(self.window.pop(track_id, None) or [item])  # fixed for this identity from here on
        self._new_lane(estimator, track_id, betas)

    def _flush(self, start: int, batch: dict, shared: dict, estimator_state: dict) -> None:
        state = {"estimator": estimator_state, "lanes": {str(k): lane.state() for k, lane in self.lanes.items()}}
        arrays = {"track_id": list(batch)} | shared
        if batch:
            for key in next(iter(batch.values())):
                arrays[key] = [lane_batch[key] for lane_batch in batch.values()]
        else:  # nobody yet: an empty person axis keeps the frame count
            arrays |= {"confidence": np.zeros((0, len(shared["time"]))), "presence": np.zeros((0, len(shared["time"])))}
        self.store.write(start, arrays, state)


def _import_what_comes_later() -> None:
    """The modules that the tracker's second frame and the grounding at the end need (scipy's, about 0.25 s),
    imported on this thread while the read-ahead thread reads the first frames, in the networks' time, not
    after it."""
    import scipy.optimize  # noqa: F401 - core/tracking/tracker.py's assignment

    from ..grounding import ground  # noqa: F401


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
