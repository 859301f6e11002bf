"""Retargeting onto rigs whose bones follow controls through constraints, such as Rigify's generated rig.

Keys on a bone that copies another one's transforms would not show, so the motion goes onto the controls an
animator keys. Which control that is, and which control each one follows, is found by Blender itself: each
candidate bone is turned once and what moves with it is watched. A mapped bone (``ORG-thigh.L``) is driven by
the deepest free bone that carries it rigidly (``thigh_fk.L``); each such control follows the deepest other
control that carries it rigidly, however many mechanism bones and constraints lie between (its effective
parent). Rigify's switches are set, and keyed, so that this holds: limbs in FK, FK limbs following their
parents, neck and head following the chest. The computation of the keys is ``transfer.drive_controls``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import bpy
import numpy as np
from mathutils import Euler, Matrix

from ..core.errors import PocketMocapError
from .retarget_presets import REQUIRED
from .transfer import Skeleton

# Constraints that replace a bone's keyed transform: keys on such a bone would be lost.
OVERRIDING = {"COPY_TRANSFORMS", "COPY_ROTATION", "CHILD_OF", "ARMATURE", "DAMPED_TRACK", "TRACK_TO",
              "LOCKED_TRACK", "STRETCH_TO", "IK", "SPLINE_IK", "TRANSFORM"}
# Rigify's switches (custom properties of its limb and head controls), set so every control follows a parent.
SETTINGS = {"IK_FK": 1.0, "FK_limb_follow": 0.0, "neck_follow": 1.0, "head_follow": 1.0}
MECHANISM = ("MCH-", "ORG-", "DEF-", "VIS_", "WGT-")  # bones named so are not for keying
PROBE = Euler((0.35, -0.25, 0.3)).to_matrix().to_4x4()  # the test turn, about a bone's own head
RIGID = 1e-4  # a bone follows rigidly when it lands within this (metres, matrix entries) of a rigid follower


@dataclass(frozen=True)
class ControlPlan:
    """``anchors``: the mapped bones (and the rig's top bone, which carries travel) at their rest, parents as
    the body's joints; ``controls``: the bones to key, each with the control it follows (-1: the armature);
    ``drives``: control -> anchor; ``mapping``: joint -> anchor, without joints no control carries alone;
    ``settings``: (pose bone, property) -> value; ``dropped``: joints left out."""

    anchors: Skeleton
    controls: Skeleton
    drives: dict[str, str]
    mapping: dict[str, str]
    settings: dict[tuple[str, str], float]
    dropped: tuple[str, ...]


def driven_bones(target: bpy.types.Object, bones) -> list[str]:
    """Those of ``bones`` that follow a constraint which replaces their own transform."""
    return [bone for bone in bones if any(c.type in OVERRIDING and c.enabled and c.influence > 0
                                          for c in target.pose.bones[bone].constraints)]


def plan_controls(context: bpy.types.Context, target: bpy.types.Object, mapping: dict[str, str],
                  joint_parents: dict[str, str | None]) -> ControlPlan:
    """Which controls carry the mapped bones of ``target`` (see the module's docstring). ``joint_parents``
    gives the body's hierarchy (joint -> parent joint). The scene is left as it was, also on a refusal."""
    pose = target.pose.bones
    saved = _Saved(target)
    try:
        _rest_state(target, settings=_settings_of(target))
        context.view_layer.update()
        upstream = {bone: [b for b in [bone, *_upstream(target, bone)] if _keyable(target, b)]
                    for bone in mapping.values()}
        candidates = list(dict.fromkeys(b for found in upstream.values() for b in found))
        watch = list(dict.fromkeys([*mapping.values(), *candidates]))
        rest = {name: np.array(pose[name].matrix) for name in watch}
        carries = _probe(context, target, candidates, watch, rest)
    finally:
        saved.restore()
        context.view_layer.update()
    drives, dropped, unreachable = _choose_drivers(mapping, upstream, carries, joint_parents)
    if unreachable:
        raise PocketMocapError(
            f'The bones {", ".join(unreachable[:4])}{" ..." if len(unreachable) > 4 else ""} of "{target.name}" '
            "follow constraints and no control of the rig carries them alone, so keys would not show: retarget "
            "onto its meta-rig or a copy without constraints.")
    mapping = {joint: bone for joint, bone in mapping.items() if joint not in dropped}
    top = next((b for b in upstream[mapping["pelvis"]] if target.data.bones[b].parent is None
                and carries[b].get(mapping["pelvis"]) == "rigid"), None)
    anchors = _anchor_skeleton(target, mapping, joint_parents, top, rest)
    controls = [*([top] if top else []), *(drives[bone] for bone in anchors.names if bone != top)]
    control_of = {drives[bone]: bone for bone in mapping.values()}
    if top:
        control_of[top] = top
    return ControlPlan(anchors, _control_skeleton(target, controls, carries, rest), control_of, mapping,
                       _settings_of(target), tuple(dropped))


class _Saved:
    """The target's action, pose and switches as they were, to put back after probing."""

    def __init__(self, target: bpy.types.Object):
        self.target = target
        self.action = target.animation_data.action if target.animation_data else None
        self.slot = getattr(target.animation_data, "action_slot", None) if target.animation_data else None
        self.basis = {bone.name: bone.matrix_basis.copy() for bone in target.pose.bones}
        self.settings = {key: target.pose.bones[key[0]][key[1]] for key in _settings_of(target)}

    def restore(self) -> None:
        target = self.target
        if target.animation_data:
            target.animation_data.action = self.action
            if self.slot is not None and self.action is not None:
                target.animation_data.action_slot = self.slot
        for name, basis in self.basis.items():
            target.pose.bones[name].matrix_basis = basis
        for (bone, prop), value in self.settings.items():
            target.pose.bones[bone][prop] = value


def _settings_of(target: bpy.types.Object) -> dict[tuple[str, str], float]:
    return {(bone.name, prop): value for bone in target.pose.bones for prop, value in SETTINGS.items()
            if prop in bone.keys()}


def _rest_state(target: bpy.types.Object, settings: dict[tuple[str, str], float]) -> None:
    """No action, every bone at rest, the switches set."""
    if target.animation_data:
        target.animation_data.action = None
    for bone in target.pose.bones:
        bone.matrix_basis = Matrix()
    for (bone, prop), value in settings.items():
        target.pose.bones[bone][prop] = value


def _upstream(target: bpy.types.Object, bone: str) -> list[str]:
    """Bones ``bone`` depends on (its constraints' targets in the same armature, then its parent), nearest
    first."""
    order, queue, seen = [], deque([bone]), {bone}
    while queue:
        name = queue.popleft()
        pose_bone = target.pose.bones[name]
        found = [getattr(c, "subtarget", "") for c in pose_bone.constraints if getattr(c, "target", None) == target]
        found += [t.subtarget for c in pose_bone.constraints if c.type == "ARMATURE" for t in c.targets
                  if t.target == target]
        found += [pose_bone.parent.name] if pose_bone.parent else []
        for other in found:
            if other and other not in seen and other in target.pose.bones:
                seen.add(other)
                order.append(other)
                queue.append(other)
    return order


def _keyable(target: bpy.types.Object, bone: str) -> bool:
    return not bone.startswith(MECHANISM) and not driven_bones(target, [bone])


def _probe(context: bpy.types.Context, target: bpy.types.Object, candidates: list[str], watch: list[str],
           rest: dict[str, np.ndarray]) -> dict[str, dict[str, str]]:
    """Turn each candidate in turn; ``carries[candidate][bone]`` is "rigid" when ``bone`` moved with it as if
    fixed to it, "moved" when it moved otherwise (absent when it did not move)."""
    pose = target.pose.bones
    carries = {}
    for candidate in candidates:
        pose[candidate].matrix_basis = PROBE
        context.view_layer.update()
        turned = {name: np.array(pose[name].matrix) for name in watch}
        pose[candidate].matrix_basis = Matrix()
        delta = turned[candidate] @ np.linalg.inv(rest[candidate])
        carries[candidate] = {
            name: "rigid" if np.abs(delta @ rest[name] - turned[name]).max() < RIGID else "moved"
            for name in watch if name != candidate and np.abs(turned[name] - rest[name]).max() > RIGID}
    return carries


def _is_free(bone: str, upstream: dict[str, list[str]]) -> bool:
    """A mapped bone that is keyable itself (listed first among its own candidates)."""
    return bool(upstream[bone]) and upstream[bone][0] == bone


def _deepest(bones: list[str], carries: dict[str, dict[str, str]]) -> str | None:
    """The one of ``bones`` that every other one carries rigidly."""
    return next((b for b in bones if all(o == b or carries[o].get(b) == "rigid" for o in bones)), None)


def _choose_drivers(mapping: dict[str, str], upstream: dict[str, list[str]], carries: dict[str, dict[str, str]],
                    joint_parents: dict[str, str | None]) -> tuple[dict[str, str], list[str], list[str]]:
    """Per mapped bone its control; joints dropped (optional ones no control carries alone, or that another
    control would disturb) and the required bones left without one."""
    drives, dropped, unreachable = {}, [], []

    def leave_out(joint: str) -> None:
        if joint in REQUIRED:
            unreachable.append(mapping[joint])
        else:
            dropped.append(joint)

    for joint in [j for j in joint_parents if j in mapping]:
        bone = mapping[joint]
        driver = bone if _is_free(bone, upstream) else \
            _deepest([b for b in upstream[bone] if carries[b].get(bone) == "rigid"], carries)
        if driver is None or driver in drives.values():
            leave_out(joint)
        else:
            drives[bone] = driver
    for joint in [j for j in joint_parents if j in mapping and mapping[j] in drives]:
        bone, driver = mapping[joint], drives[mapping[joint]]
        if any(other != driver and carries[other].get(bone) and not carries[other].get(driver)
               for other in drives.values()):  # another control moves this bone without moving its control
            leave_out(joint)
            del drives[bone]
    return drives, dropped, unreachable


def _anchor_skeleton(target: bpy.types.Object, mapping: dict[str, str], joint_parents: dict[str, str | None],
                     top: str | None, rest: dict[str, np.ndarray]) -> Skeleton:
    """The mapped bones as a plain hierarchy in the body's joint order (the top bone, if any, above the pelvis)."""
    joints = [j for j in joint_parents if j in mapping]
    names = ([top] if top else []) + [mapping[j] for j in joints]
    parents = []
    for joint in joints:
        parent = joint_parents[joint]
        while parent is not None and parent not in mapping:
            parent = joint_parents[parent]
        parents.append(names.index(mapping[parent]) if parent else (0 if top else -1))
    rest_matrices = np.array([rest[name] for name in names], np.float64)
    return Skeleton(tuple(names), np.array(([-1] if top else []) + parents, np.int64), rest_matrices,
                    np.array(target.matrix_world, np.float64))


def _control_skeleton(target: bpy.types.Object, controls: list[str], carries: dict[str, dict[str, str]],
                      rest: dict[str, np.ndarray]) -> Skeleton:
    """The controls, each under the deepest other control that carries it rigidly, parents first."""
    parent_of = {c: _deepest([o for o in controls if o != c and carries[o].get(c) == "rigid"], carries)
                 for c in controls}
    order: list[str] = []
    while len(order) < len(controls):
        ready = [c for c in controls if c not in order and (parent_of[c] is None or parent_of[c] in order)]
        if not ready:
            raise PocketMocapError(f'The controls of "{target.name}" carry each other in a loop; '
                                   "retarget onto its meta-rig or a copy without constraints.")
        order += ready
    parents = np.array([order.index(parent_of[c]) if parent_of[c] else -1 for c in order], np.int64)
    return Skeleton(tuple(order), parents, np.array([rest[c] for c in order], np.float64),
                    np.array(target.matrix_world, np.float64))
