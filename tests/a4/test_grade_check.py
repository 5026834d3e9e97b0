"""`make grade-check ASSIGNMENT=a4` on the real course: the capstone's tasks are graded on
checkpoints a student trains, which neither the reference nor the release folder holds, so
both must score 0 on every task (missing), and the check says why instead of failing."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from vitlab.course import load_course

ROOT = Path(__file__).resolve().parents[2]



def test_grade_check_of_the_capstone_passes_with_zero_for_both():
    r = subprocess.run(["make", "--no-print-directory", "grade-check", "ASSIGNMENT=a4"], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    rows = [line for line in r.stdout.splitlines() if line.startswith(("│ reference", "│ release"))]
    a4 = load_course(ROOT).assignment("a4")             # the kit: 60 points, tasks 4.1-4.4
    assert len(rows) == 2 and all(row.rstrip(" │").endswith(f"0/{a4.points:g}") for row in rows), rows
    for task in (t.id for t in a4.tasks):
        assert f"check: task {task} is graded on files a student produces (checkpoints/" in r.stdout
    assert "Traceback" not in r.stderr
