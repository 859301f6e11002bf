"""Hand4Whole and BinaryHPE (its binarized form), as in ../shared/design/MODELS.md part B.

File order (as timm's): binary layers, LCR blocks, encoders, heads, the model, builder, entry points.

Binarization (B.3): activations Hardtanh then Sign (piecewise-quadratic surrogate gradient); weights Sign
times a per-output-channel alpha = mean |w|; RPReLU after every binary conv. Every binary conv sits in an
LCR block with a full-precision bypass (B.4). Kept full precision (B.5, B.6): stems, the Block Residual
(ResNet's downsample shortcut, 1x1 conv + BN), deconv 3 and the centre conv of BoxNet, its final Linear
layers, the PositionNets, RotationNets and the face regressor.
Counting convention (B.7): Params = P_full + P_binary / 32 and OPs = MAC_full + MAC_binary / 64, where
"binary" are the weights (and MACs) of binary convs and linears.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# -- binary layers ------------------------------------------------------------------------------------


class SignSurrogate(torch.autograd.Function):
    """Sign (0 -> +1) forward; the piecewise-quadratic derivative 2 - 2|a| on |a| < 1 backward (Bi-Real)."""

    @staticmethod
    def forward(ctx, a: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(a)
        return torch.where(a >= 0, torch.ones_like(a), -torch.ones_like(a))

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (a,) = ctx.saved_tensors
        return grad * torch.clamp(2 - 2 * a.abs(), min=0)


def binarize_activation(x: torch.Tensor) -> torch.Tensor:
    return SignSurrogate.apply(torch.clamp(x, -1, 1))


def binarize_weight(weight: torch.Tensor) -> torch.Tensor:
    """``alpha_o * sign(w)`` with a straight-through gradient to the latent float weights."""
    alpha = weight.abs().mean(dim=tuple(range(1, weight.dim())), keepdim=True)
    signs = torch.where(weight >= 0, torch.ones_like(weight), -torch.ones_like(weight))
    return (alpha * signs - weight).detach() + weight


class OneBit:
    """A 1-bit layer: counted at 1/32 of a parameter (B.7); inside ``torch.onnx.export`` it emits its packed form
    (sign bits + alpha; convolutions as exact ±1 integer arithmetic, ``binary_runtime.export_binary_layer``)."""

    one_bit = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.onnx.is_in_onnx_export():
            from .binary_runtime import export_binary_layer

            return export_binary_layer(self, x)
        return self.binary_forward(x)


class BinaryConv2d(OneBit, nn.Conv2d):
    """A 1-bit convolution: both operands ±1, the output scaled by alpha."""

    def binary_forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(binarize_activation(x), binarize_weight(self.weight), self.bias)


class BinaryLinear(OneBit, nn.Linear):
    def binary_forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(binarize_activation(x), binarize_weight(self.weight), self.bias)


class BinaryConvTranspose2d(OneBit, nn.ConvTranspose2d):
    def binary_forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = binarize_weight(self.weight.transpose(0, 1)).transpose(0, 1)
        return F.conv_transpose2d(binarize_activation(x), weight, self.bias, self.stride, self.padding)


class RPReLU(nn.Module):
    """y = (o - gamma) + zeta if o > gamma else beta (o - gamma) + zeta, per channel."""

    def __init__(self, channels: int):
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.beta = nn.Parameter(torch.full((1, channels, 1, 1), 0.25))
        self.zeta = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shifted = x - self.gamma
        return torch.where(shifted > 0, shifted, self.beta * shifted) + self.zeta


# -- LCR blocks (B.4): each binary conv with a full-precision bypass ---------------------------------


class LCRBranch(nn.Module):
    """RPReLU(BinConv(a_f)) + bypass(a_f), without the final BN (shared by the fusion blocks)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int):
        super().__init__()
        self.conv = BinaryConv2d(in_ch, out_ch, kernel, stride, kernel // 2, bias=False)
        self.act = RPReLU(out_ch)
        self.stride = stride

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        bypass = F.avg_pool2d(a, 2, 2) if self.stride == 2 else a
        return self.act(self.conv(a)) + bypass


class BaseLCR(nn.Module):
    """C -> C, stride 1 (BaseLCR) or 2 (DScR): BN(RPReLU(BinConv(a)) + a or AvgPool(a))."""

    def __init__(self, channels: int, kernel: int, stride: int = 1):
        super().__init__()
        self.branch = LCRBranch(channels, channels, kernel, stride)
        self.norm = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.branch(torch.clamp(x, -1, 1)))


