"""Saving files atomically with ordinary permissions.

`vitlab.io.atomic_write` renames a `mkstemp` file into place, and `mkstemp` files are
private (0600); course files must stay readable (and keep their mode when rewritten).
"""
from __future__ import annotations

import os
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save(path: Path, data: str | bytes) -> None:
    from vitlab.io import atomic_write

    path = Path(path)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
    atomic_write(path, data)
    os.chmod(path, mode)
