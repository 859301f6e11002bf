"""The settings an artist picks (saved with the .blend) and the live job status (not saved)."""

from __future__ import annotations

import bpy

ADDON = __package__.rpartition(".")[0]

INPUT_KINDS = (
    ("PHOTO", "Photo", "One photo of a person"),
    ("VIDEO", "Video", "A video of a person: becomes an animated rig"),
    ("FOLDER", "Folder", "Every photo and video in a folder, one result each"),
)
GENDERS = (("neutral", "Neutral", ""), ("female", "Female", ""), ("male", "Male", ""))
EXPORT_PRESETS = (
    ("BLENDER", "Blender", "Metres, Y up, for re-import into Blender"),
    ("UNITY", "Unity", "Unit scale applied for Unity's humanoid importer"),
    ("UNREAL", "Unreal", "Deform bones only, for Unreal Engine's skeletal mesh importer"),
)


class POCKETMOCAP_PG_person(bpy.types.PropertyGroup):
    """One person the last reconstruction found, listed in the People panel."""

    build: bpy.props.BoolProperty(name="Build", default=True, description="Build a rig for this person")
    label: bpy.props.StringProperty(name="Person")
    number: bpy.props.IntProperty(name="Number", min=1)  # 1-based, in the result's order: "Person 1"...
    stem: bpy.props.StringProperty(name="Input")  # the input's name, when the job had several inputs
    result: bpy.props.StringProperty(name="Result", subtype="FILE_PATH")
    input: bpy.props.StringProperty(name="Input path", subtype="FILE_PATH")
    frames_seen: bpy.props.IntProperty(name="Frames seen")
    first_frame: bpy.props.IntProperty(name="First seen")
    frames: bpy.props.IntProperty(name="Frames")


class POCKETMOCAP_PG_settings(bpy.types.PropertyGroup):
    input_kind: bpy.props.EnumProperty(name="Input", items=INPUT_KINDS, default="PHOTO")
    photo_path: bpy.props.StringProperty(name="Photo", subtype="FILE_PATH",
                                         description="A photo of one or more people")
    video_path: bpy.props.StringProperty(name="Video", subtype="FILE_PATH", description="A video of a person")
    folder_path: bpy.props.StringProperty(name="Folder", subtype="DIR_PATH",
                                          description="A folder of photos and videos")
    estimator: bpy.props.StringProperty(name="Estimator", default="keypoints")
    body_model: bpy.props.StringProperty(name="Body model", default="open")
    export_preset: bpy.props.EnumProperty(name="Preset", items=EXPORT_PRESETS, default="BLENDER")
    gender: bpy.props.EnumProperty(name="Gender", items=GENDERS, default="neutral",
                                   description="Which of your SMPL/SMPL-X files to use (found next to the one set "
                                               "in the preferences); the open body has one, neutral, form")
    betas: bpy.props.FloatVectorProperty(name="Shape", size=10, soft_min=-3.0, soft_max=3.0,
                                         description="Body shape coefficients of the body model")
    pose_correctives: bpy.props.BoolProperty(
        name="Pose correctives", default=False,
        description="Add the model's pose-corrective shape keys, driven by the bones (slower to build)")
    fov: bpy.props.FloatProperty(name="Field of view", default=55.0, min=10.0, max=150.0, subtype="NONE",
                                 description="Assumed field of view of the photo or video across its longer side, "
                                             "in degrees (phones: about 65; zoomed: less)")
    smoothing: bpy.props.FloatProperty(name="Smoothing", default=0.5, min=0.0, max=1.0, subtype="FACTOR",
                                       description="Steadiness of video motion: 0 keeps every jitter, 1 is very smooth")
    foot_lock: bpy.props.FloatProperty(name="Foot lock", default=1.0, min=0.0, max=1.0, subtype="FACTOR",
                                       description="Video: how firmly a foot in contact with the floor stays put "
                                                   "(0: off, the feet follow the estimate)")
    pose_prior: bpy.props.FloatProperty(name="Pose prior", default=1.0, min=0.0, max=3.0, subtype="FACTOR",
                                        description="How strongly the fit keeps elbows, knees and spine to poses "
                                                    "seen in motion capture where the picture says little (0: off)")
    contacts: bpy.props.EnumProperty(
        name="Foot contact", default="learned",
        items=[("learned", "Learned", "Video: a network trained on motion capture tells when each heel and toe is "
                                      "planted, from the feet's motion in 3D and in the picture"),
               ("lifted", "From landmarks", "Video: the temporal lifter tells when each heel and toe is planted "
                                            "from MediaPipe's landmarks over 27 frames, not from the fitted body "
                                            "(the network estimators use the learned model)"),
               ("both", "Both", "Video: the mean of the learned model's and the temporal lifter's probabilities"),
               ("rule", "Height and speed", "Video: a heel or toe is planted while low and slow along the floor")],
        description="How the video's foot contacts are found (they decide where the foot lock holds)")
    temporal_lifter: bpy.props.BoolProperty(
        name="Learned 3D", default=True,
        description="Keypoint-guided estimator: fit the body to where the temporal lifter puts it (a video is "
                    "fitted a second time, from 27 frames of landmarks around each frame; a photo is read as a person "
                    "holding still, 30 % MediaPipe's own 3D mixed in). Off: fit to MediaPipe's own 3D alone")
    hands_and_face: bpy.props.BoolProperty(name="Hands and face", default=True,
                                           description="Also fit fingers and jaw (SMPL-X layout; slower)")
    add_camera: bpy.props.BoolProperty(name="Add camera", default=True,
                                       description="Add the camera that matches the input, with it as background")
    lowres: bpy.props.BoolProperty(name="Low resolution", default=False,
                                   description="Use the open body's 1,229-vertex variant (open body only)")
    people: bpy.props.CollectionProperty(type=POCKETMOCAP_PG_person)
    people_index: bpy.props.IntProperty(name="Active person")
    people_job: bpy.props.StringProperty(name="People's job")  # JSON: the body model they were fitted with
    # No methods on property groups: with one, bpy 4.2 as a module crashes at interpreter exit.


