"""Notebook tasks: the student's cells run in the sandboxed kernel, the hidden notebook
graders run on the trusted side; statuses, scores, feedback HTML and the gradebook.
Hostile notebooks (forged passes, history, links, FIFOs, a disk fill, bad metadata) are in
test_notebook_hostile.py."""
import json

import nbformat
import pytest

from grading_helpers import FIXTURE, by_student, make_submission
from notebook_helpers import SOLVED, STUB, grade_notebooks, notebook, page_text

SNOOP = ("import os\nprint('GB', os.path.exists('../../../gradebook.db'), sorted(os.listdir('/')))\n"
         "try:\n    open('../../../gradebook.db', 'w').write('forged')\nexcept OSError as e:\n    print('denied', e)\n"
         "def double(x):\n    return 2 * x\n")


def _ids(nb):
    return [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]


def delete_tests_2_2(nb):
    del nb.cells[_ids(nb).index("task2_2_tests")]


def retype_tests_2_1(nb):
    i = _ids(nb).index("task2_1_tests")
    old = nb.cells[i]
    nb.cells[i] = nbformat.v4.new_markdown_cell(old.source, metadata=old.metadata)


def deleted_and_retyped(nb):
    delete_tests_2_2(nb)
    retype_tests_2_1(nb)


def students():
    return {
        "solved_snoop": notebook({**SOLVED, "task2_1_impl": SNOOP}),
        "edited_tests": notebook({**STUB, "task2_1_tests": "pass"}),
        "wrong": notebook({**SOLVED, "task2_1_impl": "def double(x):\n    return 2 * x if x > 0 else x\n"}),
        "deleted_retyped": notebook(SOLVED, deleted_and_retyped),
        "hang": notebook({**SOLVED, "task2_1_impl": "while True:\n    pass\n"}),
        "truncated": notebook(SOLVED)[:400],
        "nbgrader_release": notebook({}),
    }


EXPECTED = {
    "solved_snoop": ("passed", "passed"),
    "edited_tests": ("tampered", "not_implemented"),   # a locked test cell edited: nbgrader's checksum
    "wrong": ("partial", "passed"),
    "deleted_retyped": ("tampered", "tampered"),
    "hang": ("timeout", "passed"),
    "truncated": ("error", "error"),
    "empty": ("missing", "missing"),
    "nbgrader_release": ("not_implemented", "not_implemented"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nb")
    make_submission(tmp / "subs", "empty", {})
    return grade_notebooks(tmp, students())


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_notebook_status(graded, student):
    got, _, _ = graded
    assert (got[student]["2.1"]["status"], got[student]["2.2"]["status"]) == EXPECTED[student], \
        {t: r["message"] for t, r in got[student].items()}


def test_scores_and_gradebook(graded):
    got, out, _ = graded
    assert got["solved_snoop"]["2.1"]["score"] == 2 and got["solved_snoop"]["2.2"]["score"] == 3
    assert got["deleted_retyped"]["2.2"]["score"] == 0 and got["wrong"]["2.2"]["score"] == 3
    assert got["wrong"]["2.1"]["score"] == 1          # one of the cell's two hidden checks passed
    rows = (out / "gradebook.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 * len(EXPECTED)
    assert "cell task2_2_tests was deleted" in got["deleted_retyped"]["2.2"]["message"]
    assert "cell task2_1_tests changed type" in got["deleted_retyped"]["2.1"]["message"]
    assert "locked cell task2_1_tests was edited" in got["edited_tests"]["2.1"]["message"]
    assert "not a readable notebook" in got["truncated"]["2.1"]["message"]
    assert "double(-1.5): relative error" in got["wrong"]["2.1"]["message"]
    assert "task2_1_impl ran past its 5 s" in got["hang"]["2.1"]["message"]


def test_feedback_html_shows_trusted_results(graded):
    _, out, _ = graded
    html = (out / "wrong" / "feedback" / "tiny.html").read_text()
    assert "double" in html                      # the student's own code is there
    assert "HIDDEN-MARK" not in html
    assert "hidden check 1: passed" in html
    assert "hidden check 2: partial: double(-1.5): relative error" not in html
    assert "hidden check 2: failed: double(-1.5): relative error" in html
    res = json.loads((out / "wrong" / "results.json").read_text())
    assert res["tests"][0]["score"] == 1


def test_kernel_works_in_the_sandboxs_tmpfs(graded):
    got, out, _ = graded
    log = (out / "solved_snoop" / "grader.log").read_text()
    assert "nbgrader generate_feedback: success=True" in log
    html = (out / "solved_snoop" / "feedback" / "tiny.html").read_text()
    assert "GB False" in html and "denied" in html
    assert "submission" in html   # the kernel sees the sandbox's root, not the host's


def test_test_cells_never_reach_the_kernel(graded):
    _, out, _ = graded
    # the edited test cell `pass` was neither run nor restored into the kernel: its task is tampered
    html = page_text(out / "edited_tests" / "feedback" / "tiny.html")
    assert "assert double(3) == 6" in html       # feedback shows the released cell, not the edit
