"""What the assignments call: load arrays from the cache, and describe where they came from."""
from __future__ import annotations

import sys

import numpy as np

from . import cache, spec
from .errors import DatasetMissingError
from .paths import mirror_from_env


def _meta(name: str, data_dir=None) -> dict:
    """The cache's metadata; if the cache is missing and $VITLAB_MIRROR is set, import first."""
    try:
        return cache.read_meta(name, data_dir)
    except DatasetMissingError:
        mirror = mirror_from_env()
        if mirror is None:
            raise
    from .fetching import fetch

    def log(msg):
        print(msg, file=sys.stderr)

    log(f"vitdata: {spec.PLAIN_NAME[name]} is not cached yet; importing it from VITLAB_MIRROR={mirror}")
    return fetch(name, mirror=mirror, data_dir=data_dir, log=log)


def load(name: str, split: str = "train", data_dir=None, mmap: bool = False):
    """Load one split of a cached dataset.

    Returns images uint8 (N, C, H, W) and labels int64 (N,). With mmap=True the arrays are
    read-only memory maps of the cache files (nothing is read until it is used).
    Raises DatasetMissingError (with the command that fetches the data) if it is not cached.
    """
    name, split = spec.check_name(name), spec.check_split(split)
    return cache.load_split(name, split, _meta(name, data_dir), mmap=mmap)


def load_mnist(split: str = "train", data_dir=None, mmap: bool = False):
    """MNIST: images uint8 (N, 1, 28, 28), labels int64 (N,); N = 60,000 train / 10,000 test."""
    return load("mnist", split, data_dir, mmap)


def load_cifar10(split: str = "train", data_dir=None, mmap: bool = False):
    """CIFAR-10: images uint8 (N, 3, 32, 32), labels int64 (N,); N = 50,000 train / 10,000 test."""
    return load("cifar10", split, data_dir, mmap)


def info(name: str, data_dir=None) -> dict:
    """The cache's record: source, source_kind, official, checksums, counts, created, cache, ..."""
    return _meta(spec.check_name(name), data_dir)


def display_name(name: str, data_dir=None) -> str:
    """How results on the cached data are labelled, e.g. "CIFAR-10 (JPEG copy)"."""
    return info(name, data_dir)["display_name"]


def normalize(images: np.ndarray, name: str) -> np.ndarray:
    """uint8 (N, C, H, W) -> float32 (N, C, H, W), scaled to 0..1 then standardised per channel."""
    name = spec.check_name(name)
    mean = np.asarray(spec.MEAN[name], np.float32).reshape(1, -1, 1, 1)  # (1, C, 1, 1)
    std = np.asarray(spec.STD[name], np.float32).reshape(1, -1, 1, 1)
    return (images.astype(np.float32) / 255.0 - mean) / std
