"""Rigs in real Blender: the evaluated mesh equals the numpy forward model; animation keys round-trip;
AMASS motion import/export; FBX export re-imports with the same bones, keys and deformation."""

from __future__ import annotations

import numpy as np
import pytest
from support.bodyfiles import random_model_arrays, write_npz

pytestmark = pytest.mark.blender
bpy = pytest.importorskip("bpy")
TOLERANCE_M = 1e-4


@pytest.fixture
def modules(addon):
    import importlib

    base = addon.__name__
    names = ("scene.rig", "scene.animation", "core.bodymodel.model", "core.motion", "core.rotations")
    return {name.split(".")[-1]: importlib.import_module(f"{base}.{name}") for name in names}


@pytest.fixture(autouse=True)
def empty_scene(addon):
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj)
    yield
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj)


def random_model(modules, family: str, seed: int = 1, vertices: int | None = None):
    arrays = random_model_arrays(family, vertices=vertices, seed=seed)
    return modules["model"].body_model_from_arrays(arrays, family, f"random {family}")


def geodesic(modules, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angles (rad) between rotations given as axis-angle ``(..., 3)`` (via the quaternion: no arccos noise)."""
    rotations = modules["rotations"]
    relative = np.swapaxes(rotations.axis_angle_to_matrix(a.astype(np.float64)), -1, -2) @ \
        rotations.axis_angle_to_matrix(b.astype(np.float64))
    return np.linalg.norm(rotations.matrix_to_axis_angle(relative), axis=-1)


@pytest.mark.parametrize("family, correctives", [("smpl", False), ("smpl", True), ("smplx", False), ("smplx", True)])
def test_evaluated_mesh_equals_forward_model(modules, family, correctives):
    rig_module = modules["rig"]
    model = random_model(modules, family, vertices={"smpl": 2000, "smplx": 3000}[family])
    rng = np.random.default_rng(7)
    for shape in range(2):
        betas = rng.normal(0, 1, 10).astype(np.float32)
        expression = rng.normal(0, 1, 10).astype(np.float32) if family == "smplx" else None
        rig = rig_module.build_rig(bpy.context, model, betas, expression, name=f"{family}{shape}",
                                   options=rig_module.RigOptions(pose_correctives=correctives))
        body = rig_module.rig_mesh(rig)
        for _ in range(3):
            poses = rng.normal(0, 0.5, len(model.parents) * 3).astype(np.float32)
            trans = rng.normal(0, 1, 3).astype(np.float32)
            rig_module.pose_rig(rig, poses, trans)
            blender = rig_module.evaluated_vertices(bpy.context, body)
            numpy = model.pose(poses[None], betas, trans[None], None if expression is None else expression[None],
                               pose_correctives=correctives).vertices[0]
            assert np.abs(blender - numpy).max() <= TOLERANCE_M


@pytest.mark.parametrize("family, lowres", [("smpl", False), ("smplx", False), ("smplx", True)])
def test_open_body_rig_equals_forward_model(addon, modules, family, lowres):
    from importlib import import_module

    library = import_module(f"{addon.__name__}.core.bodymodel.library")
    model = library.load_body("open", family, lowres=lowres)
    rig_module = modules["rig"]
    rng = np.random.default_rng(2)
    betas = rng.normal(0, 1.5, 10).astype(np.float32)
    expression = rng.uniform(0, 1, 52).astype(np.float32) if family == "smplx" else None
    rig = rig_module.build_rig(bpy.context, model, betas, expression, name="open")
    body = rig_module.rig_mesh(rig)
    if family == "smplx":
        assert body.data.shape_keys.key_blocks["jawOpen"].slider_max == 1.0
    for _ in range(2):
        poses = rng.normal(0, 0.4, len(model.parents) * 3).astype(np.float32)
        trans = rng.normal(0, 1, 3).astype(np.float32)
        rig_module.pose_rig(rig, poses, trans)
        numpy = model.pose(poses[None], betas, trans[None], None if expression is None else expression[None])
        assert np.abs(rig_module.evaluated_vertices(bpy.context, body) - numpy.vertices[0]).max() <= TOLERANCE_M


def test_rig_layout(modules):
    model = random_model(modules, "smplx", vertices=1000)
    rig = modules["rig"].build_rig(bpy.context, model, np.ones(3), name="layout",
                                   options=modules["rig"].RigOptions(pose_correctives=True))
    body = modules["rig"].rig_mesh(rig)
    assert [b.name for b in rig.data.bones][0] == "pelvis" and len(rig.data.bones) == 55
    assert {g.name for g in body.vertex_groups} == set(model.joint_names)
    keys = [k.name for k in body.data.shape_keys.key_blocks]
    assert keys[:2] == ["Basis", "Shape000"] and "Shape009" in keys and "Exp009" in keys and "Pose485" in keys
    assert body.data.shape_keys.key_blocks["Shape002"].value == pytest.approx(1.0)
    assert rig.rotation_euler[0] == pytest.approx(np.pi / 2), "Y-up data is turned Z-up by the object"
    assert np.allclose(np.array(rig.data.bones["left_knee"].matrix_local.to_3x3()), np.eye(3))
    assert np.allclose(body.data.vertices[5].co, model.v_template[5], atol=1e-7), "mesh data stays in model space"


def test_animation_round_trip_and_frame_rate(modules):
    model = random_model(modules, "smplx", vertices=1500)
    rig = modules["rig"].build_rig(bpy.context, model, name="anim")
    rng = np.random.default_rng(3)
    frames = 40
    poses = rng.normal(0, 0.6, (frames, 165)).astype(np.float32)
    trans = rng.normal(0, 1, (frames, 3)).astype(np.float32)
    scene = bpy.context.scene
    modules["animation"].bake_animation(scene, rig, poses, trans, fps=23.976)
    assert (scene.frame_start, scene.frame_end) == (1, frames)
    assert scene.render.fps / scene.render.fps_base == pytest.approx(23.976)
    keyed_frames, read_poses, read_trans = modules["animation"].read_animation(rig)
    assert np.array_equal(keyed_frames, np.arange(1, frames + 1))
    assert geodesic(modules, read_poses.reshape(-1, 3), poses.reshape(-1, 3)).max() <= 1e-5
    assert np.abs(read_trans - trans).max() <= 1e-6
    scene.frame_set(17)
    blender = modules["rig"].evaluated_vertices(bpy.context, modules["rig"].rig_mesh(rig))
    numpy = model.pose(poses[16:17], None, trans[16:17], pose_correctives=False).vertices[0]
    assert np.abs(blender - numpy).max() <= TOLERANCE_M


def write_amass(path, frames: int = 25, seed: int = 0, joints: int = 52) -> dict:
    rng = np.random.default_rng(seed)
    data = {"poses": rng.normal(0, 0.5, (frames, joints * 3)), "trans": rng.normal(0, 1, (frames, 3)),
            "betas": rng.normal(0, 1, 16), "mocap_framerate": np.float64(60.0), "gender": np.str_("female")}
    np.savez(path, **data)
    return data


def set_user_model(addon, tmp_path, family: str) -> None:
    path = write_npz(tmp_path / f"{family.upper()}_NEUTRAL.npz", random_model_arrays(family))
    prefs = bpy.context.preferences.addons[addon.__name__].preferences
    setattr(prefs, f"{family}_path", str(path))
    bpy.context.scene.pocket_mocap.body_model = family


def test_import_and_export_motion_operators(addon, modules, tmp_path):
    set_user_model(addon, tmp_path, "smplx")
    source = write_amass(tmp_path / "walk.npz")
    assert bpy.ops.pocket_mocap.import_motion(filepath=str(tmp_path / "walk.npz")) == {"FINISHED"}
    rig = bpy.context.active_object
    assert rig.type == "ARMATURE" and rig.name == "walk"
    assert (bpy.context.scene.frame_end, bpy.context.scene.render.fps) == (25, 60)
    assert tuple(rig.rotation_euler) == (0.0, 0.0, 0.0), "AMASS is Z-up: no extra rotation"
    out = tmp_path / "walk again.npz"
    assert bpy.ops.pocket_mocap.export_motion(filepath=str(out)) == {"FINISHED"}
    motion = modules["motion"].read_motion(out)
    expected = modules["motion"].convert_layout(source["poses"].astype(np.float32), "smplh", "smplx")
    assert motion.surface_model_type == "smplx" and motion.fps == 60.0 and motion.gender == "female"
    assert geodesic(modules, motion.poses.reshape(-1, 3), expected.reshape(-1, 3)).max() <= 1e-5
    assert np.abs(motion.trans - source["trans"]).max() <= 1e-6
    assert np.allclose(motion.betas, source["betas"][:10], atol=1e-6)


@pytest.mark.parametrize("content, message", [
    ({"trans": np.zeros((3, 3))}, 'holds no "poses"'),
    ({"poses": np.zeros((3, 50)), "mocap_framerate": 30.0}, r"expected \(frames, 72\)"),
    ({"poses": np.zeros((3, 72))}, "states no frame rate"),
], ids=["no-poses", "bad-width", "no-fps"])
def test_bad_motion_files_are_explained(addon, tmp_path, content, message):
    set_user_model(addon, tmp_path, "smpl")
    path = tmp_path / "bad.npz"
    np.savez(path, **content)
    objects = len(bpy.data.objects)
    with pytest.raises(RuntimeError, match=message):
        bpy.ops.pocket_mocap.import_motion(filepath=str(path))
    assert len(bpy.data.objects) == objects


def test_add_body_operator(addon, tmp_path):
    set_user_model(addon, tmp_path, "smpl")
    bpy.context.scene.pocket_mocap.betas = (1.0, -1.0, 0, 0, 0, 0, 0, 0, 0, 0)
    assert bpy.ops.pocket_mocap.add_body() == {"FINISHED"}
    rig = bpy.context.active_object
    assert len(rig.data.bones) == 24
    keys = rig.children[0].data.shape_keys.key_blocks
    assert (keys["Shape000"].value, keys["Shape001"].value) == (1.0, -1.0)
    bpy.context.scene.pocket_mocap.gender = "female"
    with pytest.raises(RuntimeError, match="There is no female model next to"):
        bpy.ops.pocket_mocap.add_body()
    bpy.context.scene.pocket_mocap.gender = "neutral"


def test_fbx_round_trip_keeps_bones_keys_animation_and_deformation(addon, modules, tmp_path):
    model = random_model(modules, "smplx", vertices=1200)
    rig_module, animation = modules["rig"], modules["animation"]
    rig = rig_module.build_rig(bpy.context, model, np.full(10, 0.5), name="fbx")
    rng = np.random.default_rng(11)
    frames = 12
    poses = rng.normal(0, 0.5, (frames, 165)).astype(np.float32)
    trans = rng.normal(0, 0.3, (frames, 3)).astype(np.float32)
    animation.bake_animation(bpy.context.scene, rig, poses, trans, fps=30)
    source = {}
    for frame in (1, 6, 12):
        bpy.context.scene.frame_set(frame)
        source[frame] = (rig_module.evaluated_vertices(bpy.context, rig_module.rig_mesh(rig)) @ np.eye(3),
                         {b.name: np.array(rig.matrix_world @ b.matrix) for b in rig.pose.bones})
    body_source = rig_module.rig_mesh(rig)
    path = tmp_path / "fbx.fbx"
    bpy.context.view_layer.objects.active = rig
    assert bpy.ops.pocket_mocap.export_fbx(filepath=str(path), preset="BLENDER") == {"FINISHED"}
    source_world = np.array(body_source.matrix_world)
    key_count = len(body_source.data.shape_keys.key_blocks)
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj)
    bpy.ops.import_scene.fbx(filepath=str(path), anim_offset=0)
    imported = next(o for o in bpy.data.objects if o.type == "ARMATURE")
    mesh = next(o for o in bpy.data.objects if o.type == "MESH")
    assert len(imported.data.bones) == 55
    assert len(mesh.data.shape_keys.key_blocks) == key_count
    action = imported.animation_data.action
    assert tuple(round(f) for f in action.frame_range) == (1, frames)
    worst = 0.0
    for frame, (vertices, bones) in source.items():
        bpy.context.scene.frame_set(frame)
        for name, matrix in bones.items():
            got = np.array(imported.matrix_world @ imported.pose.bones[name].matrix)
            relative = modules["rotations"].matrix_to_axis_angle(got[:3, :3].T @ matrix[:3, :3])
            worst = max(worst, np.degrees(np.linalg.norm(relative)))
        depsgraph = bpy.context.evaluated_depsgraph_get()
        evaluated = mesh.evaluated_get(depsgraph)
        world = np.array(evaluated.matrix_world)
        data = evaluated.to_mesh()
        co = np.array([v.co for v in data.vertices])
        evaluated.to_mesh_clear()
        got_world = co @ world[:3, :3].T + world[:3, 3]
        want_world = vertices @ source_world[:3, :3].T + source_world[:3, 3]
        assert np.abs(got_world - want_world).max() <= TOLERANCE_M, frame
    assert worst <= 0.01, f"bone rotations differ by up to {worst:.4f} degrees"
