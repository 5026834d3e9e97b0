"""Fill the cache: find a dataset in a mirror (or download the official files), verify, decode once."""
from __future__ import annotations

import hashlib
import time
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from . import cache, cifar, imagefolder, mnist, official, spec
from .errors import DatasetCorruptError, DatasetMissingError, fetch_hint, mirror_hint
from .paths import data_root, mirror_from_env
from .tree import DirTree, TarTree, is_archive

TORCHVISION = {"mnist": "MNIST", "cifar10": "CIFAR10"}
ORDER_OFFICIAL = "official order"
ORDER_IMAGEFOLDER = "round-robin over classes, each class in natural file-name order"
LOOKED_FOR = {
    "mnist": "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
             "t10k-labels-idx1-ubyte (raw or .gz), in the folder or in a *mnist*.tar.gz",
    "cifar10": "cifar-10-batches-py/, cifar-10-python.tar.gz, train/<class>/ + test/<class>/ "
               "image folders, or a *cifar*.tar.gz holding either",
}


def _readers(name: str):
    if name == "mnist":
        return [(mnist.find, mnist.read)]
    return [(cifar.find, cifar.read), (imagefolder.find, imagefolder.read)]


def _trees(name: str, mirror: Path):
    """Candidate trees in order of preference: the mirror itself, then archives inside it."""
    if mirror.is_file():
        if not is_archive(mirror):
            raise DatasetCorruptError(f"{mirror}: a mirror must be a folder or a .tar.gz archive")
        yield TarTree(mirror)
        return
    top = DirTree(mirror)
    yield top
    archives = [r for r in top.files() if is_archive(r)]
    key = "mnist" if name == "mnist" else "cifar"
    official = [r for r in archives if PurePosixPath(r).name == spec.CIFAR_TARBALL]
    named = [r for r in archives if key in PurePosixPath(r).name.lower() and r not in official]
    for rel in (official if name == "cifar10" else []) + sorted(named, key=len):
        yield TarTree(top.path(rel))


def locate(name: str, mirror: Path):
    """Return (tree, found, read) for the best source of `name` in `mirror`."""
    if not mirror.exists():
        raise DatasetMissingError(f"mirror {mirror} does not exist; {fetch_hint(name)}")
    for tree in _trees(name, mirror):
        for find, read in _readers(name):
            found = find(tree)
            if found is not None:
                return tree, found, read
    raise DatasetMissingError(f"no {spec.PLAIN_NAME[name]} in mirror {mirror} (looked for "
                              f"{LOOKED_FOR[name]}); {fetch_hint(name)}")


def _listed_sha256(archive: Path) -> str | None:
    """The archive's sha256 as listed in a SHA256SUMS file beside it, if there is one."""
    sums = archive.parent / "SHA256SUMS"
    if not sums.is_file():
        return None
    for line in sums.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split()
        if len(parts) == 2 and PurePosixPath(parts[1].lstrip("*")).name == archive.name:
            return parts[0].lower()
    return None


