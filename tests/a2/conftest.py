"""Shared set-up for the assignment 2 kit tests.

The reference modules have plain names (`models`, `checkpoint`, `layers`) that other
assignments use too, so tests import them through `a2`, which puts solutions/a2_numpy_vit
first on sys.path and removes every module it imported afterwards (restoring what was
there), leaving the pytest process as it found it.
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
A2 = ROOT / "solutions" / "a2_numpy_vit"
NAMES = ("layers", "conv", "gradcheck", "patches", "tokens", "attention", "blocks", "models", "optim", "data",
         "solver", "checkpoint", "predict", "vitdata")


@pytest.fixture(scope="module")
def a2():
    saved = {n: m for n, m in sys.modules.items() if n.split(".")[0] in NAMES}
    for n in saved:
        del sys.modules[n]
    sys.path.insert(0, str(A2))
    try:
        yield SimpleNamespace(**{n: importlib.import_module(n) for n in ("models", "checkpoint", "solver")})
    finally:
        sys.path.remove(str(A2))
        for n in [n for n in sys.modules if n.split(".")[0] in NAMES]:
            del sys.modules[n]
        sys.modules.update(saved)
