"""Copies of a released assignment folder as a student would have them, for the tests of the
student's side (make setup / check / submit): made from assignments/ plus the reference
rendered with some tasks still stubbed."""
from __future__ import annotations

import shutil
from pathlib import Path

from vitlab.course import load_course
from vitlab.release import sources
from vitlab.release.fences import render

ROOT = Path(__file__).resolve().parents[2]


def student_copy(dest: Path, key: str, done: set[str] | None) -> Path:
    """assignments/<key's folder> copied to `dest`, its stubbed modules solved for the tasks in
    `done` (None: every task) from the reference; the rest stay stubs."""
    a = load_course().assignment(key)
    shutil.copytree(ROOT / "assignments" / a.folder, dest, ignore=shutil.ignore_patterns(
        "__pycache__", ".pytest_cache", ".venv", "runs", "checkpoints", "submission.zip"))
    stub = None if done is None else {t.id for t in a.tasks} - done
    for f in sources.walk(a):
        if f.kind == "python" and not f.given and f.rel.parts[0] != "tests":
            text = render(f.path.read_text(encoding="utf-8"), str(f.path), stub_tasks=stub if stub else set())
            (dest / f.rel).write_text(text, encoding="utf-8")
        elif f.kind == "notebook" and not f.given and done is None:   # its questions answered too
            shutil.copyfile(f.path, dest / f.rel)
    return dest
