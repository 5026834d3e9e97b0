"""`make release` on a small course: stubs, given code, notebooks, determinism, bad input."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from vitlab.course import CourseError, load_course
from vitlab.release.__main__ import diff_trees
from vitlab.release.build import release
from vitlab.release.fences import FenceError

GOLDEN = Path(__file__).parent / "golden"


def _release(root: Path) -> list[str]:
    return release(load_course(root))


def test_release_layout_and_stubs(course_root):
    log = _release(course_root)
    out = course_root / "assignments"
    assert "a1_demo: 2 tasks" in log[0]
    assert (out / "a1_demo" / "ops.py").read_text() == (GOLDEN / "ops_release.py").read_text()
    assert (out / "a2_more" / "ops.py").read_text() == (GOLDEN / "ops_given.py").read_text()
    assert not (out / "a2_more" / "ops.py").is_symlink()
    assert (out / "a2_more" / "notes.txt").read_text() == "data files are copied as they are\n"
    ini = (out / "a1_demo" / "pytest.ini").read_text()
    assert "--strict-markers" in ini and "task1_1: Task 1.1: Scale (3 points)" in ini
    assert (course_root / "solutions" / "a1_demo" / "pytest.ini").read_text() == ini
    assert "make check TASK=1.2" in (out / "a1_demo" / "README.md").read_text()


def test_release_notebook_goes_through_nbgrader(course_root):
    _release(course_root)
    nb = nbformat.read(course_root / "assignments" / "a1_demo" / "a1_demo.ipynb", as_version=4)
    sources = "\n".join(c.source for c in nb.cells)
    assert "return 3 * x" not in sources and "YOUR CODE HERE" in sources
    assert "triple(7)" not in sources and "BEGIN HIDDEN TESTS" not in sources
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert graded and all("checksum" in c.metadata["nbgrader"] for c in graded)


def test_release_is_deterministic(course_root, tmp_path):
    _release(course_root)
    first = tmp_path / "first"
    subprocess.run(["cp", "-r", str(course_root / "assignments"), str(first)], check=True)
    _release(course_root)
    assert diff_trees(first, course_root / "assignments") == []


def test_public_tests_pass_on_reference_and_fail_with_not_implemented_on_stubs(course_root):
    _release(course_root)
    run = lambda d: subprocess.run([sys.executable, "-m", "pytest", "-rA"], cwd=d, capture_output=True, text=True)
    ref = run(course_root / "solutions" / "a1_demo")
    assert ref.returncode == 0, ref.stdout
    stub = run(course_root / "assignments" / "a1_demo")
    assert stub.returncode == 1
    assert "NotImplementedError: Task 1.1: multiply x by alpha" in stub.stdout
    assert "NotImplementedError: Task 1.2" in stub.stdout
    one = subprocess.run([sys.executable, "-m", "pytest", "-m", "task1_2"], cwd=course_root / "assignments" / "a1_demo",
                         capture_output=True, text=True)
    assert "1 failed, 1 deselected" in one.stdout


def _break(course_root: Path, text: str) -> None:
    ops = course_root / "solutions" / "a1_demo" / "ops.py"
    ops.write_text(ops.read_text() + text)


@pytest.mark.parametrize(
    "broken, words",
    [
        ("\ndef g():\n    ### BEGIN SOLUTION Task 1.1: g\n    return 1\n", r"ops\.py:\d+: .*no matching END"),
        ("\ndef g():\n    ### BEGIN SOLUTION Task 1.9: g\n    return 1\n    ### END SOLUTION\n", r"ops\.py:\d+: fence names task 1\.9"),
    ],
)
def test_bad_fence_stops_release_and_leaves_assignments_untouched(course_root, broken, words):
    _release(course_root)
    before = (course_root / "assignments" / "a1_demo" / "ops.py").read_text()
    _break(course_root, broken)
    with pytest.raises((FenceError, CourseError), match=words):
        _release(course_root)
    assert (course_root / "assignments" / "a1_demo" / "ops.py").read_text() == before
    assert not any(p.name.startswith(".release-") for p in (course_root / "assignments").iterdir())


def test_unregistered_marker_is_an_error(course_root):
    test = course_root / "solutions" / "a1_demo" / "tests" / "test_ops.py"
    test.write_text(test.read_text() + "\n\n@pytest.mark.task1_7\ndef test_extra():\n    pass\n")
    with pytest.raises(CourseError, match=r"test_ops\.py:\d+: marker task1_7 is not a task of a1_demo"):
        _release(course_root)


def test_task_id_used_twice_is_an_error(course_root):
    toml = course_root / "solutions" / "a2_more" / "assignment.toml"
    toml.write_text(toml.read_text().replace('id = "2.1"', 'id = "1.1"'))
    with pytest.raises(CourseError, match="does not belong to assignment a2"):
        load_course(course_root)
    toml.write_text(toml.read_text().replace('id = "1.1"', 'id = "2.1"') + '\n[[tasks]]\nid = "2.1"\ntitle = "again"\npoints = 1\n')
    with pytest.raises(CourseError, match=r"task id 2\.1 is used twice"):
        load_course(course_root)


def test_cli_reports_errors_with_exit_code_2_and_names_the_file(course_root, capsys):
    from vitlab.release.__main__ import main

    assert main(["--root", str(course_root)]) == 0
    _break(course_root, "\ndef g():\n    ### END SOLUTION\n")
    assert main(["--root", str(course_root)]) == 2
    err = capsys.readouterr().err
    assert "ops.py:" in err and "without a matching BEGIN" in err and "left unchanged" in err
    assert main(["--root", str(course_root), "--check"]) == 2
