"""Mode (a) renders: one background Blender process (bpy, Cycles on the CPU) draws a batch of posed open bodies.

The parent side (:func:`render_batch`) writes the batch to an ``.npz`` (faces once; per sample the camera-space
vertices, vertex colours, crop intrinsics and lights) and runs ``python -m training.synth.render_blender IN OUT``;
the child builds the mesh once, then per sample moves its vertices, recolours it, sets camera and lights and
renders a 256² RGBA PNG (straight alpha, transparent film) into OUT.

Camera model: camera space (x right, y down, z forward) is put into Blender's world as (x, -y, -z), a proper
rotation, and Blender's camera stays at the origin looking down -Z with +Y up, so both sides project alike.
Intrinsics: ``lens = focal * sensor / 256`` and Blender's shift moves the optical axis; OpenCV puts pixel
centres at integer coordinates, Blender at half-integers, hence the 0.5 in the shifts.
Eevee and Workbench need OpenGL: headless here, Workbench ran (software EGL) but shades flat, and Eevee took 34 s
for one frame, so Cycles it is.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

SIZE = 256
SENSOR_MM = 36.0


class RenderError(RuntimeError):
    """Blender failed to render a batch; the message carries its last output lines."""


@dataclass(frozen=True)
class RenderSettings:
    samples: int = 8  # Cycles samples per pixel (16: 1.6 samples/s on 2 cores, 8: 3.1, 4: 4.8)
    threads: int = 2
    size: int = SIZE  # square image side, pixels (the generator's crops are 256)
    denoise: bool = False
    timeout_s: float = 1800.0


def render_batch(faces: np.ndarray, vertices: np.ndarray, colours: np.ndarray, intrinsics: np.ndarray,
                 lights: dict[str, np.ndarray], settings: RenderSettings | None = None) -> np.ndarray:
    """Render N samples in one Blender process: ``faces (T, 3)``, ``vertices (N, V, 3)`` camera space metres,
    ``colours (N, V, 3)`` linear RGB 0..1, ``intrinsics (N, 3)`` (focal, cx, cy) crop pixels, ``lights`` with
    ``sun_direction (N, 3)`` camera space, ``sun_strength (N,)``, ``ambient (N, 3)`` linear ->
    ``(N, size, size, 4) uint8`` RGBA (``settings.size``, 256 by default)."""
    settings = settings or RenderSettings()
    with tempfile.TemporaryDirectory(prefix="pocket_mocap_render_") as folder:
        batch, out = Path(folder) / "batch.npz", Path(folder) / "out"
        out.mkdir()
        np.savez(batch, faces=faces.astype(np.int32), vertices=vertices.astype(np.float32),
                 colours=colours.astype(np.float32), intrinsics=intrinsics.astype(np.float32),
                 samples=settings.samples, threads=settings.threads, denoise=settings.denoise, size=settings.size,
                 **{k: np.asarray(v, np.float32) for k, v in lights.items()})
        command = [sys.executable, "-m", "training.synth.render_blender", str(batch), str(out)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=settings.timeout_s,
                              cwd=Path(__file__).resolve().parents[2])
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
            raise RenderError(f"Blender could not render the batch (exit {done.returncode}):\n{tail}")
        images = []
        for index in range(len(vertices)):
            image = cv2.imread(str(out / f"{index:05d}.png"), cv2.IMREAD_UNCHANGED)
            if image is None or image.shape != (settings.size, settings.size, 4):
                raise RenderError(f"Blender wrote no usable image for sample {index} of the batch.")
            images.append(cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA))
        return np.stack(images)


def blender_camera(intrinsics: np.ndarray, size: int = SIZE) -> tuple[float, float, float]:
    """(lens mm, shift_x, shift_y) of Blender's camera for crop intrinsics (focal, cx, cy), OpenCV pixels of a
    ``size``-pixel square image."""
    focal, cx, cy = (float(v) for v in intrinsics)
    return focal * SENSOR_MM / size, (size / 2 - (cx + 0.5)) / size, ((cy + 0.5) - size / 2) / size


def to_blender(points: np.ndarray) -> np.ndarray:
    """Camera space (x right, y down, z forward) -> Blender world with the camera at the origin looking -Z."""
    return points * np.array([1.0, -1.0, -1.0], points.dtype)


# --- the Blender side (runs in the child process) -----------------------------------------------------------
def _build_scene(bpy, faces: np.ndarray, vertices: np.ndarray, settings: dict):
    for thing in list(bpy.data.objects):
        bpy.data.objects.remove(thing)
    scene = bpy.context.scene
    mesh = bpy.data.meshes.new("body")
    mesh.from_pydata(to_blender(vertices).tolist(), [], faces.tolist())
    mesh.shade_smooth()
    colour = mesh.color_attributes.new("colour", "FLOAT_COLOR", "POINT")
    body = bpy.data.objects.new("body", mesh)
    scene.collection.objects.link(body)
    material = bpy.data.materials.new("skin")
    material.use_nodes = True
    nodes = material.node_tree.nodes
    shader = nodes["Principled BSDF"]
    attribute = nodes.new("ShaderNodeAttribute")
    attribute.attribute_name = colour.name
    material.node_tree.links.new(attribute.outputs["Color"], shader.inputs["Base Color"])
    shader.inputs["Roughness"].default_value = 0.65
    mesh.materials.append(material)
    camera = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    scene.collection.objects.link(camera)
    camera.data.sensor_fit, camera.data.sensor_width = "HORIZONTAL", SENSOR_MM
    camera.data.clip_start, camera.data.clip_end = 0.05, 100.0
    scene.camera = camera
    sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
    sun.data.angle = 0.2
    scene.collection.objects.link(sun)
    world = scene.world or bpy.data.worlds.new("world")
    scene.world = world
    world.use_nodes = True
    render = scene.render
    render.engine, render.resolution_x, render.resolution_y = "CYCLES", int(settings["size"]), int(settings["size"])
    render.resolution_percentage, render.film_transparent = 100, True
    render.image_settings.file_format, render.image_settings.color_mode = "PNG", "RGBA"
    render.threads_mode, render.threads = "FIXED", int(settings["threads"])
    scene.view_settings.view_transform = "Standard"
    cycles = scene.cycles
    cycles.device, cycles.samples, cycles.use_denoising = "CPU", int(settings["samples"]), bool(settings["denoise"])
    cycles.use_adaptive_sampling, cycles.max_bounces, cycles.diffuse_bounces = False, 3, 2
    cycles.glossy_bounces, cycles.transmission_bounces, cycles.transparent_max_bounces = 1, 0, 2
    return scene, mesh, colour, camera, sun, world


def _render_all(batch_path: str, out_dir: str) -> None:
    import bpy
    from mathutils import Vector

    data = np.load(batch_path)
    settings = {key: data[key] for key in ("samples", "threads", "denoise")} | \
        {"size": data["size"] if "size" in data else SIZE}
    scene, mesh, colour, camera, sun, world = _build_scene(bpy, data["faces"], data["vertices"][0], settings)
    background = world.node_tree.nodes["Background"]
    for index in range(len(data["vertices"])):
        mesh.vertices.foreach_set("co", to_blender(data["vertices"][index]).ravel())
        rgba = np.concatenate([data["colours"][index], np.ones((len(mesh.vertices), 1), np.float32)], 1)
        colour.data.foreach_set("color", rgba.astype(np.float32).ravel())
        mesh.update()
        lens, shift_x, shift_y = blender_camera(data["intrinsics"][index], int(settings["size"]))
        camera.data.lens, camera.data.shift_x, camera.data.shift_y = lens, shift_x, shift_y
        direction = Vector(to_blender(data["sun_direction"][index].astype(np.float64)).tolist())
        sun.rotation_euler = direction.to_track_quat("-Z", "Y").to_euler()
        sun.data.energy = float(data["sun_strength"][index])
        background.inputs["Color"].default_value = (*data["ambient"][index].tolist(), 1.0)
        background.inputs["Strength"].default_value = 1.0
        scene.render.filepath = str(Path(out_dir) / f"{index:05d}.png")
        bpy.ops.render.render(write_still=True)


if __name__ == "__main__":
    _render_all(sys.argv[1], sys.argv[2])
