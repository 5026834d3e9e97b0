"""Strong augmentation for the CIFAR-10 recipes, batched on the device: RandAugment and CutMix.

Public small-ViT results of 90 %+ on CIFAR-10 (e.g. "ViT-Lite", "Escaping the Big Data
Paradigm with Compact Transformers") rely on per-sample RandAugment/TrivialAugment plus
mixup or cutmix and label smoothing. This module does both on whole uint8 (B, C, H, W)
batches where they live (the GPU in the GPU recipes): every image gets its own ops and its
own magnitudes, but nothing loops over images in Python and nothing waits for the host.
All randomness comes from the run's `generator`, so a seeded run is reproducible.

RandAugment here (Cubuk et al., 2020, with TrivialAugment's per-sample magnitude): each image
applies `ops` operations, each chosen uniformly from OPS, each with a magnitude drawn
uniformly from [0, magnitude] (magnitude on RandAugment's 0..10 scale; 0 is the identity).
Colour ops are computed for the whole batch and kept where chosen (cheap elementwise work);
the geometric ops share one per-sample affine matrix and one grid_sample.

Config keys (config.py): randaug_ops (0 = off), randaug_magnitude, cutmix_alpha (0 = off).
Shapes: B batch, C channels, H x W image, K classes.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

OPS = ("identity", "brightness", "color", "contrast", "sharpness", "posterize", "solarize",
       "rotate", "shear_x", "shear_y", "translate_x", "translate_y")
GEOMETRIC = ("rotate", "shear_x", "shear_y", "translate_x", "translate_y")
MAX_MAGNITUDE = 10.0
# Strength at magnitude 10 (RandAugment's ranges, as timm uses them).
MAX_ROTATE_DEG = 30.0
MAX_SHEAR = 0.3
MAX_TRANSLATE = 0.45          # fraction of the image size
MAX_ENHANCE = 0.9             # brightness/colour/contrast/sharpness factor 1 +- 0.9
MAX_POSTERIZE_BITS = 4        # bits removed
SOLARIZE_STEP = 25.6          # threshold = 256 - 25.6 * magnitude


def _gray(x: torch.Tensor) -> torch.Tensor:
    """float (B, C, H, W) -> luminance (B, 1, H, W) (ITU-R 601, as PIL's "L"); grey images pass."""
    if x.shape[1] == 1:
        return x
    w = torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True)


