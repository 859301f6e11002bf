"""Bone-name presets for retargeting: which bone of a rig plays each body joint (one source of truth).

Each preset maps a Pocket Mocap joint (SMPL / SMPL-X names) to the names that bone has in the convention;
the first one the rig has is used. Names are compared exactly first, then without case and without a
namespace (``mixamorig:Hips``, ``mixamorig1:Hips`` and ``Hips`` are one name).
"""

from __future__ import annotations

REQUIRED = ("pelvis", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
            "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "head")
# The joint whose direction from a joint gives its bone's direction (rest alignment, T- vs A-pose).
CHAIN_CHILD = {"spine1": "spine2", "spine2": "spine3", "spine3": "neck", "neck": "head"}
for _side in ("left", "right"):
    CHAIN_CHILD.update({f"{_side}_hip": f"{_side}_knee", f"{_side}_knee": f"{_side}_ankle",
                        f"{_side}_ankle": f"{_side}_foot", f"{_side}_collar": f"{_side}_shoulder",
                        f"{_side}_shoulder": f"{_side}_elbow", f"{_side}_elbow": f"{_side}_wrist",
                        f"{_side}_wrist": f"{_side}_middle1"})
    for _finger in ("index", "middle", "ring", "pinky", "thumb"):
        CHAIN_CHILD.update({f"{_side}_{_finger}1": f"{_side}_{_finger}2", f"{_side}_{_finger}2": f"{_side}_{_finger}3"})
FEET = {"left": ("left_ankle", "left_foot"), "right": ("right_ankle", "right_foot")}  # heel, toe
FINGERS = ("index", "middle", "ring", "pinky", "thumb")


def _sides(pattern: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Expand ``{side}`` / ``{Side}`` / ``{S}`` / ``{s}`` in names for both sides."""
    spelled = {"left": {"side": "left", "Side": "Left", "S": "L", "s": "l"},
               "right": {"side": "right", "Side": "Right", "S": "R", "s": "r"}}
    expanded = {}
    for joint, names in pattern.items():
        if "{side}" in joint:
            for side, words in spelled.items():
                expanded[joint.format(side=side)] = tuple(name.format(**words) for name in names)
        else:
            expanded[joint] = names
    return expanded


def _fingers(pattern: str, names: dict[str, str] | None = None) -> dict[str, tuple[str, ...]]:
    """Three bones per finger: ``pattern`` with ``{finger}`` (renamed by ``names``) and ``{n}`` (1-3)."""
    names = names or {}
    return {f"{{side}}_{finger}{n}": (pattern.format(finger=names.get(finger, finger), n=n),)
            for finger in FINGERS for n in (1, 2, 3)}


MIXAMO = _sides({
    "pelvis": ("mixamorig:Hips",), "spine1": ("mixamorig:Spine",), "spine2": ("mixamorig:Spine1",),
    "spine3": ("mixamorig:Spine2",), "neck": ("mixamorig:Neck",), "head": ("mixamorig:Head",),
    "{side}_hip": ("mixamorig:{Side}UpLeg",), "{side}_knee": ("mixamorig:{Side}Leg",),
    "{side}_ankle": ("mixamorig:{Side}Foot",), "{side}_foot": ("mixamorig:{Side}ToeBase",),
    "{side}_collar": ("mixamorig:{Side}Shoulder",), "{side}_shoulder": ("mixamorig:{Side}Arm",),
    "{side}_elbow": ("mixamorig:{Side}ForeArm",), "{side}_wrist": ("mixamorig:{Side}Hand",),
    **_fingers("mixamorig:{{Side}}Hand{finger}{n}",
               names={f: f.capitalize() for f in FINGERS}),
})
RIGIFY = _sides({
    "pelvis": ("spine",), "spine1": ("spine.001",), "spine2": ("spine.002",), "spine3": ("spine.003",),
    "neck": ("spine.004",), "head": ("spine.006",),
    "{side}_hip": ("thigh.{S}",), "{side}_knee": ("shin.{S}",), "{side}_ankle": ("foot.{S}",),
    "{side}_foot": ("toe.{S}",), "{side}_collar": ("shoulder.{S}",), "{side}_shoulder": ("upper_arm.{S}",),
    "{side}_elbow": ("forearm.{S}",), "{side}_wrist": ("hand.{S}",),
    **_fingers("{finger}.0{n}.{{S}}", names={f: f"f_{f}" for f in FINGERS if f != "thumb"}),
})
# Rigify's generated rig keeps the meta-rig's bones as ORG- bones, which follow its controls (scene/controls.py).
RIGIFY = {joint: (*(f"ORG-{name}" for name in names), *names) for joint, names in RIGIFY.items()}
UNREAL = _sides({
    "pelvis": ("pelvis",), "spine1": ("spine_01",), "spine2": ("spine_02",), "spine3": ("spine_03",),
    "neck": ("neck_01",), "head": ("head",),
    "{side}_hip": ("thigh_{s}",), "{side}_knee": ("calf_{s}",), "{side}_ankle": ("foot_{s}",),
    "{side}_foot": ("ball_{s}",), "{side}_collar": ("clavicle_{s}",), "{side}_shoulder": ("upperarm_{s}",),
    "{side}_elbow": ("lowerarm_{s}",), "{side}_wrist": ("hand_{s}",),
    **_fingers("{finger}_0{n}_{{s}}"),
})
VRM = _sides({  # VRoid Studio's bone names, then VRM's humanoid bone names
    "pelvis": ("J_Bip_C_Hips", "hips"), "spine1": ("J_Bip_C_Spine", "spine"), "spine2": ("J_Bip_C_Chest", "chest"),
    "spine3": ("J_Bip_C_UpperChest", "upperChest"), "neck": ("J_Bip_C_Neck", "neck"),
    "head": ("J_Bip_C_Head", "head"),
    "{side}_hip": ("J_Bip_{S}_UpperLeg", "{side}UpperLeg"), "{side}_knee": ("J_Bip_{S}_LowerLeg", "{side}LowerLeg"),
    "{side}_ankle": ("J_Bip_{S}_Foot", "{side}Foot"), "{side}_foot": ("J_Bip_{S}_ToeBase", "{side}Toes"),
    "{side}_collar": ("J_Bip_{S}_Shoulder", "{side}Shoulder"),
    "{side}_shoulder": ("J_Bip_{S}_UpperArm", "{side}UpperArm"),
    "{side}_elbow": ("J_Bip_{S}_LowerArm", "{side}LowerArm"), "{side}_wrist": ("J_Bip_{S}_Hand", "{side}Hand"),
    **_fingers("J_Bip_{{S}}_{finger}{n}", names={"pinky": "Little", "index": "Index", "middle": "Middle",
                                                         "ring": "Ring", "thumb": "Thumb"}),
})
CMU = _sides({  # CMU motion-capture BVH names (MotionBuilder), as in MakeHuman's cmu_mb rig
    "pelvis": ("Hips",), "spine1": ("LowerBack",), "spine2": ("Spine",), "spine3": ("Spine1",), "neck": ("Neck",),
    "head": ("Head",), "{side}_hip": ("{Side}UpLeg",), "{side}_knee": ("{Side}Leg",), "{side}_ankle": ("{Side}Foot",),
    "{side}_foot": ("{Side}ToeBase",), "{side}_collar": ("{Side}Shoulder",), "{side}_shoulder": ("{Side}Arm",),
    "{side}_elbow": ("{Side}ForeArm",), "{side}_wrist": ("{Side}Hand",),
})
BODY = _sides({  # Pocket Mocap's own rigs (SMPL / SMPL-X joint names, as the SMPL-X add-on names them)
    joint: (joint,) for joint in ("pelvis", "spine1", "spine2", "spine3", "neck", "head", "{side}_hip", "{side}_knee",
                                  "{side}_ankle", "{side}_foot", "{side}_collar", "{side}_shoulder", "{side}_elbow",
                                  "{side}_wrist", *(f"{{side}}_{f}{n}" for f in FINGERS for n in (1, 2, 3)))
})
# name -> (label, joint -> candidate bone names)
PRESETS: dict[str, tuple[str, dict[str, tuple[str, ...]]]] = {
    "mixamo": ("Mixamo", MIXAMO),
    "rigify": ("Rigify (meta-rig or generated rig)", RIGIFY),
    "unreal": ("Unreal mannequin", UNREAL),
    "vrm": ("VRM / VRoid", VRM),
    "cmu": ("CMU motion capture (BVH)", CMU),
    "body": ("Pocket Mocap / SMPL", BODY),
}


def joint_label(joint: str) -> str:
    """A joint's name as a sentence says it: ``left_knee`` -> "left knee"."""
    return joint.replace("_", " ")


def plain_name(name: str) -> str:
    """A bone name without its namespace and case: ``mixamorig1:LeftArm`` -> ``leftarm``."""
    return name.rpartition(":")[2].casefold()


def match_preset(candidates: dict[str, tuple[str, ...]], bone_names: list[str]) -> dict[str, str]:
    """The preset's joints the rig has: joint -> the rig's bone name."""
    exact = set(bone_names)
    plain = {}
    for name in bone_names:
        plain.setdefault(plain_name(name), name)
    found = {}
    for joint, names in candidates.items():
        hit = next((n for n in names if n in exact), None) or \
            next((plain[plain_name(n)] for n in names if plain_name(n) in plain), None)
        if hit is not None and hit not in found.values():
            found[joint] = hit
    return found


def detect_preset(bone_names: list[str]) -> tuple[str, dict[str, str]]:
    """The preset that names most of the rig's joints: required ones first, then all, then those named exactly
    (namespace and case included), then the share of the preset found. Returns ``(preset, mapping)``."""
    scored = []
    for name, (_label, candidates) in PRESETS.items():
        mapping = match_preset(candidates, bone_names)
        required = sum(joint in mapping for joint in REQUIRED)
        exact = sum(bone in candidates[joint] for joint, bone in mapping.items())
        scored.append((required, len(mapping), exact, len(mapping) / len(candidates), name, mapping))
    *_score, name, mapping = max(scored, key=lambda row: row[:4])
    return name, mapping


def fit_chest(mapping: dict[str, str], parent_of: dict[str, str | None]) -> dict[str, str]:
    """The chest is the bone the collars hang from. Rigs with more torso bones than the body (MakeHuman's Rigify
    layout hangs the shoulders on ``spine.004`` and has its neck on ``spine.005``; Unreal 5's mannequin on
    ``spine_05``) get that bone as ``spine3`` instead of the preset's, when it lies between the preset's chest
    and the head; the neck moves up to the bone below the head if the chest took it. ``parent_of``: bone ->
    parent bone (None at the top)."""
    collars = {parent_of.get(mapping[j]) for j in ("left_collar", "right_collar") if j in mapping}
    if len(collars) != 1 or "head" not in mapping or "spine3" not in mapping:
        return mapping
    chest = collars.pop()
    chain, bone = [], parent_of.get(mapping["head"])  # from the head's parent down the spine
    while bone is not None:
        chain.append(bone)
        bone = parent_of.get(bone)
    if chest is None or chest == mapping["spine3"] or chest not in chain or \
            mapping["spine3"] not in chain[chain.index(chest):]:
        return mapping
    fitted = {**mapping, "spine3": chest}
    if fitted.get("neck") in chain[chain.index(chest):]:  # the preset's neck is now at or below the chest
        if chain[0] != chest:
            fitted["neck"] = chain[0]
        else:
            del fitted["neck"]
    return fitted


def missing_required(mapping: dict[str, str]) -> list[str]:
    return [joint for joint in REQUIRED if not mapping.get(joint)]
