"""The leak guard finds solution and hidden-test lines in a release, and nothing else."""
import shutil

from vitlab.course import load_course
from vitlab.release.build import release
from vitlab.release.leaks import scan


def test_clean_release_has_no_leaks(course_root):
    course = load_course(course_root)
    release(course)
    assert scan(course, course_root / "assignments") == []


def test_leaked_solution_line_is_found_with_its_origin(course_root):
    course = load_course(course_root)
    release(course)
    stub = course_root / "assignments" / "a1_demo" / "ops.py"
    stub.write_text(stub.read_text() + "\n    out = (alpha * x).astype(x.dtype)  # (N, D)\n")
    leaks = [str(leak) for leak in scan(course, course_root / "assignments")]
    assert len(leaks) == 1 and "a1_demo/ops.py" in leaks[0] and "solutions/a1_demo/ops.py:11" in leaks[0]


def test_hidden_notebook_test_and_fence_markers_are_found(course_root):
    course = load_course(course_root)
    release(course)
    notes = course_root / "assignments" / "a2_more" / "notes.txt"
    notes.write_text("a note\n    assert  triple(7) == 21\n### BEGIN SOLUTION\n")
    found = [str(leak) for leak in scan(course, course_root / "assignments")]
    assert len(found) == 2
    assert "notes.txt:2: reveals solutions/a1_demo/a1_demo.ipynb cell 2 (hidden tests fence)" in found[0]
    assert "notes.txt:3: fence marker" in found[1]


def test_copied_grader_is_a_leak(course_root):
    course = load_course(course_root)
    graders = course_root / "autograder" / "graders" / "a1_demo"
    graders.mkdir(parents=True)
    (graders / "test_hidden.py").write_text("def test_secret():\n    assert 42 == 6 * 7\n")
    release(course)
    shutil.copy(graders / "test_hidden.py", course_root / "assignments" / "a1_demo" / "tests" / "test_copied.py")
    assert any("hidden grader" in str(leak) for leak in scan(course, course_root / "assignments"))
