"""Load checkpoints that use the authors' module names (HybrIK / RTMCC naming) into our EfficientHuman.

The authors' code derives from HybrIK (``preact`` backbone, ``decshape``/``decphi``/``deccam`` heads,
``fc1``/``fc2``, ``init_shape``) and from RTMCC's head (``final_layer`` 7x7 conv, ``mlp`` = ScaleNorm + Linear,
a GAU block with ``ln``/``uv``/``gamma``/``beta``/``o``/``res_scale``). Only the ``backbone.`` prefix of the
pretrained MGFENet is documented in MODELS.md; the rest is this table, which is the one place to correct
if a real checkpoint names things otherwise. Unknown keys are reported, never silently dropped.
"""

from __future__ import annotations

import re

import torch

# (authors' pattern, our replacement), applied in order to each key.
AUTHOR_NAMES = (
    (r"^module\.", ""),  # DataParallel checkpoints
    (r"^preact\.", "backbone."),
    (r"^final_layer\.", "keypoints.maps."),
    (r"^mlp\.0\.g$", "keypoints.norm.g"),
    (r"^mlp\.1\.weight$", "keypoints.lift.weight"),
    (r"^gau\.ln\.g$", "keypoints.gau.norm.g"),
    (r"^gau\.uv\.", "keypoints.gau.uv."),
    (r"^gau\.gamma$", "keypoints.gau.gamma"),
    (r"^gau\.beta$", "keypoints.gau.beta"),
    (r"^gau\.o\.", "keypoints.gau.out."),
    (r"^gau\.res_scale\.scale$", "keypoints.gau.residual_scale"),
    (r"^coord_(\d)\.weight$", r"keypoints.coords.\1.weight"),
    (r"^sigma_(\d)\.weight$", r"keypoints.sigmas.\1.weight"),
    (r"^decshape\.", "shape."),
    (r"^decphi\.", "twist."),
    (r"^deccam\.", "camera."),
    (r"^init_shape$", "mean_betas"),
)


def convert_author_state_dict(state: dict[str, torch.Tensor], expected: set[str]) -> dict[str, torch.Tensor]:
    """Rename ``state``'s keys to ours; raises ``KeyError`` naming keys that map to nothing we have."""
    converted, unknown = {}, []
    for key, value in state.items():
        new = key
        for pattern, replacement in AUTHOR_NAMES:
            new = re.sub(pattern, replacement, new)
        (converted.__setitem__(new, value) if new in expected else unknown.append(key))
    missing = sorted(expected - set(converted) - {"camera_offset"})
    if unknown or missing:
        raise KeyError(f"checkpoint keys with no counterpart: {unknown[:5]}; ours not filled: {missing[:5]}")
    return converted
