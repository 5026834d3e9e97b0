"""Does a checkpoint generalise? Its accuracy on images it cannot have memorised must agree
with its accuracy on the public test set.

The MNIST and CIFAR-10 test sets are public, so a model can encode them: a ViT trained on the
test set only scores ~100 % there. Each evaluation therefore also measures two held-out sets,
drawn afresh at grading time from a seed the trusted side makes with os.urandom and never
writes anywhere, so no student can know which images they are:

- `holdout_train_images` images sampled at random from the official *training* set (honest
  models have trained on them or on images like them; a test-set memoriser has not);
- `holdout_shifted_images` copies of random test images, each moved by a random offset of up
  to `holdout_max_shift` pixels with zero padding (what crop augmentation shows an honest ViT
  in training), so that a model that recognises the exact test images it memorised meets
  images it has never seen.

A checkpoint is scored only when its test accuracy is at most `holdout_margin` points above
its accuracy on the training images and at most `shifted_margin` points above its accuracy on
the shifted copies (each per checkpoint in course.toml, else the [capstone] default).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from a4_eval import Split


def draw_rng() -> np.random.Generator:
    """A generator seeded from os.urandom: fresh at every grading, known to no student."""
    return np.random.default_rng(int.from_bytes(os.urandom(16), "little"))


@dataclass(frozen=True)
class Settings:
    train_images: int       # training images sampled per evaluation
    shifted_images: int     # shifted test copies per evaluation
    max_shift: int          # largest offset, in pixels, of a shifted copy (each axis)
    margin: float           # points the test accuracy may exceed the training images' accuracy by
    shifted_margin: float   # points the test accuracy may exceed the shifted copies' accuracy by


def settings(cap: dict, spec: dict) -> Settings:
    """The held-out check's settings for checkpoint `spec` of course.toml [capstone]; absent
    sample sizes are 0 (no check)."""
    def points(key: str, default: float) -> float:
        return float(spec.get(key, cap.get(key, default)))
    return Settings(int(cap.get("holdout_train_images", 0)), int(cap.get("holdout_shifted_images", 0)),
                    int(cap.get("holdout_max_shift", 2)), points("holdout_margin", 3.0),
                    points("shifted_margin", 5.0))


def sample_indices(n_total: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """n distinct indices of range(n_total), sorted (a memory-mapped array reads them in order)."""
    return np.sort(rng.choice(n_total, size=min(n, n_total), replace=False))


def random_offsets(n: int, max_shift: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(dy, dx), each int (n,) in [-max_shift, max_shift], uniform over every offset but (0, 0)."""
    side = 2 * max_shift + 1
    k = rng.integers(1, side * side, size=n)          # 0 would be the unmoved image
    k = (k + side * max_shift + max_shift) % (side * side)   # shift so that (0, 0) is the one left out
    return k // side - max_shift, k % side - max_shift


def translate(x: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """Images x (N, C, H, W) moved down by dy (N,) and right by dx (N,) pixels, zeros where
    the moved image does not reach: (N, C, H, W), same dtype."""
    n, c, h, w = x.shape
    s = int(max(np.abs(dy).max(initial=0), np.abs(dx).max(initial=0)))
    xp = np.pad(x, ((0, 0), (0, 0), (s, s), (s, s)))                  # (N, C, H + 2s, W + 2s)
    rows = (s - dy)[:, None] + np.arange(h)                           # (N, H): source row of each output row
    cols = (s - dx)[:, None] + np.arange(w)                           # (N, W)
    return xp[np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None],
              rows[:, None, :, None], cols[:, None, None, :]]


def shifted_copies(test: Split, n: int, max_shift: int, rng: np.random.Generator) -> Split:
    """Randomly translated copies of n random test images, with their labels."""
    pick = sample_indices(len(test.y), n, rng)
    dy, dx = random_offsets(len(pick), max_shift, rng)
    return Split(translate(test.x[pick], dy, dx), test.y[pick], f"shifted copies of {test.label} test images")


def disagreements(test_acc: float, held: dict[str, tuple[float, int, float]]) -> list[str]:
    """One phrase per held-out set whose accuracy is more than its margin below test_acc.
    `held`: what -> (accuracy %, images, margin in points)."""
    return [f"{acc:.2f}% on {n:,} {what} (margin {margin:g})" for what, (acc, n, margin) in held.items()
            if n and not test_acc - acc <= margin]
