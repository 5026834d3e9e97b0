"""Tiny learnable stand-ins for MNIST and CIFAR-10, so tests never need real data.

Each class has a fixed smooth template (a random 4x4 grid of intensities per channel,
blown up to the image size); an image is its class template at a random contrast plus
Gaussian noise. Train and test share the templates, so what is learnt on one transfers.
"""
from __future__ import annotations

import numpy as np

from . import spec

DEFAULT_N = {"train": 512, "test": 128}
GRID = 4  # template resolution: each cell covers (H/4, W/4) pixels


def _templates(name: str) -> np.ndarray:
    """Class templates (10, C, H, W) in 0..1, the same for every split and seed."""
    c, h, w = spec.IMAGE_SHAPE[name]
    rng = np.random.default_rng(1000 + spec.NAMES.index(name))
    grid = rng.uniform(0.0, 1.0, (10, c, GRID, GRID))  # (10, C, 4, 4)
    return grid.repeat(-(-h // GRID), axis=2).repeat(-(-w // GRID), axis=3)[:, :, :h, :w]


def synthetic(name: str, split: str = "train", n: int | None = None, seed: int = 0):
    """Deterministic fixture with the real dataset's shapes and dtypes.

    Returns images uint8 (n, C, H, W) and labels int64 (n,), classes balanced (n % 10 aside).
    The same (name, split, n, seed) always gives the same arrays; train and test differ.
    """
    name, split = spec.check_name(name), spec.check_split(split)
    n = DEFAULT_N[split] if n is None else int(n)
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    rng = np.random.default_rng([seed, spec.SPLITS.index(split), spec.NAMES.index(name)])
    labels = rng.permutation(np.arange(n) % 10).astype(np.int64)  # (n,)
    contrast = rng.uniform(0.5, 0.9, (n, 1, 1, 1))
    noise = rng.normal(0.0, 0.12, (n, *spec.IMAGE_SHAPE[name]))  # (n, C, H, W)
    x = 0.1 + contrast * _templates(name)[labels] * 0.8 + noise
    return np.clip(np.rint(x * 255), 0, 255).astype(np.uint8), labels
