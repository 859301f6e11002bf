"""How a mode (a) sample looks: skin tone, clothes coloured by body part, hair, lights, a procedural background,
and the camera-like degradations applied after rendering (numpy / cv2). Everything is drawn from the sample's
own appearance generator, so the same seed and index always look the same.

Colours are sRGB in [0, 1] unless a name says ``linear``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.bodymodel.joints import SMPLX_NAMES

SIZE = 256
SKIN_TONES = np.array([  # sRGB, light to dark (roughly Fitzpatrick I-VI), jittered per sample
    (0.96, 0.80, 0.69), (0.92, 0.74, 0.60), (0.85, 0.64, 0.49), (0.74, 0.53, 0.38), (0.56, 0.38, 0.26),
    (0.40, 0.26, 0.18), (0.29, 0.19, 0.13)])
HAIR = np.array([(0.08, 0.06, 0.05), (0.25, 0.16, 0.09), (0.45, 0.30, 0.16), (0.75, 0.60, 0.38),
                 (0.55, 0.55, 0.55), (0.50, 0.20, 0.08)])
# Parts (SMPL-X joint names, a vertex's dominant skinning joint) each garment may cover.
TOP = ("spine1", "spine2", "spine3", "left_collar", "right_collar", "left_shoulder", "right_shoulder")
SLEEVES = ("left_elbow", "right_elbow")
BOTTOM = ("pelvis", "left_hip", "right_hip")
TROUSER_LEGS = ("left_knee", "right_knee")
SHOES = ("left_ankle", "right_ankle", "left_foot", "right_foot")


@dataclass(frozen=True)
class Look:
    """One sample's appearance: per-vertex colours and the lighting of the render."""

    vertex_colours: np.ndarray  # (V, 3) sRGB
    sun_direction: np.ndarray  # (3,) camera space (x right, y down, z forward), pointing from the light
    sun_strength: float  # Blender sun strength (W/m²)
    ambient: np.ndarray  # (3,) world (sky) colour, linear, its brightness included


def srgb_to_linear(colour: np.ndarray) -> np.ndarray:
    colour = np.asarray(colour, np.float64)
    return np.where(colour <= 0.04045, colour / 12.92, ((colour + 0.055) / 1.055) ** 2.4)


def random_look(rng: np.random.Generator, vertex_parts: np.ndarray, hair: np.ndarray) -> Look:
    """``vertex_parts (V,)`` SMPL-X joint index per vertex, ``hair (V,)`` bool -> a random :class:`Look`."""
    skin = SKIN_TONES[rng.integers(len(SKIN_TONES))] * rng.uniform(0.92, 1.08, 3)
    colours = np.tile(skin.clip(0, 1), (len(vertex_parts), 1))
    garments = _garments(rng)
    for names, colour in garments:
        colours[np.isin(vertex_parts, [SMPLX_NAMES.index(n) for n in names])] = colour
    if rng.random() < 0.85:
        colours[hair] = HAIR[rng.integers(len(HAIR))] * rng.uniform(0.85, 1.15)
    azimuth, elevation = rng.uniform(-1.3, 1.3), rng.uniform(0.2, 1.2)  # from the camera's side, above
    towards_light = np.array([np.sin(azimuth) * np.cos(elevation), -np.sin(elevation),
                              -np.cos(azimuth) * np.cos(elevation)])
    ambient = srgb_to_linear(rng.uniform(0.6, 1.0, 3)) * rng.uniform(0.3, 1.0)
    return Look(colours.clip(0, 1).astype(np.float32), -towards_light, float(rng.uniform(1.5, 5.0)), ambient)


