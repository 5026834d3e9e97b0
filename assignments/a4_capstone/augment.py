"""Augmentation of whole batches on the device they live on.

The dataset stays on the device as uint8 (N, C, H, W); each batch is cropped and flipped as
uint8, then converted to normalised float, so no per-image Python or host-device copy is
involved (this is what keeps a GPU busy). All randomness comes from the `generator` passed
in, so a seeded run is reproducible.

Shapes: B batch, C channels, H x W image, K classes.
"""
from __future__ import annotations

import torch


def normalize(x: torch.Tensor, mean, std) -> torch.Tensor:
    """uint8 (B, C, H, W) -> float32 (B, C, H, W): (x / 255 - mean[c]) / std[c]."""
    if x.dtype != torch.uint8 or x.ndim != 4:
        raise ValueError(f"normalize: expected uint8 (B, C, H, W), got {x.dtype} {tuple(x.shape)}")
    mean = torch.as_tensor(mean, dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
    std = torch.as_tensor(std, dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
    return (x.float() / 255.0 - mean) / std


def random_crop(x: torch.Tensor, padding: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero-pad each image by `padding` pixels and cut a random H x W window per image.

    x (B, C, H, W) any dtype -> same shape and dtype. The window's top-left corner is uniform
    in [0, 2 * padding] in each direction, independently per image; padding = 0 returns x
    (and draws nothing). Offsets come from `generator` only. The reference draws them in one
    call, torch.randint(0, 2 * padding + 1, (2, B)) (row 0 the vertical offsets, row 1 the
    horizontal ones); any other order of draws from `generator` is accepted: the tests check
    that every output is a window of its padded image, that all windows occur, and that the
    generator (not the global RNG) decides, never which window a given image got.
    """
    B, C, H, W = x.shape
    if padding == 0:
        return x
    xp = torch.nn.functional.pad(x, (padding, padding, padding, padding))     # (B, C, H + 2p, W + 2p)
    off = torch.randint(0, 2 * padding + 1, (2, B), device=x.device, generator=generator)
    rows = (off[0, :, None] + torch.arange(H, device=x.device))[:, None, :, None]   # (B, 1, H, 1)
    cols = (off[1, :, None] + torch.arange(W, device=x.device))[:, None, None, :]   # (B, 1, 1, W)
    b = torch.arange(B, device=x.device)[:, None, None, None]
    c = torch.arange(C, device=x.device)[None, :, None, None]
    out = xp[b, c, rows, cols]                                                    # (B, C, H, W)
    return out


def random_hflip(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2, independently: (B, C, H, W) -> same.

    The reference mirrors image i where torch.rand(B, generator=generator)[i] < 0.5; as with
    random_crop, any per-image draw from `generator` is accepted (tests check properties).
    """
    flip = torch.rand(x.shape[0], device=x.device, generator=generator) < 0.5   # (B,)
    out = torch.where(flip[:, None, None, None], x.flip(-1), x)
    return out


def mixup(x: torch.Tensor, y: torch.Tensor, num_classes: int, alpha: float,
          generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Mix each sample with another from the batch (Zhang et al., 2018), one lambda ~ Beta(alpha, alpha).

    x float (B, C, H, W), y int64 (B,) -> mixed x (B, C, H, W) and soft targets (B, K).
    """
    onehot = torch.nn.functional.one_hot(y, num_classes).float()       # (B, K)
    # Beta(a, a) from two Gammas, drawn with the run's generator so it is reproducible.
    g1 = torch._standard_gamma(torch.full((2,), alpha, device=x.device), generator=generator)
    lam = g1[0] / (g1[0] + g1[1])
    perm = torch.randperm(x.shape[0], device=x.device, generator=generator)
    return lam * x + (1 - lam) * x[perm], lam * onehot + (1 - lam) * onehot[perm]


def augment_batch(x: torch.Tensor, y: torch.Tensor, *, mean, std, num_classes: int, crop_padding: int = 0,
                  hflip: bool = False, mixup_alpha: float = 0.0, generator: torch.Generator | None = None):
    """uint8 batch (B, C, H, W), labels (B,) -> normalised float (B, C, H, W) and targets.

    Targets are the int64 labels (B,), or soft (B, K) float targets when mixup is on.
    Every step draws from `generator`, in this order: the crop's offsets, then the flips
    (when hflip), then mixup's lambda and permutation (when mixup_alpha > 0).
    """
    x = random_crop(x, crop_padding, generator)
    if hflip:
        x = random_hflip(x, generator)
    x = normalize(x, mean, std)
    if mixup_alpha > 0:
        return mixup(x, y, num_classes, mixup_alpha, generator)
    return x, y