def _archive_record(archive: Path) -> dict:
    md5, sha = hashlib.md5(), hashlib.sha256()
    with open(archive, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            md5.update(block)
            sha.update(block)
    record = {"file": str(archive), "md5": md5.hexdigest(), "sha256": sha.hexdigest()}
    if archive.name == spec.CIFAR_TARBALL:
        record["official"] = record["md5"] == spec.CIFAR_TARBALL_MD5
        record["check"] = ("md5 matches the official tarball" if record["official"] else
                           "md5 differs from the official tarball; its batches are verified one by one")
        return record
    record["official"] = False
    listed = _listed_sha256(archive)
    if listed is not None and listed != record["sha256"]:
        raise DatasetCorruptError(f"{archive}: sha256 {record['sha256']} differs from the one in "
                                  f"{archive.parent / 'SHA256SUMS'} ({listed}); the copy is damaged")
    record["check"] = ("not official; sha256 matches the mirror's SHA256SUMS" if listed else
                       "not official: no published checksum for this archive; sha256 recorded")
    return record


def download(name: str, raw_dir: Path, log=print) -> tuple[Path, str]:
    """Download the official files into `raw_dir` (with torchvision, or the standard library
    where torchvision is not installed); offline, say what to do. Returns (folder, origin)."""
    try:
        import torchvision  # only needed here, so the loaders work without it
    except ImportError:
        torchvision = None
    try:
        if torchvision is None:
            log(f"{spec.PLAIN_NAME[name]}: downloading the official files into {raw_dir}")
            return official.download(name, raw_dir, log), "official-download"
        log(f"{spec.PLAIN_NAME[name]}: downloading the official files with torchvision into {raw_dir}")
        dataset = getattr(torchvision.datasets, TORCHVISION[name])
        for train in (True, False):
            dataset(str(raw_dir), train=train, download=True)
    except Exception as e:  # urllib, http and checksum errors all mean "could not download"
        reason = " ".join(str(e).split()) or type(e).__name__
        reason = reason if len(reason) <= 200 else reason[:197] + "..."
        raise DatasetMissingError(
            f"{spec.PLAIN_NAME[name]}: download failed ({reason}). Offline? Import a local mirror "
            f"instead: {mirror_hint(name)}") from None
    return raw_dir, "torchvision-download"


def fetch(name: str, mirror=None, data_dir=None, force: bool = False, workers=None, log=print) -> dict:
    """Make sure the cache holds `name`; import from `mirror` (or $VITLAB_MIRROR) or download.

    Returns the cache's metadata (see `vitdata.info`).
    """
    name = spec.check_name(name)
    if not force:
        try:
            meta = cache.read_meta(name, data_dir)
            log(f"{meta['display_name']}: already cached in {meta['cache']} "
                f"(from {meta['source']}); use --force to import again")
            return meta
        except DatasetMissingError:
            pass
    start = time.time()
    mirror = Path(mirror).expanduser() if mirror is not None else mirror_from_env()
    origin = "mirror"
    if mirror is None:
        mirror, origin = download(name, data_root(data_dir) / "raw", log)
    mirror = mirror.resolve()
    tree, found, read = locate(name, mirror)
    log(f"{spec.PLAIN_NAME[name]}: importing from {tree.archive or tree.root}")
    archive = {tree.archive.name: _archive_record(tree.archive)} if tree.archive else {}
    kwargs = {"workers": workers, "log": log} if read is imagefolder.read else {}
    arrays, checksums, kind = read(tree, found, **kwargs)
    checksums = {**archive, **checksums}
    for fname, record in checksums.items():
        log(f"  {'verified' if record.get('official') else 'recorded'} {fname}: {record['check']}")
    mean, std = cache.pixel_stats(arrays["train"][0])
    copy = kind.startswith("imagefolder")
    meta = {
        "name": name,
        "display_name": spec.DISPLAY[(name, kind)],
        "source": str(tree.archive or tree.root),
        "origin": origin,
        "source_kind": kind,
        # IDX and python-batch readers refuse any file whose md5 is not the official one.
        "official": not copy,
        "checksums": checksums,
        "counts": {s: int(len(arrays[s][1])) for s in spec.SPLITS},
        "shapes": {s: list(arrays[s][0].shape) for s in spec.SPLITS},
        "order": ORDER_IMAGEFOLDER if copy else ORDER_OFFICIAL,
        "train_pixel_mean": mean,
        "train_pixel_std": std,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    meta["import_seconds"] = round(time.time() - start, 2)
    folder = cache.write(name, arrays, meta, data_dir)
    for s in spec.SPLITS:
        log(f"  {s}: {meta['counts'][s]} images {tuple(meta['shapes'][s])} uint8, labels int64")
    log(f"  cache: {folder} ({_size_mb(folder):.0f} MB); {meta['display_name']} "
        f"in {time.time() - start:.1f} s")
    return cache.read_meta(name, data_dir)


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.iterdir()) / 1e6
