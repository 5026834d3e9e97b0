"""`make new-exercise` in a baked course: the task lands in every place the course needs it,
release and grading pick it up, bad answers change nothing, a failed install is undone."""
import shutil
from pathlib import Path

import nbformat
import pytest

from vitlab.course import load_course

from .conftest import KIT, gradebook, make, ok, release_check, run, toml, tree_digest  # noqa: F401

A1 = "a1_numpy_layers"
# The ids the two exercises get: the next free ones after a1's own tasks (1.9 and 1.10 for 1.1-1.8).
_LAST = max(int(t.id.split(".")[1]) for t in load_course(KIT).assignment("a1").tasks)
NEW, NEXT = f"1.{_LAST + 1}", f"1.{_LAST + 2}"
M_NEW, M_NEXT = "task" + NEW.replace(".", "_"), "task" + NEXT.replace(".", "_")


@pytest.fixture(scope="module")
def added(a1_course):
    """The next free a1 task (a leaky ReLU), added with the defaults the template offers."""
    toml_before = (a1_course / "solutions" / A1 / "assignment.toml").read_text(encoding="utf-8")
    before = tree_digest(a1_course)
    out = ok(make(a1_course, "new-exercise", "NO_INPUT=1", "OPTS=assignment=a1 title='Leaky ReLU' points=5"))
    return a1_course, before, toml_before, out


def test_every_file_is_in_place(added):
    course, before, toml_before, out = added
    sol = course / "solutions" / A1
    assert f"task {NEW} (Leaky ReLU, 5 points, marker {M_NEW}) added to a1_numpy_layers" in out
    module = (sol / "leaky_relu.py").read_text(encoding="utf-8")
    assert module.count(f"### BEGIN SOLUTION Task {NEW}: ") == 2 and "def leaky_relu_forward(x, alpha=0.01):" in module
    assert f"pytestmark = pytest.mark.{M_NEW}" in (sol / "tests/test_leaky_relu.py").read_text(encoding="utf-8")
    grader = (course / "autograder/graders" / A1 / "test_leaky_relu.py").read_text(encoding="utf-8")
    assert "def test_forward_matches_reference(student, reference" in grader and "expect_close(" in grader
    text = (sol / "assignment.toml").read_text(encoding="utf-8")
    assert text.startswith(toml_before.rstrip("\n"))                   # appended: comments and layout kept
    assert toml(sol / "assignment.toml")["tasks"][-1] == {
        "id": NEW, "title": "Leaky ReLU", "points": 5, "files": ["leaky_relu.py"], "timeout_s": 30}
    nb = nbformat.read(sol / f"{A1}.ipynb", as_version=4)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    assert {f"{M_NEW}_leaky_relu_intro", f"{M_NEW}_leaky_relu_solution", f"{M_NEW}_leaky_relu_test"} <= set(ids)
    changed = {p for p in set(before) | set(tree_digest(course)) if before.get(p) != tree_digest(course).get(p)}
    outside = {p for p in changed if not p.startswith(f"assignments/{A1}/")} - {
        f"solutions/{A1}/leaky_relu.py", f"solutions/{A1}/tests/test_leaky_relu.py", f"solutions/{A1}/assignment.toml",
        f"solutions/{A1}/{A1}.ipynb", f"solutions/{A1}/pytest.ini", f"autograder/graders/{A1}/test_leaky_relu.py", "README.md"}
    assert not outside, f"new-exercise touched more than its task's files: {sorted(outside)}"


def test_release_picks_it_up(added):
    course = added[0]
    release_check(course)
    assert f"| {NEW} | Leaky ReLU | 5 | `leaky_relu.py` |" in (course / "README.md").read_text(encoding="utf-8")
    released = course / "assignments" / A1
    stub = (released / "leaky_relu.py").read_text(encoding="utf-8")
    assert f'raise NotImplementedError("Task {NEW}: out = x where x > 0, else alpha * x")' in stub
    assert "np.where(x > 0" not in stub
    assert f"{M_NEW}: Task {NEW}: Leaky ReLU (5 points)" in (released / "pytest.ini").read_text(encoding="utf-8")
    nb = (released / f"{A1}.ipynb").read_text(encoding="utf-8")
    assert "slope_demo = np.where" not in nb and "HIDDEN TESTS" not in nb and f"{M_NEW}_leaky_relu_solution" in nb
    py = str(course / ".venv/bin/python")
    leaks = ok(run([py, "-c", "from vitlab.course import load_course; from vitlab.release.leaks import scan; "
                    "c = load_course(); print(*scan(c, c.root / 'assignments'), sep='\\n')"], course))
    assert "leaky_relu" not in leaks and M_NEW not in leaks, leaks


def test_public_tests_pass_on_the_reference_and_fail_on_the_stub(added):
    course = added[0]
    py = str(course / ".venv/bin/python")
    assert "2 passed" in ok(run([py, "-m", "pytest", "-m", M_NEW], course / "solutions" / A1))
    stub = run([py, "-m", "pytest", "-m", M_NEW], course / "assignments" / A1)
    assert "2 failed" in stub.stdout and stub.stdout.count(f"NotImplementedError: Task {NEW}") >= 2, stub.stdout[-2000:]


