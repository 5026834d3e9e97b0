"""The two errors a loader raises; both say which file is at fault and how to fix it."""
from __future__ import annotations


class DatasetMissingError(FileNotFoundError):
    """The cache (or a file the import needs) does not exist; the message names the fix."""


class DatasetCorruptError(ValueError):
    """A source file is truncated, malformed or has the wrong checksum; the message names it."""


def fetch_hint(name: str = "all", data_dir=None) -> str:
    """The commands that fill the cache, for error messages (`make` only inside the kit)."""
    from .paths import kit_root

    extra = f" --data-dir {data_dir}" if data_dir is not None else ""
    python = f"`python -m vitdata fetch {name}{extra} [--mirror <dir or .tar.gz>]`"
    if kit_root() is None:
        return f"fetch it with {python} (downloads with torchvision, or imports a local mirror)"
    return (f"fetch it with `make datasets` (online) or `make datasets MIRROR=<dir>` "
            f"(local mirror) from the kit root, or {python}")
