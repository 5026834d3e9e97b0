"""Builders of tiny synthetic mirrors in every supported format, so no test needs real data.

The `small` fixture (conftest.py) shrinks the expected counts to 20 train / 10 test images; the
builders register the md5s of the files they write as if they were the official ones
(or leave them unregistered, for the checksum-mismatch tests).
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

import vitdata
from vitdata import spec

REAL_MIRROR = os.environ.get("VITLAB_MIRROR")  # read before the autouse fixture clears it
N = {"train": 20, "test": 10}
MNIST_PREFIX = {"train": "train", "test": "t10k"}


def md5(raw: bytes) -> str:
    return hashlib.md5(raw).hexdigest()


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX encoding of a uint8 array: magic 00 00 08 <ndim>, big-endian dims, data."""
    return bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape) + array.tobytes()


def mnist_arrays() -> dict:
    return {s: vitdata.synthetic("mnist", s, n=N[s], seed=7) for s in N}


def mnist_files(arrays: dict) -> dict[str, bytes]:
    """{official file name: uncompressed IDX bytes}."""
    out = {}
    for split, (images, labels) in arrays.items():
        out[f"{MNIST_PREFIX[split]}-images-idx3-ubyte"] = idx_bytes(images[:, 0])
        out[f"{MNIST_PREFIX[split]}-labels-idx1-ubyte"] = idx_bytes(labels.astype(np.uint8))
    return out


def register_mnist(monkeypatch, files: dict[str, bytes]) -> None:
    for fname, raw in files.items():
        split, role, _, gz_md5 = spec.MNIST_FILES[fname]
        monkeypatch.setitem(spec.MNIST_FILES, fname, (split, role, md5(raw), gz_md5))


def write_mnist(folder: Path, monkeypatch, gz: bool = True, register: bool = True) -> dict:
    """Write the four IDX files into `folder`; returns the arrays they hold."""
    arrays = mnist_arrays()
    files = mnist_files(arrays)
    folder.mkdir(parents=True, exist_ok=True)
    for fname, raw in files.items():
        if gz:
            (folder / f"{fname}.gz").write_bytes(gzip.compress(raw))
        else:
            (folder / fname).write_bytes(raw)
    if register:
        register_mnist(monkeypatch, files)
    return arrays


def cifar_arrays() -> dict:
    return {s: vitdata.synthetic("cifar10", s, n=N[s], seed=3) for s in N}


def cifar_batches(arrays: dict) -> dict[str, bytes]:
    """Official-format pickled batches: 5 train batches of 4 images, 1 test batch of 10."""
    def batch(images, labels, tag):
        obj = {b"batch_label": tag, b"labels": [int(v) for v in labels],
               b"data": images.reshape(len(images), -1), b"filenames": [b"x.png"] * len(labels)}
        return pickle.dumps(obj, protocol=2)

    images, labels = arrays["train"]
    out = {f"data_batch_{k + 1}": batch(images[4 * k:4 * k + 4], labels[4 * k:4 * k + 4], b"train")
           for k in range(5)}
    out["test_batch"] = batch(*arrays["test"], b"test")
    out["batches.meta"] = pickle.dumps({b"label_names": [c.encode() for c in spec.CLASSES["cifar10"]],
                                        b"num_vis": 3072}, protocol=2)
    return out


def register_cifar(monkeypatch, batches: dict[str, bytes]) -> None:
    for name, raw in batches.items():
        if name == "batches.meta":
            monkeypatch.setattr(spec, "CIFAR_META", ("batches.meta", md5(raw)))
        else:
            monkeypatch.setitem(spec.CIFAR_BATCHES, name, (spec.CIFAR_BATCHES[name][0], md5(raw)))


def write_tar(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tf:
        for name, raw in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            tf.addfile(info, io.BytesIO(raw))
    return path


def encode(image_chw: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image_chw.transpose(1, 2, 0)).save(buf, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buf.getvalue()


def imagefolder_members(arrays: dict, fmt: str = "PNG", prefix: str = "") -> dict[str, bytes]:
    """{relative path: encoded image} in train/<class>/NNNN.ext layout."""
    ext = {"PNG": "png", "JPEG": "jpg"}[fmt]
    out = {}
    for split, (images, labels) in arrays.items():
        ranks = {}
        for image, label in zip(images, labels):
            rank = ranks[label] = ranks.get(label, -1) + 1
            out[f"{prefix}{split}/{spec.CLASSES['cifar10'][label]}/{rank:04d}.{ext}"] = encode(image, fmt)
    return out


def write_members(folder: Path, members: dict[str, bytes]) -> Path:
    for rel, raw in members.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(raw)
    return folder


def interleaved(images: np.ndarray, labels: np.ndarray):
    """The order an ImageFolder import uses: by (rank within class, class)."""
    rank = np.zeros(len(labels), int)
    for c in range(10):
        rank[labels == c] = np.arange((labels == c).sum())
    order = np.lexsort((labels, rank))
    return images[order], labels[order]


def leftovers(data_dir: Path) -> list[str]:
    """Temporary or half-written entries under the cache root."""
    if not data_dir.exists():
        return []
    return sorted(p.name for p in data_dir.iterdir() if p.name.startswith("."))


def quiet(*_args, **_kwargs):
    pass
