"""Bake courses and exercises through the real `make` targets, into folders that are removed
after the session.

Courses are baked under build/template-tests/ (ignored by git), not the system temp folder:
the grading sandbox mounts a fresh /tmp, which would hide a course and its `.venv` link
that live there. Each baked course links the kit's `.venv` (SHARE_VENV=1), so nothing is
installed.
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import os
import shutil
import subprocess
import time
import tomllib
import uuid
from pathlib import Path

import pytest

KIT = Path(__file__).resolve().parents[2]


def run(cmd: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MAKEFLAGS", "MAKELEVEL", "PYTEST_ADDOPTS")}
    env["MPLBACKEND"] = "Agg"
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def make(cwd: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return run(["make", "-s", "--no-print-directory", *args], cwd, timeout)


def ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, f"{proc.args} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


@pytest.fixture(scope="session")
def bake_root():
    root = KIT / "build" / "template-tests" / uuid.uuid4().hex[:8]
    root.mkdir(parents=True)
    yield root
    shutil.rmtree(root, ignore_errors=True)
    with contextlib.suppress(OSError):
        root.parent.rmdir()                          # only when no other run uses it


BAKED_AT: dict[Path, float] = {}     # course -> when its bake started


def bake(root: Path, name: str, *opts: str) -> Path:
    """`make new-course NO_INPUT=1` with `opts` as answers; the baked course's folder."""
    dest = root / name
    dest.mkdir()
    started = time.time()
    ok(make(KIT, "new-course", "NO_INPUT=1", f"DEST={dest}", "SHARE_VENV=1", f"OPTS={' '.join(opts)}"))
    (course,) = dest.iterdir()
    BAKED_AT[course] = started
    return course


def tree_digest(root: Path) -> dict[str, str]:
    """Relative path -> content hash of every file (symlinks by target), caches aside."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in ("__pycache__", ".venv", ".pytest_cache", ".hypothesis")]
        for name in filenames + [d for d in dirnames if (Path(dirpath) / d).is_symlink()]:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            out[rel] = "-> " + os.readlink(p) if p.is_symlink() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def gradebook(path: Path) -> dict[tuple[str, str], dict]:
    """(student, task) -> row of a gradebook.csv."""
    with open(path, newline="", encoding="utf-8") as f:
        return {(r["student"], r["task"]): r for r in csv.DictReader(f)}


def toml(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def release_check(course: Path) -> None:
    """The baked course's committed assignments/ is exactly what its own release makes."""
    assert "in sync" in ok(run([str(course / ".venv/bin/python"), "-m", "vitlab.release", "--check"], course))


@pytest.fixture(scope="session")
def a1_course(bake_root):
    """A CPU-only a1 course with its own name and points; test_exercise.py adds tasks to it."""
    return bake(bake_root, "a1-cpu", "course_id=cs231x", "'course_name=Deep Vision 101'", "term=Spring-2027",
                "assignments=a1", "gpu=no", "dataset=mnist", "points=a1=200", "task_points=1.2=7")
