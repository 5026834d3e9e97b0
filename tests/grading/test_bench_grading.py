"""`make bench NAME=grading` as a smoke run: two copies of the a1 reference, both passes and
one pass alone. It checks the report, not the numbers (timings belong to the benchmark)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench(*args: str) -> str:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'datasets'}"}
    proc = subprocess.run([sys.executable, "-m", "bench.grading", "--copies", "2", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout


def _rows(out: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^\s+([12])\s+\d+\.\d\s", out, re.M)]


@pytest.mark.slow
def test_both_passes_report_the_speed_up():
    out = _bench()
    assert "2 copies of the a1_numpy_layers reference" in out
    assert _rows(out) == ["1", "2"] and re.search(r"speed-up \d+\.\d\dx", out), out


@pytest.mark.slow
def test_one_pass_alone_has_no_speed_up():
    out = _bench("--workers", "2")
    assert _rows(out) == ["2"] and "speed-up" not in out.split("\n", 2)[2] and "total wall time" in out, out
