"""Helpers for tests that run on the kit's real course."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vitlab.course import load_course

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def course():
    return load_course(ROOT)


def run_public_tests(folder: Path, tmp_path: Path) -> dict:
    """Run an assignment folder's public tests; return {nodeid: {markers, outcome, longrepr}}."""
    report = tmp_path / f"{folder.parent.name}-{folder.name}.json"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTHONPATH")}
    env.update(VITLAB_REPORT=str(report), PYTHONPATH=str(Path(__file__).parent), MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "report_plugin", "-q"],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=900)
    if not report.exists():
        raise AssertionError(f"pytest in {folder} wrote no report:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(report.read_text())