class FusionUp(nn.Module):
    """FUR (C -> rC): r parallel C -> C branches concatenated; DSaR when stride 2."""

    def __init__(self, channels: int, ratio: int, kernel: int, stride: int = 1):
        super().__init__()
        self.branches = nn.ModuleList(LCRBranch(channels, channels, kernel, stride) for _ in range(ratio))
        self.norm = nn.BatchNorm2d(channels * ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = torch.clamp(x, -1, 1)
        return self.norm(torch.cat([branch(a) for branch in self.branches], dim=1))


class FusionDown(nn.Module):
    """FDR (C -> C/r): r channel groups, each C/r -> C/r, summed."""

    def __init__(self, channels: int, ratio: int, kernel: int = 1):
        super().__init__()
        self.ratio = ratio
        self.branches = nn.ModuleList(LCRBranch(channels // ratio, channels // ratio, kernel, 1)
                                      for _ in range(ratio))
        self.norm = nn.BatchNorm2d(channels // ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        groups = torch.chunk(torch.clamp(x, -1, 1), self.ratio, dim=1)
        return self.norm(sum(branch(group) for branch, group in zip(self.branches, groups, strict=True)))


# -- encoders: ResNet-50 / ResNet-18 and their BiDRN forms (B.5) --------------------------------------


def conv_bn(in_ch: int, out_ch: int, kernel: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(out_ch))


class Bottleneck(nn.Module):
    """torchvision Bottleneck v1.5 (stride on the 3x3); binary: FDR / BaseLCR or DScR / FUR(4)."""

    def __init__(self, in_ch: int, width: int, stride: int, binary: bool):
        super().__init__()
        out_ch = width * 4
        if binary:
            ratio = in_ch // width
            self.conv1 = BaseLCR(in_ch, 1) if ratio == 1 else FusionDown(in_ch, ratio)
            self.conv2 = BaseLCR(width, 3, stride)
            self.conv3 = FusionUp(width, 4, 1)
        else:
            self.conv1, self.conv2, self.conv3 = conv_bn(in_ch, width, 1), conv_bn(width, width, 3, stride), \
                conv_bn(width, out_ch, 1)
        self.binarized = binary
        self.shortcut = conv_bn(in_ch, out_ch, 1, stride) if stride != 1 or in_ch != out_ch else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = (lambda y: y) if self.binarized else F.relu  # the binary path drops ReLUs (Hardtanh precedes Sign)
        out = self.conv3(act(self.conv2(act(self.conv1(x)))))
        return act(out + self.shortcut(x))


class BasicBlock(nn.Module):
    """ResNet-18's block; binary: DSaR (C -> 2C, stride 2) or BaseLCR, then BaseLCR."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, binary: bool):
        super().__init__()
        if binary:
            self.conv1 = FusionUp(in_ch, out_ch // in_ch, 3, stride) if out_ch != in_ch else BaseLCR(in_ch, 3)
            self.conv2 = BaseLCR(out_ch, 3)
        else:
            self.conv1, self.conv2 = conv_bn(in_ch, out_ch, 3, stride), conv_bn(out_ch, out_ch, 3)
        self.binarized = binary
        self.shortcut = conv_bn(in_ch, out_ch, 1, stride) if stride != 1 or in_ch != out_ch else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = (lambda y: y) if self.binarized else F.relu
        return act(self.conv2(act(self.conv1(x))) + self.shortcut(x))


class ResNet(nn.Module):
    """ResNet-50 (``bottleneck``) or -18 without avgpool/fc; full-precision stem in both forms."""

    def __init__(self, depth: int, binary: bool, in_channels: int = 3):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64),
                                  nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        layers, in_ch = [], 64
        if depth == 50:
            for index, (width, blocks) in enumerate(((64, 3), (128, 4), (256, 6), (512, 3))):
                for block in range(blocks):
                    stride = 2 if block == 0 and index > 0 else 1
                    layers.append(Bottleneck(in_ch, width, stride, binary))
                    in_ch = width * 4
        else:
            for index, width in enumerate((64, 128, 256, 512)):
                for block in range(2):
                    stride = 2 if block == 0 and index > 0 else 1
                    layers.append(BasicBlock(in_ch, width, stride, binary))
                    in_ch = width
        self.layers = nn.Sequential(*layers)
        self.out_channels = in_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(self.stem(x))


class PlainBinaryConv(nn.Module):
    """The plain-BNN baseline's conv: Hardtanh -> BinaryConv -> BN, no bypass, no RPReLU."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1):
        super().__init__()
        self.conv = BinaryConv2d(in_ch, out_ch, kernel, stride, kernel // 2, bias=False)
        self.norm = nn.BatchNorm2d(out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(x))


def plain_binary(module: nn.Module) -> nn.Module:
    """The plain-BNN baseline of a float encoder: every conv after the stem, shortcuts included, binary."""
    for name, child in module.named_children():
        if name == "stem":
            continue
        if isinstance(child, nn.Sequential) and len(child) == 2 and isinstance(child[0], nn.Conv2d):
            conv = child[0]
            setattr(module, name, PlainBinaryConv(conv.in_channels, conv.out_channels, conv.kernel_size[0],
                                                  conv.stride[0]))
        else:
            plain_binary(child)
    return module


# -- heads (B.2, B.6) ---------------------------------------------------------------------------------


def soft_argmax(heatmaps: torch.Tensor) -> torch.Tensor:
    """``(B, K, *S)`` -> expected coordinates ``(B, K, len(S))`` in heatmap units (x, y[, z] order)."""
    batch, joints, *size = heatmaps.shape
    weights = F.softmax(heatmaps.reshape(batch, joints, -1), dim=-1).reshape(batch, joints, *size)
    coordinates = []
    for axis, length in reversed(list(enumerate(size))):
        grid = torch.arange(length, dtype=heatmaps.dtype, device=heatmaps.device)
        dims = [d for d in range(len(size)) if d != axis]
        coordinates.append((weights.sum(dim=[2 + d for d in dims]) * grid).sum(-1))
    return torch.stack(coordinates, -1)


class PositionNet(nn.Module):
    def __init__(self, joints: int, depth: int = 8):
        super().__init__()
        self.joints, self.depth = joints, depth
        self.conv = nn.Conv2d(2048, joints * depth, 1)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, _, height, width = features.shape
        heatmaps = self.conv(features).view(batch, self.joints, self.depth, height, width)
        return soft_argmax(heatmaps), heatmaps


def conv_bn_relu(in_ch: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, 1), nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True))


def sample(features: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Bilinear features at ``points (B, K, 2)`` (heatmap x, y) -> ``(B, K, C)``."""
    height, width = features.shape[2:]
    grid = torch.stack([points[..., 0] / (width - 1) * 2 - 1, points[..., 1] / (height - 1) * 2 - 1], -1)
    return F.grid_sample(features, grid[:, :, None], align_corners=True)[..., 0].transpose(1, 2)


class BoxNet(nn.Module):
    """Hand and face boxes from body features + heatmaps; deconvs 1-2 and the hidden Linears binary."""

    def __init__(self, binary: bool, body_joints: int = 25, depth: int = 8):
        super().__init__()
        deconv = BinaryConvTranspose2d if binary else nn.ConvTranspose2d
        linear = BinaryLinear if binary else nn.Linear
        channels = (2048 + body_joints * depth, 256, 256, 256)
        layers = []
        for index, (a, b) in enumerate(zip(channels[:-1], channels[1:], strict=True)):
            kind = deconv if index < 2 else nn.ConvTranspose2d  # deconv 3 stays full precision (B.6)
            layers += [kind(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(inplace=True)]
        self.deconvs = nn.Sequential(*layers)
        self.centres = nn.Conv2d(256, 3, 1)
        self.sizes = nn.ModuleList(nn.Sequential(linear(256, 256), nn.ReLU(inplace=True), nn.Linear(256, 2))
                                   for _ in range(3))

    def forward(self, features: torch.Tensor, heatmaps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """-> centres ``(B, 3, 2)`` and sizes ``(B, 3, 2)`` in body-heatmap units (x, y); order L hand,
        R hand, face."""
        batch = features.shape[0]
        up = self.deconvs(torch.cat([features, heatmaps.flatten(1, 2)], dim=1))
        centres = soft_argmax(self.centres(up))
        picked = sample(up, centres)
        sizes = torch.stack([net(picked[:, part]) for part, net in enumerate(self.sizes)], dim=1)
        return centres.view(batch, 3, 2) / 8, sizes


class HandRotationNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = conv_bn_relu(2048, 512)
        self.pose = nn.Linear(20 * 515, 15 * 6)

    def forward(self, features: torch.Tensor, joints: torch.Tensor) -> torch.Tensor:
        picked = sample(self.features(features), joints[..., :2])
        return self.pose(torch.cat([picked, joints], -1).flatten(1))


class BodyRotationNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.shape, self.camera = nn.Linear(2048, 10), nn.Linear(2048, 3)
        self.body, self.left, self.right = conv_bn_relu(2048, 512), conv_bn_relu(2048, 512), conv_bn_relu(2048, 512)
        self.root, self.pose = nn.Linear(33 * 515, 6), nn.Linear(33 * 515, 21 * 6)

    def forward(self, body, joints, left, left_joints, right, right_joints):
        pooled = body.mean((2, 3))
        mcp = [4, 8, 12, 16]
        tokens = torch.cat([torch.cat([sample(self.body(body), joints[..., :2]), joints], -1),
                            torch.cat([sample(self.left(left), left_joints[:, mcp, :2]), left_joints[:, mcp]], -1),
                            torch.cat([sample(self.right(right), right_joints[:, mcp, :2]), right_joints[:, mcp]], -1)],
                           dim=1).flatten(1)
        return self.root(tokens), self.pose(tokens), self.shape(pooled), self.camera(pooled)


class FaceRegressor(nn.Module):
    def __init__(self, expressions: int = 10):
        super().__init__()
        self.expression, self.jaw = nn.Linear(512, expressions), nn.Linear(512, 6)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = features.mean((2, 3))
        return self.expression(pooled), self.jaw(pooled)


def rotation_6d(values: torch.Tensor) -> torch.Tensor:
    """``(..., 6)`` -> rotation matrices ``(..., 3, 3)`` by Gram-Schmidt on the two columns (Hand4Whole)."""
    pairs = values.reshape(*values.shape[:-1], 3, 2)
    first = F.normalize(pairs[..., 0], dim=-1)
    second = pairs[..., 1] - (first * pairs[..., 1]).sum(-1, keepdim=True) * first
    second = F.normalize(second, dim=-1)
    third = torch.stack([first[..., 1] * second[..., 2] - first[..., 2] * second[..., 1],
                         first[..., 2] * second[..., 0] - first[..., 0] * second[..., 2],
                         first[..., 0] * second[..., 1] - first[..., 1] * second[..., 0]], -1)
    return torch.stack([first, second, third], -1)


def mirror_rotations(rotations: torch.Tensor) -> torch.Tensor:
    """A rotation seen in a left-right mirror: ``M R M`` with ``M = diag(-1, 1, 1)`` (axis-angle y, z negated)."""
    flip = torch.tensor([-1.0, 1.0, 1.0], dtype=rotations.dtype, device=rotations.device)
    return rotations * flip[:, None] * flip[None, :]


def crop_patches(image: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear ``size`` x ``size`` patches of ``image (B, C, H, W)`` inside ``boxes (B, 4)`` (x0, y0, x1, y1 in
    pixels, pixel i covering [i, i + 1)); outside the image is zero. Exports as ONNX GridSample."""
    height, width = image.shape[2:]
    steps = (torch.arange(size, dtype=image.dtype, device=image.device) + 0.5) / size
    xs = boxes[:, 0:1] + steps[None] * (boxes[:, 2:3] - boxes[:, 0:1])
    ys = boxes[:, 1:2] + steps[None] * (boxes[:, 3:4] - boxes[:, 1:2])
    grid = torch.stack([(xs * (2 / width) - 1)[:, None, :].expand(-1, size, -1),
                        (ys * (2 / height) - 1)[:, :, None].expand(-1, -1, size)], -1)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def restore_boxes(centres: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
    """BoxNet's centres and sizes ``(B, 3, 2)`` (body-heatmap units: body-image pixels / 32, as Hand4Whole)
    -> square boxes ``(B, 3, 4)`` in crop pixels: the longer side, times 2.0 for
    hands and 1.5 for the face, then x2 from the 256x192 body image to the 512x384 crop."""
    centre = centres * BODY_STRIDE * 2
    side = torch.maximum(sizes[..., 0], sizes[..., 1]).abs() * BODY_STRIDE * 2
    side = side * torch.tensor(BOX_EXTENSION, dtype=side.dtype, device=side.device)
    return torch.cat([centre - side[..., None] / 2, centre + side[..., None] / 2], -1)


CROP_SIZE, BODY_SIZE, HAND_SIZE, FACE_SIZE = (512, 384), (256, 192), 256, 192
BODY_STRIDE = 32  # body-image and hand-crop pixels per heatmap unit
HEATMAP_BINS = 8  # joint heatmaps: bin i is centred on pixel (i + 0.5) * 32, so a mirror maps x to 7 - x
BOX_EXTENSION = (2.0, 2.0, 1.5)  # left hand, right hand, face
CAMERA_FOCAL, CAMERA_CENTRE = 5000.0, (96.0, 128.0)  # the virtual camera of the 256x192 body image
CAMERA_DEPTH = (CAMERA_FOCAL * CAMERA_FOCAL * 2.5 ** 2 / (BODY_SIZE[0] * BODY_SIZE[1])) ** 0.5  # k = 56.4 m
MCP_JOINTS = (4, 8, 12, 16)
OUTPUTS = ("root", "body_pose", "left_hand", "right_hand", "jaw", "betas", "expression", "camera", "joints",
           "hand_joints", "boxes")


# -- the model -----------------------------------------------------------------------------------------


class Hand4Whole(nn.Module):
    """``variant``: "hand4whole" (float), "bnn" (plain binary encoders), "binaryhpe" (BiDRN + binary BoxNet).

    ``in_channels`` 3 is the RGB crop in [0, 1]; 34 takes the domain-robust input of
    ``core/estimators/silhouette_input.py`` (silhouette + landmark heatmaps, issue 7's mode b), cropped for
    the hands and face like the image. ``expressions``: the body model's expression count (10 for SMPL-X,
    52 ARKit values for the open body)."""

    def __init__(self, variant: str = "binaryhpe", expressions: int = 10, in_channels: int = 3):
        super().__init__()
        bidrn = variant == "binaryhpe"
        self.variant, self.in_channels, self.expressions = variant, in_channels, expressions
        self.body_encoder = ResNet(50, bidrn, in_channels)
        self.hand_encoder = ResNet(50, bidrn, in_channels)
        self.face_encoder = ResNet(18, bidrn, in_channels)
        if variant == "bnn":
            for encoder in (self.body_encoder, self.hand_encoder, self.face_encoder):
                plain_binary(encoder)
        self.body_position, self.hand_position = PositionNet(25), PositionNet(20)
        self.boxes = BoxNet(binary=bidrn)
        self.body_rotation, self.hand_rotation = BodyRotationNet(), HandRotationNet()
        self.face = FaceRegressor(expressions)

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """The whole cascade (B.1, B.2) on the 512x384 person crop ``image (B, C, 512, 384)``.

        Returns rotation matrices (``root (B, 3, 3)``, ``body_pose (B, 21, 3, 3)``, ``left_hand`` and
        ``right_hand (B, 15, 3, 3)``, ``jaw (B, 3, 3)``), ``betas (B, 10)``, ``expression (B, E)``,
        ``camera (B, 3)`` (translation in the body image's virtual camera, metres), ``joints (B, 25, 3)``
        (body heatmap units), ``hand_joints (B, 2, 20, 3)`` (un-mirrored, each in its hand crop's heatmap
        units) and ``boxes (B, 3, 4)`` (left hand, right hand, face in crop pixels)."""
        batch = image.shape[0]
        body = self.body_encoder(F.interpolate(image, BODY_SIZE, mode="nearest"))
        joints, heatmaps = self.body_position(body)
        centres, sizes = self.boxes(body, heatmaps)
        boxes = restore_boxes(centres, sizes)
        hands = self.hand_encoder(torch.cat([crop_patches(image, boxes[:, 0], HAND_SIZE).flip(-1),
                                             crop_patches(image, boxes[:, 1], HAND_SIZE)]))
        hand_joints, _ = self.hand_position(hands)
        finger_rotations = rotation_6d(self.hand_rotation(hands, hand_joints).view(2 * batch, 15, 6))
        unmirror = torch.tensor([-1.0, 1.0, 1.0], dtype=image.dtype, device=image.device)
        left_joints = hand_joints[:batch] * unmirror + torch.tensor([HEATMAP_BINS - 1.0, 0.0, 0.0],
                                                                     dtype=image.dtype, device=image.device)
        left_features, right_features = hands[:batch].flip(-1), hands[batch:]
        root, pose, betas, camera = self.body_rotation(body, joints, left_features, left_joints, right_features,
                                                       hand_joints[batch:])
        expression, jaw = self.face(self.face_encoder(crop_patches(image, boxes[:, 2], FACE_SIZE)))
        depth = CAMERA_DEPTH * torch.sigmoid(camera[:, 2:3])
        return {"root": rotation_6d(root), "body_pose": rotation_6d(pose.view(batch, 21, 6)),
                "left_hand": mirror_rotations(finger_rotations[:batch]), "right_hand": finger_rotations[batch:],
                "jaw": rotation_6d(jaw), "betas": betas, "expression": expression,
                "camera": torch.cat([camera[:, :2], depth], -1), "joints": joints,
                "hand_joints": torch.stack([left_joints, hand_joints[batch:]], 1), "boxes": boxes,
                "box_centres": centres, "box_sizes": sizes}


# -- accounting (B.7) ----------------------------------------------------------------------------------


def count_parameters(model: nn.Module) -> dict[str, float]:
    """``full``, ``binary`` (1-bit weights) and the paper's ``Params = full + binary / 32``, in units."""
    total = sum(p.numel() for p in model.parameters())
    binary = sum(m.weight.numel() for m in model.modules() if getattr(m, "one_bit", False))
    return {"full": total - binary, "binary": binary, "paper": total - binary + binary / 32}


def count_ops(model: Hand4Whole) -> dict[str, float]:
    """MACs at the documented input sizes (one body 256x192, two hands 256x256, one face 192x192), thop-style
    (convolutions, transposed convolutions, linear layers; BN and pooling not counted), split into full and
    binary, and the paper's ``OPs = MAC_full + MAC_binary / 64``."""
    macs = {"full": 0, "binary": 0}

    def hook(module, inputs, output) -> None:
        if isinstance(module, nn.ConvTranspose2d):
            count = inputs[0].numel() * module.out_channels * module.kernel_size[0] * module.kernel_size[1]
        elif isinstance(module, nn.Conv2d):
            count = output.numel() * module.in_channels // module.groups * module.kernel_size[0] * \
                module.kernel_size[1]
        else:
            count = output.numel() * module.in_features
        macs["binary" if getattr(module, "one_bit", False) else "full"] += count

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    with torch.no_grad():
        model.eval()
        body = model.body_encoder(torch.zeros(1, 3, 256, 192))
        hands = model.hand_encoder(torch.zeros(2, 3, 256, 256))
        face = model.face_encoder(torch.zeros(1, 3, 192, 192))
        joints, heatmaps = model.body_position(body)
        model.boxes(body, heatmaps)
        hand_joints, _ = model.hand_position(hands)
        model.hand_rotation(hands, hand_joints)
        model.body_rotation(body, joints, hands[:1], hand_joints[:1], hands[1:], hand_joints[1:])
        model.face(face)
    for handle in handles:
        handle.remove()
    return {**macs, "paper": macs["full"] + macs["binary"] / 64}
