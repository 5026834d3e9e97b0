"""Benchmarks run by `make bench` (vitlab/bench.py runs them and records their results)."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path


def plain_modules(folder: Path, names: tuple[str, ...], evict: tuple[str, ...] = ()) -> list:
    """Import `names` from a solutions folder by their plain names (config, models, ...), after
    evicting those and `evict` where another assignment's folder loaded them into this process."""
    for name in (*names, *evict):
        mod = sys.modules.get(name)
        if mod is not None and not str(getattr(mod, "__file__", "")).startswith(str(folder)):
            del sys.modules[name]
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    return [importlib.import_module(name) for name in names]
