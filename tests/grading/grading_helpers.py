"""Helpers for the grading engine's tests: the tiny fixture course, and submissions built
from its reference by small edits (never copies of reference code)."""
from __future__ import annotations

import shutil
from pathlib import Path

from vitlab.release.fences import render

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "course"
TINY = FIXTURE / "solutions" / "a1_tiny" / "tiny.py"


def tiny_source(stub_tasks=frozenset()) -> str:
    """tiny.py as a student would have it: solved except `stub_tasks` (None: all stubbed)."""
    return render(TINY.read_text(encoding="utf-8"), "tiny.py",
                  stub_tasks=None if stub_tasks is None else set(stub_tasks))


def make_submission(root: Path, name: str, files: dict[str, str | bytes]) -> Path:
    d = root / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    for rel, data in files.items():
        p = d / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        (p.write_bytes if isinstance(data, bytes) else p.write_text)(data)
    return d


def grade_tiny(subs: Path, out: Path, **kw):
    from autograder.engine.grade import grade_all
    return grade_all("a1", subs, out, course_root=FIXTURE, graders_root=FIXTURE / "graders",
                     harness_dir=FIXTURE / "harness", **kw)


def by_student(summary) -> dict[str, dict[str, dict]]:
    """student -> task id -> task result dict."""
    return {r["extra_data"]["student"]: {t["task"]: t for t in r["extra_data"]["tasks"]}
            for r in summary.results}
