"""MNIST from the four official IDX files (raw or .gz), verified against the official md5s."""
from __future__ import annotations

import gzip
import hashlib
import zlib
from pathlib import PurePosixPath

import numpy as np

from . import spec
from .errors import DatasetCorruptError, DatasetMissingError, fetch_hint

IDX_UBYTE = 0x08


def _rank(rel: str) -> tuple:
    """Prefer .../MNIST/raw/, then files near the top, then uncompressed over .gz."""
    parts = PurePosixPath(rel).parts
    in_mnist = any(p in ("MNIST", "mnist") for p in parts[:-1])
    return (not in_mnist, len(parts), rel.endswith(".gz"))


def find(tree) -> dict[str, str] | None:
    """Map each official file name to its path in `tree`; None if there is no MNIST at all."""
    by_name: dict[str, list[str]] = {}
    for rel in tree.files():
        base = PurePosixPath(rel).name
        stem = base[:-3] if base.endswith(".gz") else base
        if stem in spec.MNIST_FILES:
            by_name.setdefault(stem, []).append(rel)
    if not by_name:
        return None
    missing = [n for n in spec.MNIST_FILES if n not in by_name]
    if missing:
        raise DatasetMissingError(
            f"{getattr(tree, 'archive', None) or tree.root}: MNIST is incomplete, missing "
            f"{', '.join(m + '[.gz]' for m in missing)}; {fetch_hint('mnist')}")
    return {n: min(rels, key=_rank) for n, rels in by_name.items()}


def parse_idx(raw: bytes, where: str, ndim: int) -> np.ndarray:
    """Decode an IDX file of unsigned bytes: magic 00 00 08 <ndim>, big-endian int32 dims."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != IDX_UBYTE or raw[3] != ndim:
        raise DatasetCorruptError(
            f"{where}: not an IDX file of {ndim}-d unsigned bytes (magic {raw[:4].hex() or 'empty'}, "
            f"expected 000008{ndim:02x}); {fetch_hint('mnist')}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetCorruptError(f"{where}: truncated IDX header; {fetch_hint('mnist')}")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">i4", ndim, offset=4))
    size = int(np.prod(dims))
    if len(raw) - header != size:
        what = "truncated" if len(raw) - header < size else "has trailing bytes"
        raise DatasetCorruptError(
            f"{where}: {what}: header says {'x'.join(map(str, dims))} = {size} bytes, "
            f"file holds {len(raw) - header}; {fetch_hint('mnist')}")
    return np.frombuffer(raw, np.uint8, size, offset=header).reshape(dims).copy()


def _gunzip(raw: bytes, where: str) -> bytes:
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise DatasetCorruptError(f"{where}: corrupt or truncated gzip ({e}); "
                                  f"{fetch_hint('mnist')}") from None


def _read_one(name: str, rel: str, raw: bytes, where: str):
    split, role, md5_official, gz_md5_official = spec.MNIST_FILES[name]
    record = {"file": where, "md5": hashlib.md5(raw).hexdigest()}
    if rel.endswith(".gz"):
        record["gz_md5_official"] = record["md5"] == gz_md5_official
        raw = _gunzip(raw, where)
    array = parse_idx(raw, where, 3 if role == "images" else 1)
    expected = spec.COUNTS["mnist"][split]
    if array.shape[0] != expected:
        raise DatasetCorruptError(f"{where}: holds {array.shape[0]} {role}, expected {expected}; "
                                  f"{fetch_hint('mnist')}")
    if role == "images" and array.shape[1:] != spec.IMAGE_SHAPE["mnist"][1:]:
        raise DatasetCorruptError(f"{where}: images are {array.shape[1:]}, expected (28, 28)")
    md5 = hashlib.md5(raw).hexdigest()
    if md5 != md5_official:
        raise DatasetCorruptError(
            f"{where}: md5 {md5} of the IDX data is not the official {md5_official} "
            f"(a modified file, or another dataset with the same file names); {fetch_hint('mnist')}")
    record.update(md5_uncompressed=md5, official=True,
                  check="md5 of the IDX data matches the official MNIST md5")
    return split, role, array, record


def read(tree, files: dict[str, str]):
    """Decode and verify the four files. Returns ({split: (images, labels)}, checksums, kind).

    images: uint8 (N, 1, 28, 28); labels: int64 (N,).
    """
    raws = tree.read_many(files.values())
    arrays: dict[str, dict] = {s: {} for s in spec.SPLITS}
    checksums = {}
    for name, rel in files.items():
        split, role, array, record = _read_one(name, rel, raws[rel], tree.where(rel))
        arrays[split][role] = array
        arrays[split][role + "_where"] = tree.where(rel)
        checksums[PurePosixPath(rel).name] = record
    out = {}
    for split, parts in arrays.items():
        images = parts["images"][:, None]  # (N, 1, 28, 28)
        labels = parts["labels"].astype(np.int64)  # (N,)
        if len(images) != len(labels):
            raise DatasetCorruptError(f"{parts['labels_where']}: {len(labels)} labels for "
                                      f"{len(images)} images in {parts['images_where']}")
        _check_labels(labels, parts["labels_where"])
        out[split] = (images, labels)
    gz = [rel.endswith(".gz") for rel in files.values()]
    kind = "idx-gz" if all(gz) else "idx" if not any(gz) else "idx-mixed"
    return out, checksums, kind


def _check_labels(labels: np.ndarray, where: str) -> None:
    if set(np.unique(labels).tolist()) != set(range(10)):
        raise DatasetCorruptError(f"{where}: labels {sorted(set(np.unique(labels).tolist()))} "
                                  "are not the digits 0..9")
