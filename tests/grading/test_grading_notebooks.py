"""Notebook tasks: nbgrader autograde and generate_feedback with the kernel in the sandbox,
merged into the same gradebook; broken and tampered notebooks get the right status."""
import json

import nbformat
import pytest

from grading_helpers import FIXTURE, by_student, make_submission

SOURCE = FIXTURE / "solutions" / "a2_nb" / "tiny.ipynb"
STUB = {"task2_1_impl": "def double(x):\n    raise NotImplementedError('Task 2.1')\n",
        "task2_2_impl": "def square(x):\n    raise NotImplementedError('Task 2.2')\n"}
SOLVED = {"task2_1_impl": "def double(x):\n    return 2 * x\n", "task2_2_impl": "def square(x):\n    return x * x\n"}


def notebook(cells: dict[str, str], edit=None) -> str:
    """The fixture notebook with the given cells' sources replaced (by grade_id)."""
    nb = nbformat.read(SOURCE, as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in cells:
            cell.source = cells[gid]
    if edit is not None:
        edit(nb)
    return nbformat.writes(nb)


def _ids(nb):
    return [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]


def delete_tests_2_2(nb):
    del nb.cells[_ids(nb).index("task2_2_tests")]


def retype_tests_2_1(nb):
    i = _ids(nb).index("task2_1_tests")
    old = nb.cells[i]
    nb.cells[i] = nbformat.v4.new_markdown_cell(old.source, metadata=old.metadata)


SNOOP = ("import os\nprint('GB', os.path.exists('../../../gradebook.db'), sorted(os.listdir('/')))\n"
         "try:\n    open('../../../gradebook.db', 'w').write('forged')\nexcept OSError as e:\n    print('denied', e)\n"
         "def double(x):\n    return 2 * x\n")

def deleted_and_retyped(nb):
    delete_tests_2_2(nb)
    retype_tests_2_1(nb)


# few students, each showing several things: every notebook costs a kernel start
STUDENTS = {
    "solved_snoop": notebook({**SOLVED, "task2_1_impl": SNOOP}),
    "release_edited_tests": notebook({**STUB, "task2_1_tests": "pass"}),  # nbgrader restores locked cells
    "wrong": notebook({**SOLVED, "task2_1_impl": "def double(x):\n    return 3 * x\n"}),
    "deleted_retyped": notebook(SOLVED, deleted_and_retyped),
    "hang": notebook({**SOLVED, "task2_1_impl": "while True:\n    pass\n"}),
    "truncated": notebook(SOLVED)[:400],
}
EXPECTED = {
    "solved_snoop": ("passed", "passed"),
    "release_edited_tests": ("not_implemented", "not_implemented"),
    "wrong": ("failed", "passed"),
    "deleted_retyped": ("tampered", "tampered"),
    "hang": ("timeout", "passed"),
    "truncated": ("error", "error"),
    "empty": ("missing", "missing"),
    "nbgrader_release": ("not_implemented", "not_implemented"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from autograder.engine.grade import grade_all

    tmp = tmp_path_factory.mktemp("nb")
    subs = tmp / "subs"
    for name, text in STUDENTS.items():
        make_submission(subs, name, {"tiny.ipynb": text})
    make_submission(subs, "empty", {})
    # the notebook exactly as nbgrader's generate_assignment releases it
    from types import SimpleNamespace
    from autograder.engine import notebooks
    a = SimpleNamespace(folder="a2_nb", source_dir=SOURCE.parent,
                        tasks=[SimpleNamespace(id="2.1", files=["tiny.ipynb"], marker="task2_1"),
                               SimpleNamespace(id="2.2", files=["tiny.ipynb"], marker="task2_2")])
    plan = notebooks.prepare(a, tmp / "nbplan")
    released = (plan.template / "release" / "a2_nb" / "tiny.ipynb").read_text()
    assert "### BEGIN SOLUTION" not in released and "HIDDEN-MARK" not in released
    make_submission(subs, "nbgrader_release", {"tiny.ipynb": released})
    summary = grade_all("a2", subs, tmp / "out", workers=2, course_root=FIXTURE,
                        graders_root=FIXTURE / "graders", harness_dir=FIXTURE / "harness")
    return by_student(summary), tmp / "out", summary


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_notebook_status(graded, student):
    got, _, _ = graded
    assert (got[student]["2.1"]["status"], got[student]["2.2"]["status"]) == EXPECTED[student], \
        {t: r["message"] for t, r in got[student].items()}


def test_scores_and_gradebook(graded):
    got, out, _ = graded
    assert got["solved_snoop"]["2.1"]["score"] == 2 and got["solved_snoop"]["2.2"]["score"] == 3
    assert got["deleted_retyped"]["2.2"]["score"] == 0 and got["wrong"]["2.2"]["score"] == 3
    rows = (out / "gradebook.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 * len(EXPECTED)
    assert "cell task2_2_tests was deleted" in got["deleted_retyped"]["2.2"]["message"]
    assert "cell task2_1_tests changed type" in got["deleted_retyped"]["2.1"]["message"]
    assert "not a readable notebook" in got["truncated"]["2.1"]["message"]


def test_feedback_html_hides_hidden_tests(graded):
    _, out, _ = graded
    html = (out / "wrong" / "feedback" / "tiny.html").read_text()
    assert "double" in html                      # the student's own code is there
    assert "HIDDEN-MARK" not in html and "-1.5" not in html
    res = json.loads((out / "wrong" / "results.json").read_text())
    assert "AssertionError in hidden tests" in res["tests"][0]["output"]


def test_kernel_cannot_touch_the_gradebook(graded):
    got, out, summary = graded
    assert got["solved_snoop"]["2.1"]["status"] == "passed"
    log = (out / "solved_snoop" / "grader.log").read_text()
    assert "nbgrader autograde: success=True" in log
    # the cell ran in the sandbox: the course folder (and its gradebook.db) was not there
    html = (out / "solved_snoop" / "feedback" / "tiny.html").read_text()
    assert "GB False" in html