def _blend(a: torch.Tensor, b: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """PIL ImageEnhance: b + factor * (a - b), factor (B,) per image; 1 gives a."""
    return b + factor.view(-1, 1, 1, 1) * (a - b)


def _smooth(x: torch.Tensor) -> torch.Tensor:
    """PIL's SMOOTH kernel per channel, borders left as they are (as ImageEnhance.Sharpness)."""
    C = x.shape[1]
    if min(x.shape[-2:]) < 3:
        return x
    k = torch.ones(3, 3, device=x.device, dtype=x.dtype)
    k[1, 1] = 5.0
    k = (k / 13.0).expand(C, 1, 3, 3)
    out = x.clone()
    out[:, :, 1:-1, 1:-1] = F.conv2d(x, k, groups=C)
    return out


def color_op(name: str, x: torch.Tensor, m: torch.Tensor, sign: torch.Tensor) -> torch.Tensor:
    """One colour op on every image: x float (B, C, H, W) in [0, 255], m (B,) in [0, 10], sign (B,) +-1."""
    if name == "identity":
        return x
    if name in ("brightness", "color", "contrast", "sharpness"):
        factor = 1.0 + sign * m * (MAX_ENHANCE / MAX_MAGNITUDE)
        if name == "brightness":
            return _blend(x, torch.zeros_like(x), factor)
        if name == "color":
            return _blend(x, _gray(x).expand_as(x), factor)
        if name == "contrast":
            return _blend(x, _gray(x).mean(dim=(1, 2, 3), keepdim=True).expand_as(x), factor)
        return _blend(x, _smooth(x), factor)
    if name == "posterize":
        drop = torch.round(m * (MAX_POSTERIZE_BITS / MAX_MAGNITUDE)).view(-1, 1, 1, 1)   # bits removed
        step = torch.pow(2.0, drop)
        return torch.floor(x / step) * step
    if name == "solarize":
        threshold = (256.0 - SOLARIZE_STEP * m).view(-1, 1, 1, 1)
        return torch.where(x >= threshold, 255.0 - x, x)
    raise ValueError(f"randaug: unknown colour op {name!r}")


def affine_matrices(op: torch.Tensor, m: torch.Tensor, sign: torch.Tensor) -> torch.Tensor:
    """Per-image 2 x 3 matrices (B, 2, 3) for affine_grid (normalised coordinates); identity unless
    op (B,) names a geometric op. Translation by t of the size moves by 2t in [-1, 1] coordinates."""
    B = op.shape[0]
    s = sign * m / MAX_MAGNITUDE                                  # (B,) signed strength in [-1, 1]
    theta = torch.zeros(B, 2, 3, device=m.device, dtype=m.dtype)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    angle = s * math.radians(MAX_ROTATE_DEG)
    rot = op == OPS.index("rotate")
    theta[:, 0, 0] = torch.where(rot, torch.cos(angle), theta[:, 0, 0])
    theta[:, 1, 1] = torch.where(rot, torch.cos(angle), theta[:, 1, 1])
    theta[:, 0, 1] = torch.where(rot, -torch.sin(angle), torch.where(op == OPS.index("shear_x"), s * MAX_SHEAR, 0.0))
    theta[:, 1, 0] = torch.where(rot, torch.sin(angle), torch.where(op == OPS.index("shear_y"), s * MAX_SHEAR, 0.0))
    theta[:, 0, 2] = torch.where(op == OPS.index("translate_x"), 2 * s * MAX_TRANSLATE, 0.0)
    theta[:, 1, 2] = torch.where(op == OPS.index("translate_y"), 2 * s * MAX_TRANSLATE, 0.0)
    return theta


def apply_ops(x: torch.Tensor, op: torch.Tensor, m: torch.Tensor, sign: torch.Tensor) -> torch.Tensor:
    """Apply op[b] (an index into OPS) with magnitude m[b] and sign[b] to image b.

    x uint8 (B, C, H, W) -> uint8 (B, C, H, W). Colour ops are computed for the whole batch
    and kept where chosen; all geometric ops go through one affine_grid + grid_sample (zero fill).
    """
    xf = x.float()
    out = xf
    for k, name in enumerate(OPS):
        if name not in GEOMETRIC and name != "identity":
            out = torch.where((op == k).view(-1, 1, 1, 1), color_op(name, xf, m, sign), out)
    geo = torch.zeros_like(op, dtype=torch.bool)
    for name in GEOMETRIC:
        geo |= op == OPS.index(name)
    theta = affine_matrices(op, m, sign)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    warped = F.grid_sample(xf, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    out = torch.where(geo.view(-1, 1, 1, 1), warped, out)
    return out.round().clamp(0, 255).to(torch.uint8)


def rand_augment(x: torch.Tensor, ops: int, magnitude: float, generator: torch.Generator | None = None,
                 choices: tuple[str, ...] = OPS) -> torch.Tensor:
    """RandAugment on a uint8 batch (B, C, H, W) -> same shape and dtype.

    Each image applies `ops` ops in turn, each drawn uniformly from `choices`, with its own
    magnitude ~ U[0, magnitude] and its own sign. ops = 0 or magnitude = 0 returns x unchanged.
    """
    if x.dtype != torch.uint8 or x.ndim != 4:
        raise ValueError(f"rand_augment: expected uint8 (B, C, H, W), got {x.dtype} {tuple(x.shape)}")
    if not 0 <= magnitude <= MAX_MAGNITUDE:
        raise ValueError(f"rand_augment: magnitude = {magnitude} must be in [0, {MAX_MAGNITUDE:g}]")
    if ops == 0 or magnitude == 0:
        return x
    unknown = [c for c in choices if c not in OPS]
    if unknown:
        raise ValueError(f"rand_augment: unknown ops {unknown} (known: {', '.join(OPS)})")
    allowed = torch.tensor([OPS.index(c) for c in choices], device=x.device)
    B = x.shape[0]
    for _ in range(ops):
        pick = torch.randint(0, len(allowed), (B,), device=x.device, generator=generator)
        m = magnitude * torch.rand(B, device=x.device, generator=generator)
        sign = torch.where(torch.rand(B, device=x.device, generator=generator) < 0.5, -1.0, 1.0)
        x = apply_ops(x, allowed[pick], m, sign)
    return x


def _beta(alpha: float, device, generator) -> torch.Tensor:
    """One draw of Beta(alpha, alpha) from two Gammas, with the run's generator."""
    g = torch._standard_gamma(torch.full((2,), alpha, device=device), generator=generator)
    return g[0] / (g[0] + g[1])


def cutmix_mask(B: int, H: int, W: int, lam: torch.Tensor, generator=None, device=None) -> torch.Tensor:
    """Per-image boxes covering about 1 - lam of the image, each centred at its own random point
    and clipped to the image: bool (B, 1, H, W), True inside the box (Yun et al., 2019)."""
    cut = torch.sqrt(1.0 - lam)
    ch, cw = (cut * H).round(), (cut * W).round()
    cy = torch.randint(0, H, (B,), device=device, generator=generator).float()
    cx = torch.randint(0, W, (B,), device=device, generator=generator).float()
    y0, y1 = (cy - ch // 2).clamp(0, H), (cy + ch - ch // 2).clamp(0, H)
    x0, x1 = (cx - cw // 2).clamp(0, W), (cx + cw - cw // 2).clamp(0, W)
    rows = torch.arange(H, device=device).view(1, H, 1)
    cols = torch.arange(W, device=device).view(1, 1, W)
    inside = ((rows >= y0.view(-1, 1, 1)) & (rows < y1.view(-1, 1, 1))
              & (cols >= x0.view(-1, 1, 1)) & (cols < x1.view(-1, 1, 1)))
    return inside[:, None]


def mix_batch(x: torch.Tensor, y: torch.Tensor, num_classes: int, mixup_alpha: float, cutmix_alpha: float,
              generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Mixup and/or CutMix with one partner permutation. x float (B, C, H, W), y int64 (B,)
    -> x (B, C, H, W) and soft targets (B, K). With both on, each image takes one of the two
    (a fair coin per image); CutMix's target weight is the area actually pasted."""
    B, _, H, W = x.shape
    onehot = F.one_hot(y, num_classes).float()                   # (B, K)
    perm = torch.randperm(B, device=x.device, generator=generator)
    ones = torch.ones(B, device=x.device)
    x_out, w = x, ones                                           # w: weight of the image's own label
    if cutmix_alpha > 0:
        mask = cutmix_mask(B, H, W, _beta(cutmix_alpha, x.device, generator), generator, x.device)
        x_out = torch.where(mask, x[perm], x)
        w = 1.0 - mask.flatten(1).float().mean(dim=1)
    if mixup_alpha > 0:
        lam = _beta(mixup_alpha, x.device, generator)
        x_mix = lam * x + (1 - lam) * x[perm]
        if cutmix_alpha > 0:
            use_mix = torch.rand(B, device=x.device, generator=generator) < 0.5
            x_out = torch.where(use_mix.view(-1, 1, 1, 1), x_mix, x_out)
            w = torch.where(use_mix, lam.expand(B), w)
        else:
            x_out, w = x_mix, lam * ones
    return x_out, w[:, None] * onehot + (1 - w[:, None]) * onehot[perm]
