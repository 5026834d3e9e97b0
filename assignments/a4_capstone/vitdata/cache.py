"""The decoded cache: one folder per dataset holding uncompressed .npy arrays and meta.json.

    <data_root>/<name>/train_images.npy   uint8 (N, C, H, W)
    <data_root>/<name>/train_labels.npy   int64 (N,)
    <data_root>/<name>/test_images.npy, test_labels.npy
    <data_root>/<name>/meta.json          source, source_kind, checksums, counts, created

The folder is built beside its final place and renamed in, so it is either complete or absent.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from . import spec
from .errors import DatasetCorruptError, DatasetMissingError, fetch_hint
from .paths import atomic_dir, data_root

FORMAT = 1


def dataset_dir(name: str, data_dir=None) -> Path:
    return data_root(data_dir) / name


def _save(path: Path, array: np.ndarray) -> str:
    """np.save with fsync; returns the sha256 of the array's bytes."""
    with open(path, "wb") as f:
        np.save(f, np.ascontiguousarray(array), allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())
    return hashlib.sha256(np.ascontiguousarray(array).data).hexdigest()


def write(name: str, arrays: dict, meta: dict, data_dir=None) -> Path:
    """Write {split: (images, labels)} and meta.json atomically; returns the cache folder."""
    final = dataset_dir(name, data_dir)
    with atomic_dir(final) as tmp:
        digests = {}
        for split, (images, labels) in arrays.items():
            digests[f"{split}_images.npy"] = _save(tmp / f"{split}_images.npy", images)
            digests[f"{split}_labels.npy"] = _save(tmp / f"{split}_labels.npy", labels)
        meta = {**meta, "format": FORMAT, "cache_sha256": digests}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return final


def read_meta(name: str, data_dir=None) -> dict:
    folder = dataset_dir(name, data_dir)
    path = folder / "meta.json"
    if not path.is_file():
        raise DatasetMissingError(f"{spec.PLAIN_NAME[name]} is not in the cache: {path} does not exist; "
                                  f"{fetch_hint(name, data_dir)}")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise DatasetCorruptError(f"{path}: unreadable cache metadata ({e}); rebuild it with "
                                  f"`python -m vitdata fetch {name} --force`") from None
    return {**meta, "cache": str(folder)}


def load_split(name: str, split: str, meta: dict, mmap: bool = False):
    """Load (images, labels) of one split and check them against meta.json."""
    folder = Path(meta["cache"])
    n = meta["counts"][split]
    expected = {"images": ((n, *spec.IMAGE_SHAPE[name]), np.uint8), "labels": ((n,), np.int64)}
    out = []
    for role, (shape, dtype) in expected.items():
        path = folder / f"{split}_{role}.npy"
        try:
            array = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
        except (OSError, ValueError, EOFError) as e:
            raise DatasetCorruptError(f"{path}: damaged cache file ({e}); rebuild it with "
                                      f"`python -m vitdata fetch {name} --force`") from None
        if array.shape != shape or array.dtype != dtype:
            raise DatasetCorruptError(f"{path}: holds {array.dtype} {array.shape}, meta.json says "
                                      f"{np.dtype(dtype)} {shape}; rebuild it with "
                                      f"`python -m vitdata fetch {name} --force`")
        out.append(array)
    return out[0], out[1]


def verify(meta: dict) -> list[str]:
    """Recompute the sha256 of every cached array; returns the names that differ."""
    bad = []
    for fname, digest in meta["cache_sha256"].items():
        array = np.load(Path(meta["cache"]) / fname, mmap_mode="r", allow_pickle=False)
        if hashlib.sha256(np.ascontiguousarray(array).data).hexdigest() != digest:
            bad.append(fname)
    return bad


def pixel_stats(images: np.ndarray) -> tuple[list[float], list[float]]:
    """Exact per-channel mean and std on the 0..1 scale of uint8 images (N, C, H, W)."""
    means, stds = [], []
    values = np.arange(256, dtype=np.float64) / 255.0
    for c in range(images.shape[1]):
        hist = np.bincount(images[:, c].ravel(), minlength=256).astype(np.float64)
        p = hist / hist.sum()
        mean = float(p @ values)
        means.append(round(mean, 4))
        stds.append(round(float(np.sqrt(p @ (values - mean) ** 2)), 4))
    return means, stds
