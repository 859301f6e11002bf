"""Ground one clip: everyone on one floor, in one world frame, contacts found, feet locked.

``ground_people`` takes the finished frames of everyone in a clip (camera space) and returns them grounded on
one floor, with the result file's grounding fields; ``ground_clip`` does it for one person.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bodymodel.model import BodyModel
from ..rotations import axis_angle_to_matrix, matrix_to_axis_angle
from .camera_motion import camera_moves
from .contact import contact_frames, contact_scores, floor_speed, planted_heights, smooth
from .contact_model import ContactModel, FootEvidence, contact_features, image_track
from .floor import Floor, body_up, estimate_floor, world_from_camera
from .lock import lock_feet
from .skeleton import FootSkeleton, Posed, to_axis_angle

MIN_FRAMES = 5  # frames with a person needed to tell a floor
STEADY_SECONDS = 0.1  # the feet's heights and speeds are read from their path smoothed this much (no lag)


@dataclass(frozen=True)
class Grounded:
    people: list  # each person's frames with poses, trans, joints, joints_2d grounded, plus the per-frame fields
    fields: dict  # the clip's fields: floor, world_from_camera, camera_height, camera_pitch, foot_lock
    warnings: list

    @property
    def frames(self) -> dict:
        return self.people[0]


@dataclass(eq=False)  # compared by identity
class _Body:
    """One person while grounding: frames, skeleton, local rotations, translation and which frames are seen."""

    frames: dict
    skeleton: FootSkeleton
    local: np.ndarray
    trans: np.ndarray
    valid: np.ndarray

    def posed(self) -> Posed:
        return self.skeleton.pose_local(self.local, self.trans)


def ground_clip(frames: dict, model: BodyModel, betas: np.ndarray, camera, fps: float, lock_strength: float,
                name: str, contacts: ContactModel | None = None, scores: np.ndarray | None = None,
                share: float = 1.0) -> Grounded:
    """One person: ``frames`` with ``poses (F, J*3)``, ``trans (F, 3)``, ``confidence (F,)`` and the rest, camera
    space; ``camera`` projects camera-space points to pixels; ``lock_strength`` in [0, 1] (0: no lock)."""
    return ground_people([frames], [betas], model, camera, fps, lock_strength, name, contacts,
                         None if scores is None else [scores], share)


def ground_people(people: list[dict], betas: list[np.ndarray], model: BodyModel, camera, fps: float,
                  lock_strength: float, name: str, contacts: ContactModel | None = None,
                  scores: list[np.ndarray | None] | None = None, share: float = 1.0) -> Grounded:
    """Everyone in a clip on one floor (fitted to all their feet); the world's origin is under the first
    person's first frame. A frame with confidence 0 (nobody seen) keeps what it had and is never in contact.
    ``contacts``: the learned contact model; without it the feet's height and speed rule (``contact.py``).
    ``scores``: per person, contact probabilities ``(F, 4)`` found elsewhere (the temporal lifter's), used where
    given, as ``share`` of the probabilities with the learned model's the rest (1: in its place)."""
    people = [dict(frames) for frames in people]
    motion = next((frames["background_motion"] for frames in people if "background_motion" in frames), None)
    for frames in people:
        frames.pop("background_motion", None)
    bodies = [_body(frames, model, shape) for frames, shape in zip(people, betas, strict=True)]
    seen = [body for body in bodies if body.valid.sum() >= MIN_FRAMES]
    if not seen:
        return Grounded(people, {}, [f'"{name}" has too few frames with a person to find the floor; its motion '
                                     "stays in camera space."])
    warnings = []
    moving = motion is not None and camera_moves(np.asarray(motion, np.float64))
    if moving:
        warnings.append(f'The camera moves in "{name}": the floor, world trajectory and foot lock assume a static '
                        "camera, so the character may drift or slide in the world.")
    floor = _floor(seen)
    first = seen[0]
    to_world = world_from_camera(floor, first.posed().positions[np.argmax(first.valid), 0])
    given = scores or [None] * len(bodies)
    grounded = [_ground(body, floor, to_world, camera, fps, lock_strength, contacts, own, share) if body in seen
                else body.frames for body, own in zip(bodies, given, strict=True)]
    fields = {"floor": floor.plane, "world_from_camera": to_world.astype(np.float32),
              "camera_height": np.float32(floor.offset), "camera_pitch": np.float32(floor.camera_pitch_degrees()),
              "foot_lock": np.float32(lock_strength), "camera_moving": np.bool_(moving)}
    return Grounded(grounded, fields, warnings)


def _body(frames: dict, model: BodyModel, betas: np.ndarray) -> _Body:
    valid = np.asarray(frames["confidence"]) > 0
    local = axis_angle_to_matrix(np.asarray(frames["poses"], np.float64).reshape(len(valid), -1, 3))
    return _Body(frames, FootSkeleton.of(model, betas), local, np.asarray(frames["trans"], np.float64), valid)


def _floor(bodies: list[_Body]) -> Floor:
    """One floor under everyone's soles."""
    up = np.mean([body_up(body.posed().positions, body.valid) for body in bodies], axis=0)
    up /= np.linalg.norm(up)
    soles = [body.skeleton.contact_points(body.posed())[body.valid] - body.skeleton.sole[:, None] * up
             for body in bodies]
    soles = np.concatenate(soles)
    return estimate_floor(soles, np.zeros(4), up, np.ones(len(soles), bool))


def clip_evidence(frames: dict, model: BodyModel, betas: np.ndarray, camera, fps: float) -> FootEvidence:
    """One person's feet as the contact model reads them, on the floor fitted under them alone (for training and
    measuring the model on the same inputs it gets here)."""
    body = _body(frames, model, betas)
    floor = _floor([body])
    to_world = world_from_camera(floor, body.posed().positions[np.argmax(body.valid), 0])
    return _evidence(body, to_world, camera, fps)


def _evidence(body: _Body, to_world: np.ndarray, camera, fps: float) -> FootEvidence:
    skeleton, valid, posed = body.skeleton, body.valid, body.posed()
    points = skeleton.contact_points(posed)
    world_points = points @ to_world[:3, :3].T + to_world[:3, 3]
    heights = smooth(world_points[..., 2], STEADY_SECONDS * fps)
    pelvis = posed.positions[:, 0]
    return FootEvidence(world_points, planted_heights(heights[valid], skeleton.sole), camera.project(points),
                        pelvis @ to_world[:3, :3].T + to_world[:3, 3], camera.project(pelvis), pelvis[:, 2],
                        float(camera.focal), valid, float(fps))


def found_contacts(evidence: FootEvidence, contacts: ContactModel | None, scores: np.ndarray | None = None,
                   share: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Confidence and in-contact flags ``(F, 4)`` of one person's feet, through ``contact_frames``: ``scores``
    where given (``share`` of them, the learned model's probabilities the rest, where there is a model and
    ``share`` < 1), else the learned model's, or without it the rule's on the feet's steadied height and floor
    speed."""
    steady = STEADY_SECONDS * evidence.fps
    learned = None
    if contacts is not None and (scores is None or share < 1.0):
        learned = contacts.probabilities(contact_features(evidence), evidence.fps).astype(np.float64)
    if scores is not None:
        scores = np.asarray(scores, np.float64)
        if learned is not None:
            scores = share * scores + (1.0 - share) * learned
    elif learned is not None:
        scores = learned
    else:
        heights = smooth(evidence.world[..., 2], steady)
        scores = contact_scores(heights - evidence.planted, floor_speed(smooth(evidence.world, steady), evidence.fps))
    return contact_frames(scores, evidence.valid, evidence.fps, smooth(image_track(evidence), steady))


def _ground(body: _Body, floor: Floor, to_world: np.ndarray, camera, fps: float, lock_strength: float,
            contacts: ContactModel | None, scores: np.ndarray | None = None, share: float = 1.0) -> dict:
    skeleton, valid = body.skeleton, body.valid
    confidence, flags = found_contacts(_evidence(body, to_world, camera, fps), contacts, scores, share)
    local, trans = lock_feet(skeleton, body.local, body.trans, flags, floor, skeleton.sole, lock_strength, fps)
    posed = skeleton.pose_local(local, trans)  # soles on the floor where planted
    joints = skeleton.joints(posed)
    world_root = to_world[:3, :3] @ local[:, 0]
    world_trans = posed.positions[:, 0] @ to_world[:3, :3].T + to_world[:3, 3] - skeleton.rest[0]
    frames, held = body.frames, ~valid  # frames without a person keep what they had
    return frames | {
        "poses": np.where(held[:, None], frames["poses"], to_axis_angle(local)).astype(np.float32),
        "trans": np.where(held[:, None], frames["trans"], trans).astype(np.float32),
        "joints": np.where(held[:, None, None], frames["joints"], joints).astype(np.float32),
        "joints_2d": np.where(held[:, None, None], frames["joints_2d"], camera.project(joints)).astype(np.float32),
        "contacts": confidence, "world_root_orient": matrix_to_axis_angle(world_root).astype(np.float32),
        "world_trans": world_trans.astype(np.float32)}