def _garments(rng: np.random.Generator) -> list[tuple[tuple[str, ...], np.ndarray]]:
    """Top (with or without sleeves), bottom (shorts or trousers) and shoes, each a random colour."""
    def colour() -> np.ndarray:
        hsv = np.array([[[rng.uniform(0, 180), rng.uniform(0, 255), rng.uniform(30, 255)]]], np.float32)
        return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)[0, 0] / 255.0

    top = TOP + (SLEEVES if rng.random() < 0.5 else ())
    bottom = BOTTOM + (TROUSER_LEGS if rng.random() < 0.7 else ())
    garments = [(top, colour()), (bottom, colour())]
    if rng.random() < 0.9:
        garments.append((SHOES, colour()))
    return garments


def hair_vertices(rest_vertices: np.ndarray, vertex_parts: np.ndarray, head_joint: np.ndarray) -> np.ndarray:
    """Head vertices of the scalp: above the head joint by 6 cm, or behind it and above the ears. ``(V,) bool``."""
    head = vertex_parts == SMPLX_NAMES.index("head")
    up = rest_vertices[:, 1] - head_joint[1]
    back = rest_vertices[:, 2] - head_joint[2]
    return head & ((up > 0.06) | ((back < -0.02) & (up > -0.02)))


def background(rng: np.random.Generator, size: int = SIZE) -> np.ndarray:
    """``(size, size, 3) uint8`` procedural scene: multi-scale colour noise over a gradient, with some
    rectangles and lines for edges and structure (laid out for 256 pixels and scaled)."""
    image = np.zeros((size, size, 3), np.float32)
    base, tint = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
    ramp = np.linspace(0, 1, size, dtype=np.float32)[:, None, None]
    image += base * (1 - ramp) + tint * ramp
    for cells in (4, 16, 64):
        noise = rng.normal(0, 1, (cells, cells, 3)).astype(np.float32)
        image += cv2.resize(noise, (size, size), interpolation=cv2.INTER_CUBIC) * rng.uniform(0.03, 0.15)
    image = (image.clip(0, 1) * 255).astype(np.uint8)
    scale = size / SIZE
    for _ in range(rng.integers(0, 8)):
        x0, y0 = (int(v * scale) for v in rng.integers(-40, SIZE, 2))
        x1, y1 = x0 + int(rng.integers(10, 160) * scale), y0 + int(rng.integers(10, 160) * scale)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.6:
            cv2.rectangle(image, (x0, y0), (x1, y1), colour, -1)
        else:
            cv2.line(image, (x0, y0), (x1, y1), colour, max(1, round(int(rng.integers(1, 6)) * scale)))
    return cv2.GaussianBlur(image, (0, 0), rng.uniform(0.5, 2.5) * scale)


def composite(rgba: np.ndarray, back: np.ndarray) -> np.ndarray:
    """A rendered ``(H, W, 4) uint8`` person (straight alpha) over ``back (H, W, 3) uint8``."""
    alpha = rgba[..., 3:].astype(np.float32) / 255.0
    return (rgba[..., :3] * alpha + back * (1 - alpha)).round().astype(np.uint8)


def degrade(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Camera-like degradations: colour gain and gamma, blur (focus or motion), sensor noise, JPEG."""
    image = rgb.astype(np.float32) / 255.0
    image = (image * rng.uniform(0.8, 1.2, 3)).clip(0, 1) ** rng.uniform(0.8, 1.25)
    image = (image * 255).astype(np.float32)
    if rng.random() < 0.5:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.3, 1.3))
    elif rng.random() < 0.3:
        length = int(rng.integers(3, 8))
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2] = 1.0 / length
        turn = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1.0)
        kernel = cv2.warpAffine(kernel, turn, (length, length))
        image = cv2.filter2D(image, -1, kernel / max(kernel.sum(), 1e-6))
    image += rng.normal(0, rng.uniform(0, 6), image.shape).astype(np.float32)
    out = image.clip(0, 255).round().astype(np.uint8)
    if rng.random() < 0.5:
        _, encoded = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(40, 95))])
        out = cv2.imdecode(encoded, cv2.IMREAD_COLOR)[..., ::-1]
    return np.ascontiguousarray(out)
