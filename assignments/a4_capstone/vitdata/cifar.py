"""CIFAR-10 from the official python batches (`cifar-10-batches-py/`), md5-verified.

Each batch is a pickled dict {data: uint8 (10000, 3072) rows of R, G, B planes,
labels: [int]}. A batch's md5 is checked before it is unpickled, and the unpickler only
accepts the numpy types a batch holds, so a foreign file cannot run code.
"""
from __future__ import annotations

import hashlib
import io
import pickle
from pathlib import PurePosixPath

import numpy as np

from . import spec
from .errors import DatasetCorruptError, DatasetMissingError, fetch_hint

_NUMPY_NAMES = {"_reconstruct", "ndarray", "dtype", "_frombuffer", "scalar"}
_BUILTINS = {("_codecs", "encode"), ("builtins", "bytes")}  # how protocol-2 pickles store bytes


class _BatchUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module.split(".")[0] == "numpy" and name in _NUMPY_NAMES) or (module, name) in _BUILTINS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"unexpected object {module}.{name} in a CIFAR-10 batch")


def find(tree) -> dict | None:
    """Locate the folder holding data_batch_1..5 and test_batch; None if there is none."""
    folders = [str(PurePosixPath(r).parent) for r in tree.files() if PurePosixPath(r).name == "data_batch_1"]
    if not folders:
        return None
    folder = min(folders, key=lambda f: (PurePosixPath(f).name != spec.CIFAR_FOLDER, len(f)))
    present = set(tree.files())
    rel = {n: (PurePosixPath(folder) / n).as_posix() for n in (*spec.CIFAR_BATCHES, spec.CIFAR_META[0])}
    missing = [n for n in spec.CIFAR_BATCHES if rel[n] not in present]
    if missing:
        where = getattr(tree, "archive", None) or tree.root
        raise DatasetMissingError(f"{where}: {folder}/ lacks {', '.join(missing)}; {fetch_hint('cifar10')}")
    meta = rel[spec.CIFAR_META[0]] if rel[spec.CIFAR_META[0]] in present else None
    return {"folder": folder, "batches": {n: rel[n] for n in spec.CIFAR_BATCHES}, "meta": meta}


def _unpickle(raw: bytes, where: str) -> dict:
    try:
        obj = _BatchUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as e:  # any malformed pickle: name the file
        raise DatasetCorruptError(f"{where}: not a CIFAR-10 python batch ({type(e).__name__}: {e}); "
                                  f"{fetch_hint('cifar10')}") from None
    if not isinstance(obj, dict):
        raise DatasetCorruptError(f"{where}: not a CIFAR-10 python batch (a {type(obj).__name__})")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _check_md5(raw: bytes, official: str, where: str) -> dict:
    md5 = hashlib.md5(raw).hexdigest()
    if md5 != official:
        raise DatasetCorruptError(f"{where}: md5 {md5} is not the official {official} "
                                  f"(corrupt, truncated or modified); {fetch_hint('cifar10')}")
    return {"file": where, "md5": md5, "official": True,
            "check": "md5 matches the official CIFAR-10 batch md5"}


def _batch_arrays(batch: dict, where: str):
    """Return images uint8 (N, 3, 32, 32) and labels int64 (N,) of one batch."""
    try:
        data = np.asarray(batch["data"], dtype=np.uint8)
        labels = np.asarray(batch["labels"], dtype=np.int64)
    except (KeyError, ValueError, TypeError) as e:
        raise DatasetCorruptError(f"{where}: batch lacks usable 'data'/'labels' ({e})") from None
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or labels.shape != (data.shape[0],):
        raise DatasetCorruptError(f"{where}: data {data.shape} / labels {labels.shape}, "
                                  "expected (N, 3072) / (N,)")
    return data.reshape(-1, 3, 32, 32), labels


def read(tree, found: dict):
    """Verify and decode every batch. Returns ({split: (images, labels)}, checksums, kind)."""
    names = list(found["batches"].values()) + ([found["meta"]] if found["meta"] else [])
    raws = tree.read_many(names)
    checksums, parts = {}, {s: [] for s in spec.SPLITS}
    for name, rel in found["batches"].items():
        split, official = spec.CIFAR_BATCHES[name]
        where = tree.where(rel)
        checksums[name] = _check_md5(raws[rel], official, where)
        parts[split].append(_batch_arrays(_unpickle(raws[rel], where), where))
    if found["meta"]:
        where = tree.where(found["meta"])
        checksums[spec.CIFAR_META[0]] = _check_md5(raws[found["meta"]], spec.CIFAR_META[1], where)
        names = [n.decode() if isinstance(n, bytes) else n
                 for n in _unpickle(raws[found["meta"]], where).get("label_names", [])]
        if tuple(names) != spec.CLASSES["cifar10"]:
            raise DatasetCorruptError(f"{where}: label names {names} are not CIFAR-10's")
    out = {}
    for split, batches in parts.items():
        images = np.concatenate([b[0] for b in batches])  # (N, 3, 32, 32)
        labels = np.concatenate([b[1] for b in batches])  # (N,)
        where = f"{tree.where(found['folder'])} ({split} batches)"
        expected = spec.COUNTS["cifar10"][split]
        if len(labels) != expected:
            raise DatasetCorruptError(f"{where}: {len(labels)} images, expected {expected}")
        if set(np.unique(labels).tolist()) != set(range(10)):
            raise DatasetCorruptError(f"{where}: labels {sorted(set(labels.tolist()))} are not 0..9")
        out[split] = (images, labels)
    return out, checksums, "cifar-python"
