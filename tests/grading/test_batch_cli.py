"""A wrong command line is one line on stderr naming the value and what is allowed; nothing
is graded and no traceback is printed."""
import subprocess
import sys
from pathlib import Path

import pytest

from grading_helpers import FIXTURE, make_submission, tiny_source

ROOT = Path(__file__).resolve().parents[2]


def _grade(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "autograder", "grade", "-q", "--course-root", str(FIXTURE),
           "--graders-root", str(FIXTURE / "graders"), "--harness", str(FIXTURE / "harness"), *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)


def _one_line(r: subprocess.CompletedProcess, *words: str) -> str:
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def one_student(tmp_path):
    return make_submission(tmp_path, "a1_tiny", {"tiny.py": tiny_source(), "tests/test_tiny.py": "x = 1\n"})


def test_wrong_folders_and_values(tmp_path, one_student):
    (tmp_path / "empty").mkdir()
    out = str(tmp_path / "out")
    _one_line(_grade("-s", str(tmp_path / "missing"), "-o", out), "missing", "no such folder")
    _one_line(_grade("-s", str(tmp_path / "empty"), "-o", out), "empty", "no submissions", "one folder or archive")
    _one_line(_grade("-s", str(one_student), "-o", out), "one student's assignment folder", "tiny.py")
    _one_line(_grade("-s", str(one_student / "tiny.py"), "-o", out), "not a folder")
    _one_line(_grade("-s", str(one_student / "tests"), "-o", out), "tests", "none of its 1 entries", "test_tiny.py")
    _one_line(_grade("-a", "a9", "-s", str(tmp_path / "empty"), "-o", out), "unknown assignment 'a9'", "known:")
    _one_line(_grade("-j", "0", "-s", str(tmp_path)), "--workers", "'0'", ">= 1")
    _one_line(_grade("-j", "two", "-s", str(tmp_path)), "--workers", "'two'")
    assert not (tmp_path / "out").exists()


def test_out_may_not_overlap_the_submissions(tmp_path):
    subs = tmp_path / "subs"
    make_submission(subs, "ann", {"tiny.py": tiny_source()})
    _one_line(_grade("-s", str(subs), "-o", str(subs / "out")), "overlap")
    _one_line(_grade("-s", str(subs), "-o", str(subs)), "overlap")
    (tmp_path / "file").write_text("x")
    _one_line(_grade("-s", str(subs), "-o", str(tmp_path / "file")), "not a folder")


def test_make_check_names_an_unknown_task():
    r = subprocess.run(["make", "--no-print-directory", "check", "TASK=1.99"], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode != 0
    assert "check: no task '1.99' in the course (its tasks: 1.1," in r.stderr
    assert "Error 5" not in r.stderr + r.stdout and "pytest" not in r.stderr


def test_make_grade_rejects_a_bad_flag():
    r = subprocess.run(["make", "--no-print-directory", "grade", "FORCE=maybe"], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode != 0 and "FORCE=maybe is not a yes/no value" in r.stderr