def input_path(settings: POCKETMOCAP_PG_settings) -> str:
    """The path of the chosen input kind, made absolute (Blender paths may start with //)."""
    raw = {"PHOTO": settings.photo_path, "VIDEO": settings.video_path,
           "FOLDER": settings.folder_path}[settings.input_kind]
    return bpy.path.abspath(raw) if raw else ""


class POCKETMOCAP_PG_job_status(bpy.types.PropertyGroup):
    running: bpy.props.BoolProperty(name="Running")
    progress: bpy.props.FloatProperty(name="Progress", min=0.0, max=1.0, subtype="FACTOR")
    text: bpy.props.StringProperty(name="Progress text")
    message: bpy.props.StringProperty(name="Last message")
    message_level: bpy.props.StringProperty(name="Message level", default="INFO")


CLASSES = (POCKETMOCAP_PG_person, POCKETMOCAP_PG_settings, POCKETMOCAP_PG_job_status)


def attach() -> None:
    bpy.types.Scene.pocket_mocap = bpy.props.PointerProperty(type=POCKETMOCAP_PG_settings)
    bpy.types.WindowManager.pocket_mocap_job = bpy.props.PointerProperty(type=POCKETMOCAP_PG_job_status)


def detach() -> None:
    del bpy.types.WindowManager.pocket_mocap_job
    del bpy.types.Scene.pocket_mocap


def preferences(context: bpy.types.Context):
    """The add-on preferences, or ``None`` when the add-on is not registered under ``ADDON``."""
    addon = context.preferences.addons.get(ADDON)
    return addon.preferences if addon else None


def estimator_choices(context: bpy.types.Context) -> list:
    """The catalog's estimators, judged with the weights files set in the preferences."""
    from ..core import catalog

    return catalog.estimators(user_weights_path(context, "efficienthuman"), user_weights_path(context, "binaryhpe"))


def user_weights_path(context: bpy.types.Context, estimator: str) -> str:
    prefs = preferences(context)
    raw = getattr(prefs, f"{estimator}_weights", "") if prefs is not None else ""
    return bpy.path.abspath(raw) if raw else ""


def body_model_choices(context: bpy.types.Context) -> list:
    """The catalog's body models, judged with the model files set in the preferences."""
    from ..core import catalog

    prefs = preferences(context)
    return catalog.body_models(prefs.smpl_path if prefs else "", prefs.smplx_path if prefs else "")


def user_model_path(context: bpy.types.Context, name: str) -> str:
    """The preference's file for body model ``name`` ("smpl"/"smplx"), absolute; "" when unset."""
    prefs = preferences(context)
    raw = getattr(prefs, f"{name}_path", "") if prefs is not None and name in ("smpl", "smplx") else ""
    return bpy.path.abspath(raw) if raw else ""
