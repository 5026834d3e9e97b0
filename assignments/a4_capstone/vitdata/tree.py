"""A mirror's files, whether it is a folder or a tar archive, by relative POSIX path.

Archives are read sequentially in one pass (random access into a .tar.gz is slow) and
never extracted to disk, so a hostile member name cannot write outside the cache.
"""
from __future__ import annotations

import hashlib
import os
import tarfile
import zlib
from pathlib import Path

from .errors import DatasetCorruptError

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.xz", ".tar.bz2")
MAX_DEPTH = 5  # deep enough for <prefix>/train/<class>/<file>; stops a walk of a whole home


def is_archive(path) -> bool:
    return str(path).lower().endswith(ARCHIVE_SUFFIXES)


def file_digest(path: Path, algo: str) -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class DirTree:
    """The files of a folder (up to MAX_DEPTH levels deep)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.archive = None
        self._files = None

    def __repr__(self):
        return f"DirTree({self.root})"

    def files(self) -> list[str]:
        if self._files is None:
            found = []
            base = len(self.root.parts)
            for folder, dirs, names in os.walk(self.root, followlinks=True):
                depth = len(Path(folder).parts) - base
                dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if depth < MAX_DEPTH else []
                rel = Path(folder).relative_to(self.root)
                found += [(rel / n).as_posix() for n in sorted(names) if not n.startswith(".")]
            self._files = found
        return self._files

    def where(self, rel: str) -> str:
        return str(self.root / rel)

    def path(self, rel: str) -> Path:
        return self.root / rel

    def read_many(self, rels) -> dict[str, bytes]:
        out = {}
        for rel in rels:
            try:
                out[rel] = (self.root / rel).read_bytes()
            except OSError as e:
                raise DatasetCorruptError(f"{self.root / rel}: cannot read ({e})") from None
        return out


class TarTree:
    """The regular files inside a tar archive (optionally gzip/xz/bz2-compressed)."""

    def __init__(self, archive: Path):
        self.archive = Path(archive)
        self._files = None

    def __repr__(self):
        return f"TarTree({self.archive})"

    def where(self, rel: str) -> str:
        return f"{self.archive} (member {rel})"

    def _members(self):
        """Yield (name, TarFile, TarInfo) for each regular file; corrupt archives raise."""
        try:
            with tarfile.open(self.archive, "r:*") as tf:
                for m in tf:
                    if m.isfile():
                        name = m.name[2:] if m.name.startswith("./") else m.name
                        yield name, tf, m
        except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
            raise DatasetCorruptError(
                f"{self.archive}: not a complete tar archive ({type(e).__name__}: {e}); "
                "the file is corrupt or truncated, fetch it again") from None

    def files(self) -> list[str]:
        if self._files is None:
            self._files = [name for name, _, _ in self._members()]
        return self._files

    def read_many(self, rels) -> dict[str, bytes]:
        wanted, out = set(rels), {}
        try:
            for name, tf, m in self._members():
                if name in wanted:
                    out[name] = tf.extractfile(m).read()
        except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
            raise DatasetCorruptError(f"{self.archive}: truncated or corrupt member ({e}); "
                                      "fetch it again") from None
        missing = wanted - set(out)
        if missing:
            raise DatasetCorruptError(f"{self.archive}: members vanished while reading: "
                                      f"{', '.join(sorted(missing)[:5])}")
        return out


def open_tree(path: Path):
    path = Path(path)
    if path.is_dir():
        return DirTree(path)
    if path.is_file() and is_archive(path):
        return TarTree(path)
    if path.is_file():
        raise DatasetCorruptError(f"{path}: a mirror must be a folder or a tar archive "
                                  f"({', '.join(ARCHIVE_SUFFIXES)})")
    raise FileNotFoundError(path)