def test_make_grade_grades_the_new_task(added, tmp_path):
    """One student solved only the new task, one handed in the release untouched."""
    course = added[0]
    subs = tmp_path / "subs"
    for student in ("solved_new", "untouched"):
        shutil.copytree(course / "assignments" / A1, subs / student)
    shutil.copyfile(course / "solutions" / A1 / "leaky_relu.py", subs / "solved_new" / "leaky_relu.py")
    ok(make(course, "grade", "ASSIGNMENT=a1", f"SUBMISSIONS={subs}", f"OUT={tmp_path / 'out'}", "WORKERS=1"))
    rows = gradebook(tmp_path / "out" / "gradebook.csv")
    assert (float(rows[("solved_new", NEW)]["score"]), rows[("solved_new", NEW)]["status"]) == (5.0, "passed")
    assert (float(rows[("untouched", NEW)]["score"]), rows[("untouched", NEW)]["status"]) == (0.0, "not_implemented")
    points = {t["id"]: t["points"] for t in toml(course / "solutions" / A1 / "assignment.toml")["tasks"]}
    for tid, pts in points.items():                                  # the course's own (scaled) points
        assert float(rows[("solved_new", tid)]["max_score"]) == pts, tid
        if tid not in (NEW, NEXT):
            assert rows[("solved_new", tid)]["status"] == "not_implemented", rows[("solved_new", tid)]


def test_a_second_exercise_takes_the_next_id_and_appends_to_the_module(added):
    course = added[0]
    out = ok(make(course, "new-exercise", "NO_INPUT=1",
                  "OPTS=assignment=1 title='Scaled leak' module=leaky_relu function_name=scaled_leak points=2.5"))
    assert f"task {NEXT} (Scaled leak, 2.5 points, marker {M_NEXT})" in out
    module = (course / "solutions" / A1 / "leaky_relu.py").read_text(encoding="utf-8")
    assert "def leaky_relu_forward(" in module and "def scaled_leak_backward(" in module
    assert module.count(f'"""Task {NEW}: Leaky ReLU."""') == 1                  # one module header
    assert (course / "solutions" / A1 / "tests/test_scaled_leak.py").exists()
    assert "2 passed" in ok(run([str(course / ".venv/bin/python"), "-m", "pytest", "-m", M_NEXT], course / "solutions" / A1))


@pytest.mark.parametrize("opts, message", [
    ("assignment=a7", "assignment: unknown assignment 'a7'"),
    ("task_id=1.1", "task_id: task 1.1 already exists"),
    ("task_id=2.1", "task_id: '2.1' does not belong to a1"),
    ("task_id=1.x", "task_id: '1.x' is not of the form X.Y"),
    ("title='Leaky ReLU'", "slug: 'leaky_relu': the public test solutions/a1_numpy_layers/tests/test_leaky_relu.py already exists"),
    ("title='Other' module=leaky_relu function_name=leaky_relu", "function_name: solutions/a1_numpy_layers/leaky_relu.py already defines leaky_relu_forward()"),
    ("title='Other' module=os", "module: 'os' would shadow a library module"),
    ("title='Other' module=tests", "module: 'tests' would shadow a library module"),
    ("title='Other' slug=9lives", "slug: '9lives' is not a valid lowercase Python name"),
    ("title='Other' function_name=class", "function_name: 'class' is not a valid lowercase Python name"),
    ("title='Other' points=-1", "points: '-1' is out of range (must be > 0)"),
    ("title='Other' timeout_s=0", "timeout_s: '0' is out of range (must be > 0)"),
    ('title=\'Say "hi"\'', "title: 'Say \"hi\"' must not contain"),
    ("colour=red", "unknown option 'colour'"),
])
def test_bad_answers_stop_before_anything_is_written(added, opts, message):
    course = added[0]
    before = tree_digest(course)
    proc = make(course, "new-exercise", "NO_INPUT=1", f"OPTS={opts}")
    assert proc.returncode != 0
    assert message in proc.stderr and "nothing was generated" in proc.stderr, proc.stderr
    assert tree_digest(course) == before


def test_a_failed_install_puts_every_file_back(added, tmp_path, monkeypatch):
    """If the release fails after the files are written, the course is as it was."""
    from cookiecutter.main import cookiecutter

    import template.exercise as exercise
    from template.options import TemplateError

    course = added[0]
    answers = {"_course_root": str(course), "assignment": "a1", "title": "Doomed", "task_id": "1.20"}
    staged = cookiecutter(str(course / "template/exercise"), no_input=True, extra_context=answers,
                          output_dir=str(tmp_path), accept_hooks=False, default_config=True)
    plan = exercise.exercise_plan({**answers, "slug": "doomed", "module": "doomed", "function_name": "doomed",
                                   "points": "1", "timeout_s": "10"}, course)
    before = tree_digest(course)

    def fail(root):
        raise TemplateError("release refused")

    monkeypatch.setattr(exercise, "_release", fail)
    with pytest.raises(TemplateError, match="release refused"):
        exercise.install(plan, Path(staged))
    assert tree_digest(course) == before
