"""No sandbox, no student code: without bubblewrap grading refuses to run student code
unless asked by name, and then runs it as nobody, unable to read what is secret or write
what the grader later imports."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grading_helpers import FIXTURE, by_student, make_submission, tiny_source

PROBE = """
import os
for path, mode in [({grader!r}, "r"), ({reference!r}, "a"), ({other!r}, "r")]:
    try:
        open(path, mode).close()
        print("OPENED", path)
    except OSError as e:
        print("REFUSED", path, type(e).__name__)
print("UID", os.getuid(), "HOME", os.environ.get("HOME"))
"""


@pytest.fixture
def no_bwrap(monkeypatch):
    from autograder.engine import sandbox
    monkeypatch.setenv("VITLAB_NO_SANDBOX", "1")
    monkeypatch.setattr(sandbox, "_PROBE", {})


def _grade(course, subs, out, **kw):
    from autograder.engine.grade import grade_all
    return grade_all("a1", subs, out, course_root=course, graders_root=course / "graders",
                     harness_dir=course / "harness", **kw)


def test_refused_without_the_unsafe_flag(tmp_path, no_bwrap):
    from autograder.engine.grade import SandboxUnavailable
    make_submission(tmp_path / "subs", "ref", {"tiny.py": tiny_source()})
    with pytest.raises(SandboxUnavailable, match="no student code was run.*--unsafe-no-sandbox"):
        _grade(FIXTURE, tmp_path / "subs", tmp_path / "out")
    assert not (tmp_path / "out" / "ref").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="checks what root may do")
def test_refused_when_the_graders_are_readable_by_others(tmp_path, no_bwrap, monkeypatch):
    from autograder.engine import sandbox
    monkeypatch.setattr(sandbox, "python_prefixes", lambda: [])   # as where the Python is usable by nobody
    monkeypatch.setattr(sandbox.sys, "executable", "/usr/bin/env")
    from autograder.engine.grade import SandboxUnavailable
    make_submission(tmp_path / "subs", "ref", {"tiny.py": tiny_source()})
    with pytest.raises(SandboxUnavailable, match="readable by other users"):
        _grade(FIXTURE, tmp_path / "subs", tmp_path / "out", allow_unsandboxed=True)


def test_command_line_says_it_in_one_line(tmp_path):
    make_submission(tmp_path / "subs", "ref", {"tiny.py": tiny_source()})
    r = subprocess.run([sys.executable, "-m", "autograder", "grade", "-a", "a1", "-s", str(tmp_path / "subs"),
                        "-o", str(tmp_path / "out"), "--course-root", str(FIXTURE), "--graders-root",
                        str(FIXTURE / "graders"), "--harness", str(FIXTURE / "harness"), "-q"],
                       capture_output=True, text=True, env={"VITLAB_NO_SANDBOX": "1", "PATH": "/usr/bin:/bin",
                                                            "PYTHONPATH": ".:datasets"})
    assert r.returncode == 2, r.stderr
    assert "no student code was run" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def _python_usable_by_nobody() -> bool:
    from autograder.engine.sandbox import python_prefixes, reachable_by_others
    return all(reachable_by_others(Path(p)) for p in (os.path.realpath(sys.executable), *python_prefixes()))


def test_who_can_reach_a_path(tmp_path):
    from autograder.engine.sandbox import reachable_by_others
    open_dir = tmp_path / "open"
    (open_dir / "sub").mkdir(parents=True)
    (open_dir / "sub" / "f").write_text("x")
    os.chmod(tmp_path, 0o755)
    for p in (open_dir, open_dir / "sub"):
        os.chmod(p, 0o755)
    os.chmod(open_dir / "sub" / "f", 0o644)
    private = all(reachable_by_others(p) for p in tmp_path.parents)
    assert reachable_by_others(open_dir / "sub" / "f") == private
    os.chmod(open_dir, 0o750)                 # no search permission for others: nothing below
    assert not reachable_by_others(open_dir / "sub" / "f")
    os.chmod(open_dir, 0o755)
    os.chmod(open_dir / "sub" / "f", 0o600)
    assert not reachable_by_others(open_dir / "sub" / "f")


@pytest.mark.skipif(os.geteuid() != 0, reason="running student code as nobody needs root")
@pytest.mark.skipif(not _python_usable_by_nobody(),
                    reason="this machine's Python lives in a folder other users cannot enter")
def test_unsafe_mode_runs_student_code_as_nobody(tmp_path, no_bwrap):
    course = tmp_path / "course"           # pytest's tmp folders are private (0700)
    shutil.copytree(FIXTURE, course)
    subs = tmp_path / "subs"
    make_submission(subs, "other", {"tiny.py": tiny_source()})
    probe = PROBE.format(grader=str(course / "graders" / "a1_tiny" / "test_tiny.py"),
                         reference=str(course / "solutions" / "a1_tiny" / "tiny.py"),
                         other=str(subs / "other" / "tiny.py"))
    code = tiny_source().replace("    out = a + b\n", "".join(f"    {line}\n" for line in probe.strip().splitlines())
                                 + "    out = a + b\n", 1)
    make_submission(subs, "snoop", {"tiny.py": code})
    fork = tiny_source().replace("    out = a + b\n", "    import os\n    os.fork()\n    out = a + b\n", 1)
    make_submission(subs, "forker", {"tiny.py": fork})
    summary = _grade(course, subs, tmp_path / "out", allow_unsandboxed=True)
    got = by_student(summary)
    assert not summary.plan.isolated
    printed = got["snoop"]["1.1"]["output"]
    assert "OPENED" not in printed and printed.count("REFUSED") >= 3, printed
    assert "UID 65534" in printed
    assert got["snoop"]["1.1"]["status"] == "passed", got["snoop"]["1.1"]["message"]
    assert got["other"]["1.2"]["status"] == "passed"
    assert got["forker"]["1.1"]["status"] == "error" and "PermissionError" in got["forker"]["1.1"]["message"]
    assert (tmp_path / "out" / "WARNING-NOT-SANDBOXED.txt").exists()
    rows = (tmp_path / "out" / "gradebook.csv").read_text().splitlines()[1:]
    assert rows and all("UNSANDBOXED" in r for r in rows)
