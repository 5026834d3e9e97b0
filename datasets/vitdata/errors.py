"""The two errors a loader raises; both say which file is at fault and how to fix it."""
from __future__ import annotations

from pathlib import Path


class DatasetMissingError(FileNotFoundError):
    """The cache (or a file the import needs) does not exist; the message names the fix."""


class DatasetCorruptError(ValueError):
    """A source file is truncated, malformed or has the wrong checksum; the message names it."""


def fetch_hint(name: str = "all", data_dir=None) -> str:
    """The commands that fill the cache, for error messages: `make datasets` only where the
    folder the user stands in (the kit root or an assignment folder) has that target."""
    extra = f" --data-dir {data_dir}" if data_dir is not None else ""
    python = f"`python -m vitdata fetch {name}{extra} [--mirror <dir or .tar.gz>]`"
    where = make_datasets_here()
    if where is None:
        return f"fetch it with {python} (downloads the official files, or imports a local mirror)"
    make = "make datasets" + ("" if name == "all" else f" DATASET={name}")
    return f"fetch it with `{make}` (online) or `{make} MIRROR=<dir>` (local mirror) {where}, or {python}"


def mirror_hint(name: str) -> str:
    """How to import a local mirror instead of downloading, with the commands that exist here."""
    where = make_datasets_here()
    make = f"`make datasets MIRROR=<dir>` ({where}), " if where else ""
    return f"{make}`python -m vitdata fetch {name} --mirror <dir>`, or set VITLAB_MIRROR=<dir or .tar.gz>"


def make_datasets_here(cwd: Path | None = None) -> str | None:
    """Where `make datasets` runs for someone standing in `cwd`: "in this folder" (an
    assignment folder whose Makefile has the target), "from the kit root", or None."""
    from .paths import kit_root

    here = Path(cwd or Path.cwd())
    try:
        makefile = (here / "Makefile").read_text(encoding="utf-8", errors="replace")
    except OSError:
        makefile = ""
    if "\ndatasets:" in makefile:
        return "in this folder"
    return "from the kit root" if kit_root(here) is not None else None
