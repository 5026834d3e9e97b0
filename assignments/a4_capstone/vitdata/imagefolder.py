"""CIFAR-10 from an ImageFolder copy: `[prefix/]train/<class>/*` and `test/<class>/*`, PNG or JPEG.

There is no official checksum for such a copy; counts, image sizes and class folders are
checked instead. Images are put in a fixed order: round-robin over the classes (the first
image of each class, then the second, ...), each class in natural file-name order, so any
prefix of the arrays is class-balanced like the official batches.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import PurePosixPath

import numpy as np

from . import spec
from .errors import DatasetCorruptError, fetch_hint

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
KIND = {frozenset({"JPEG"}): "imagefolder-jpeg", frozenset({"PNG"}): "imagefolder-png",
        frozenset({"JPEG", "PNG"}): "imagefolder-mixed"}
CHUNK = 2500  # images per worker task: big enough to amortise pickling the bytes


def _natural(name: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def find(tree) -> dict | None:
    """Locate `train/<class>/` and `test/<class>/` folders; None if there are none."""
    classes = spec.CLASSES["cifar10"]
    groups: dict[tuple, dict] = {}
    for rel in tree.files():
        parts = PurePosixPath(rel).parts
        if len(parts) >= 3 and parts[-3] in spec.SPLITS:
            group = groups.setdefault(parts[:-3], {"train": {}, "test": {}})
            group[parts[-3]].setdefault(parts[-2], []).append(rel)
    candidates = [p for p, g in groups.items()
                  if all(set(g[s]) & set(classes) for s in spec.SPLITS)]
    if not candidates:
        return None
    prefix = min(candidates, key=len)
    where = getattr(tree, "archive", None) or tree.root
    files = {}
    for split, by_class in groups[prefix].items():
        base = "/".join((*prefix, split))
        extra = sorted(set(by_class) - set(classes))
        missing = [c for c in classes if c not in by_class]
        if extra or missing:
            raise DatasetCorruptError(
                f"{where}: {base}/ must hold exactly the CIFAR-10 class folders "
                f"({', '.join(classes)}); unexpected: {extra or 'none'}, missing: {missing or 'none'}")
        files[split] = _interleave([
            sorted((r for r in by_class[c] if r.lower().endswith(IMAGE_EXTENSIONS)),
                   key=lambda r: _natural(PurePosixPath(r).name))
            for c in classes])
    return {"prefix": "/".join(prefix), "files": files}


def _interleave(per_class: list[list[str]]) -> list[tuple[int, str]]:
    """[(label, rel)] ordered by (rank within class, label)."""
    ranked = [(rank, label, rel) for label, rels in enumerate(per_class) for rank, rel in enumerate(rels)]
    return [(label, rel) for _, label, rel in sorted(ranked)]


def decode_chunk(items: list[tuple[str, bytes]]):
    """Decode [(where, encoded bytes)] to uint8 (n, 32, 32, 3) plus the set of formats seen."""
    from PIL import Image

    out = np.empty((len(items), 32, 32, 3), np.uint8)  # (n, H, W, C)
    formats = set()
    for i, (where, raw) in enumerate(items):
        try:
            with Image.open(io.BytesIO(raw)) as im:
                if im.format not in ("PNG", "JPEG"):
                    raise DatasetCorruptError(f"{where}: a {im.format} image; expected PNG or JPEG")
                if im.size != (32, 32):
                    raise DatasetCorruptError(f"{where}: image is {im.size[0]}x{im.size[1]}, expected 32x32")
                formats.add(im.format)
                out[i] = np.asarray(im.convert("RGB"))
        except DatasetCorruptError:
            raise
        except Exception as e:  # PIL raises many types for broken files; all mean "corrupt"
            raise DatasetCorruptError(f"{where}: cannot decode image ({type(e).__name__}: {e}); "
                                      f"{fetch_hint('cifar10')}") from None
    return out, formats


def _decode_all(items, workers: int, log):
    chunks = [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)]
    if workers <= 1 or len(chunks) <= 1:
        results = []
        for k, chunk in enumerate(chunks):
            results.append(decode_chunk(chunk))
            log(f"  decoded {min((k + 1) * CHUNK, len(items))}/{len(items)}")
        return results
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = []
        for k, result in enumerate(pool.map(decode_chunk, chunks)):
            results.append(result)
            if (k + 1) % 4 == 0 or k + 1 == len(chunks):
                log(f"  decoded {min((k + 1) * CHUNK, len(items))}/{len(items)} ({workers} processes)")
        return results


def read(tree, found: dict, workers: int | None = None, log=print):
    """Decode every image once. Returns ({split: (images, labels)}, checksums, kind).

    images: uint8 (N, 3, 32, 32); labels: int64 (N,).
    """
    workers = min(2, os.cpu_count() or 1) if workers is None else workers
    for split in spec.SPLITS:
        expected, got = spec.COUNTS["cifar10"][split], len(found["files"][split])
        if got != expected:
            where = tree.where("/".join(p for p in (found["prefix"], split) if p))
            raise DatasetCorruptError(f"{where}/: {got} images, expected {expected}; "
                                      f"{fetch_hint('cifar10')}")
    every = [rel for split in spec.SPLITS for _, rel in found["files"][split]]
    log(f"  reading {len(every)} image files")
    raws = tree.read_many(every)  # one pass over an archive for both splits
    manifest = hashlib.sha256()
    for rel in sorted(every):
        manifest.update(f"{rel}\0{hashlib.sha256(raws[rel]).hexdigest()}\n".encode())
    out, formats = {}, set()
    for split in spec.SPLITS:
        pairs = found["files"][split]
        items = [(tree.where(rel), raws.pop(rel)) for _, rel in pairs]
        results = _decode_all(items, workers, log)
        formats |= set().union(*(f for _, f in results))
        images = np.concatenate([r for r, _ in results]).transpose(0, 3, 1, 2)  # (N, 3, 32, 32)
        labels = np.array([label for label, _ in pairs], dtype=np.int64)  # (N,)
        out[split] = (np.ascontiguousarray(images), labels)
    kind = KIND.get(frozenset(formats), "imagefolder-mixed")
    checksums = {"manifest": {"sha256": manifest.hexdigest(), "official": False,
                              "check": "not official: no published checksum for an ImageFolder "
                                       "copy; sha256 over every file's path and sha256"}}
    return out, checksums, kind
