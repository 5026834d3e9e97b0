"""Helpers for the Assignment 3 kit tests.

The reference modules have plain names (`config`, `models`, `train`) that other
assignments use too, so every test that runs them does so in a subprocess with
solutions/a3_torch_vit as its working directory, never in the pytest process.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
A3 = ROOT / "solutions" / "a3_torch_vit"


def a3_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS", "VITLAB_MIRROR")}
    env.update(MPLBACKEND="Agg", OMP_NUM_THREADS="1", PYTHONPATH=f"{A3}{os.pathsep}{ROOT}", **extra)
    return env


def run_a3(code: str, timeout: float = 180, cwd: Path = A3) -> dict:
    """Run `code` in a fresh Python in the a3 folder; it prints one JSON object last. Returns it."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=a3_env(),
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"a3 subprocess failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
