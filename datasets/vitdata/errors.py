"""The two errors a loader raises; both say which file is at fault and how to fix it."""
from __future__ import annotations


class DatasetMissingError(FileNotFoundError):
    """The cache (or a file the import needs) does not exist; the message names the fix."""


class DatasetCorruptError(ValueError):
    """A source file is truncated, malformed or has the wrong checksum; the message names it."""


def fetch_hint(name: str = "all", data_dir=None) -> str:
    """The commands that fill the cache, for error messages."""
    extra = f" --data-dir {data_dir}" if data_dir is not None else ""
    return (f"fetch it with `make datasets` (online) or `make datasets MIRROR=<dir>` "
            f"(local mirror) from the kit root, or `python -m vitdata fetch {name}"
            f"{extra} [--mirror <dir or .tar.gz>]`")
