"""Release order: a2_more ships a1_demo's solved ops.py as given code, so nothing that writes
a2_more's student-facing folder (make release, make gradescope) may run while a1_demo is open
by course.toml's deadlines, unless the instructor passes --allow-open-given
(ALLOW_OPEN_GIVEN=1). VITLAB_TODAY stands in for the current time."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from vitlab.course import load_course
from vitlab.release.open_given import still_open

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "term"))
import term_helpers as th  # noqa: E402  (the runnable course copy that make runs in)

DEADLINE = """
[gradebook.deadlines.a1_demo]
due = 2026-10-09T23:59:00Z
no_credit_after = 2026-10-16T23:59:00Z
"""


@pytest.fixture
def term_course(course_root: Path) -> Path:
    with open(course_root / "course.toml", "a", encoding="utf-8") as f:
        f.write(DEADLINE)
    return course_root


def _release(root: Path, today: str, *flags: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "VITLAB_TODAY"} | {"VITLAB_TODAY": today}
    return subprocess.run([sys.executable, "-m", "vitlab.release", "--root", str(root), *flags], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


def _refused(stderr: str, prefix: str) -> str:
    """The one line a refusal prints (make's own `make: *** ...` line aside)."""
    lines = [x for x in stderr.strip().splitlines() if not x.startswith("make: ***")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    line = lines[0]
    for words in (prefix, "a2_more ships a1_demo's reference solutions as given code (ops.py)",
                  "a1_demo is open until 2026-10-16T23:59:00Z", "nothing was written", "--allow-open-given",
                  "ALLOW_OPEN_GIVEN=1"):
        assert words in line, line
    return line


@pytest.mark.parametrize("today", ["2026-10-01", "2026-10-12T08:00:00Z"])   # before due; in the late window
def test_release_is_refused_while_the_given_code_is_open(term_course, today):
    r = _release(term_course, today)
    assert r.returncode == 2, r.stdout + r.stderr
    line = _refused(r.stderr, "release: ")
    assert f"today is {today[:10]}" in line, line
    assert not (term_course / "assignments").exists()
    assert not (term_course / "solutions" / "a1_demo" / "pytest.ini").exists()


@pytest.mark.slow
def test_release_writes_with_the_flag_and_after_the_deadline_and_check_still_runs(term_course):
    r = _release(term_course, "2026-10-01", "--allow-open-given")
    assert r.returncode == 0, r.stderr
    assert "ops_solution" not in (term_course / "assignments" / "a2_more" / "ops.py").read_text()
    r = _release(term_course, "2026-10-01", "--check")       # CI: writes nothing, so never refused
    assert r.returncode == 0 and "in sync" in r.stdout, r.stdout + r.stderr
    r = _release(term_course, "2026-10-17")
    assert r.returncode == 0, r.stderr


def test_an_assignment_without_a_deadline_is_never_open(course_root):
    course = load_course(course_root)
    a2 = course.assignment("a2")
    assert still_open(course, a2, datetime(2000, 1, 1, tzinfo=timezone.utc)) == []


def test_a_bad_today_is_named(term_course):
    r = _release(term_course, "next tuesday")
    assert r.returncode == 2 and "VITLAB_TODAY='next tuesday' is not a date" in r.stderr.splitlines()[0], r.stderr


def test_make_gradescope_and_make_release_are_refused_too(term_course, tmp_path, monkeypatch):
    """As typed in an instructor's checkout of that course."""
    course = th.runnable(term_course)
    out = tmp_path / "autograder.zip"
    monkeypatch.setenv("VITLAB_TODAY", "2026-10-01")
    r = th.make(course, "gradescope", "ASSIGNMENT=a2", f"OUT={out}")
    assert r.returncode != 0 and not out.exists(), r.stdout + r.stderr
    assert "(make gradescope ASSIGNMENT=a2 ALLOW_OPEN_GIVEN=1)" in _refused(r.stderr, "gradescope: ")
    r = th.make(course, "release")
    assert r.returncode != 0 and "(make release ALLOW_OPEN_GIVEN=1)" in _refused(r.stderr, "release: ")
    assert not (course / "assignments").exists()
    r = th.make(course, "gradescope", "ASSIGNMENT=a2", f"OUT={out}", "ALLOW_OPEN_GIVEN=1")
    assert r.returncode == 0 and out.is_file(), r.stdout + r.stderr
