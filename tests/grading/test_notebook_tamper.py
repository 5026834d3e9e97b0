"""A student edits the notebook's JSON: test cell metadata (points, exports, grade flag, cell
id), cells that claim to be graded, duplicated test cells, odd grade ids; and writes HTML,
JavaScript and forged PNGs into markdown, raw cells and outputs. What a cell is and what it
is worth come from the release only, and the feedback page shows student text as text."""
import base64
import re

import nbformat
import pytest

from notebook_helpers import SOLVED, STUB, grade_notebooks, notebook, page_text

SCRIPT = re.compile(r'<script[^>]*>\s*alert|<iframe|<pre class="mermaid"|'
                    r'<[a-z]+[^<>]*\s(?:onerror\s*=|(?:href|src)\s*=\s*"?\s*javascript:)', re.I)
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()

OUTPUTS = f"""\
from IPython.display import display
display({{"image/png": 'iVBORw0KGgo"><script>alert(11)</script><b x="', "text/plain": "forged"}}, raw=True)
display({{"image/png": {PNG!r}, "text/plain": "<b>real png</b>"}}, raw=True)
print('<script>alert("stdout")</script>')
class E(Exception):
    pass
E.__name__ = E.__qualname__ = '<script>alert("ename")</script>'
raise E('<img src=x onerror=alert("evalue")>')
"""
MARKDOWN = ('<script>alert("md")</script>\n\n<img src=x onerror=alert(1)>\n\n[c](javascript:alert(2))\n\n'
            '<iframe src="javascript:alert(3)"></iframe>\n\n```mermaid\n</pre><script>alert(4)</script>\n```\n\n'
            '![a](attachment:a.png)\n')


def _cell(nb, gid):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)


def hostile_text(nb):
    nb.metadata["title"] = '</title><script>alert("title")</script>'
    nb.metadata.setdefault("language_info", {})["name"] = '"><script>alert("lang")</script>'
    md = nbformat.v4.new_markdown_cell(MARKDOWN)
    md.attachments = {"a.png": {"text/html": base64.b64encode(b"<script>alert(5)</script>").decode()}}
    nb.cells += [md, nbformat.v4.new_raw_cell('<script>alert("raw")</script>RAW-TEXT')]
    _cell(nb, "task2_2_explain").source = '<script>alert("answer")</script> squares are never negative'


def more_points(nb):
    _cell(nb, "task2_1_tests").metadata.nbgrader["points"] = 100


def exports_and_id(nb):
    cell = _cell(nb, "task2_1_tests")
    cell.metadata["vitlab"] = {"exports": ["double", "get_ipython", "__import__"]}
    cell.id = "forged-id"


def ungraded(nb):
    _cell(nb, "task2_2_tests").metadata.nbgrader["grade"] = False


def claims_graded(nb):
    nb.cells.append(nbformat.v4.new_code_cell("print('OWN-CELL-RAN')", metadata={"nbgrader": {
        "grade": True, "grade_id": "task2_1_bonus", "locked": True, "points": 50, "schema_version": 3,
        "solution": False}}))
    nb.cells.append(nbformat.v4.new_markdown_cell("bonus answer", metadata={"nbgrader": {
        "grade": True, "grade_id": "task2_2_bonus", "locked": False, "points": 50, "schema_version": 3,
        "solution": True}}))


def duplicated(nb):
    i = nb.cells.index(_cell(nb, "task2_1_tests"))
    copy = nbformat.from_dict(nbformat.reads(nbformat.writes(nb), as_version=4).cells[i])
    copy.id = "copied"
    nb.cells.insert(i + 1, copy)


def odd_grade_id(nb):
    nb.cells.append(nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {"grade_id": ["task2_1_tests"],
                                                                            "grade": True}}))


KILL = {**SOLVED, "task2_2_impl": "import os\nos._exit(0)\n"}
DEAF = {**SOLVED, "task2_1_impl": "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
                                  "def double(x):\n    return 2 * x\nwhile True:\n    pass\n"}
# a kernel's reply is the student's claim: these raise the kernel's own time-out exception at once
FIND_TIMEOUT = ("import gc\n_T = next(o for o in gc.get_objects() if isinstance(o, type) "
                "and o.__name__ == 'CellTimeout')\n")
FORGED_CELL = {**SOLVED, "task2_1_impl": FIND_TIMEOUT + "def double(x):\n    return 3 * x\nraise _T('forged')\n"}
FORGED_CALL = {**SOLVED, "task2_1_impl": FIND_TIMEOUT + "def double(x):\n    raise _T('forged')\n"}

STUDENTS = {
    "text": (notebook(SOLVED, hostile_text, extra=[OUTPUTS]), ("passed", "passed")),
    "points": (notebook(SOLVED, more_points), ("tampered", "passed")),
    "exports": (notebook(STUB, exports_and_id), ("not_implemented", "not_implemented")),
    "ungraded": (notebook(SOLVED, ungraded), ("passed", "tampered")),
    "claims": (notebook(SOLVED, claims_graded), ("passed", "passed")),
    "duplicated": (notebook(SOLVED, duplicated), ("tampered", "passed")),
    "odd_gid": (notebook(SOLVED, odd_grade_id), ("error", "error")),
    "kill": (notebook(KILL), ("error", "error")),
    "deaf": (notebook(DEAF), ("timeout", "timeout")),
    "forged_cell": (notebook(FORGED_CELL), ("failed", "passed")),
    "forged_call": (notebook(FORGED_CALL), ("error", "passed")),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return grade_notebooks(tmp_path_factory.mktemp("tamper"), {s: nb for s, (nb, _) in STUDENTS.items()})


@pytest.mark.parametrize("student", sorted(STUDENTS))
def test_status(graded, student):
    got, _, _ = graded
    assert (got[student]["2.1"]["status"], got[student]["2.2"]["status"]) == STUDENTS[student][1], \
        {t: r["message"] for t, r in got[student].items()}


def test_worth_and_exports_come_from_the_release(graded):
    got, out, _ = graded
    assert got["points"]["2.1"]["max_score"] == 2 and got["points"]["2.1"]["score"] == 0
    assert "locked cell task2_1_tests was edited" in got["points"]["2.1"]["message"]
    assert got["exports"]["2.1"]["score"] == 0              # the test cell's exports are the release's
    assert "locked cell task2_2_tests was edited" in got["ungraded"]["2.2"]["message"]
    assert (got["claims"]["2.1"]["score"], got["claims"]["2.1"]["max_score"]) == (2, 2)
    assert (got["claims"]["2.2"]["score"], got["claims"]["2.2"]["max_score"]) == (3, 3)
    assert "cell task2_1_tests appears 2 times" in got["duplicated"]["2.1"]["message"]
    page = page_text(out / "claims" / "feedback" / "tiny.html")
    assert "OWN-CELL-RAN" in page            # a cell the student calls a test is the student's code: it runs
    assert "task2_1_bonus" not in page and "task2_2_bonus" not in page


def test_clear_messages(graded):
    got, _, _ = graded
    assert "nbgrader cannot read its cell metadata" in got["odd_gid"]["2.1"]["message"]
    assert "the notebook kernel ended" in got["kill"]["2.1"]["message"]
    assert got["kill"]["2.1"]["score"] == got["kill"]["2.2"]["score"] == 0     # task 2.1's cell ran before
    assert got["deaf"]["2.2"]["score"] == 0
    for student in ("forged_cell", "forged_call"):     # no time limit was reached: none is named
        assert "time limit" not in got[student]["2.1"]["message"], got[student]["2.1"]["message"]


def test_feedback_shows_student_text_as_text(graded):
    _, out, _ = graded
    for student in STUDENTS:
        page = out / student / "feedback" / "tiny.html"
        if student != "odd_gid":
            log = (out / student / "grader.log").read_text()
            assert "generate_feedback: success=True" in log, student
            html = page.read_text(encoding="utf-8")
            assert not SCRIPT.search(html), (student, SCRIPT.search(html))
    html = (out / "text" / "feedback" / "tiny.html").read_text(encoding="utf-8")
    text = page_text(out / "text" / "feedback" / "tiny.html")
    for shown in ('<script>alert("md")</script>', "[c](javascript:alert(2))", '<script>alert("raw")</script>RAW-TEXT',
                  '<script>alert("answer")</script> squares', '<script>alert("stdout")</script>'):
        assert shown in text, shown                          # there, as text
    assert html.count("data:image/png;base64,") == 1          # the real PNG, not the forged one
    assert f'data:image/png;base64,{PNG}"' in html
    assert "<title>tiny</title>" in html


def test_bounds_on_what_the_trusted_side_keeps(tmp_path):
    from autograder.engine.notebooks import cells as notebooks, kernel_host as nbexec

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1") for _ in range(notebooks.MAX_CELLS + 1)])
    (tmp_path / "many.ipynb").write_text(nbformat.writes(nb))
    _, problem = notebooks.read_submitted(tmp_path / "many.ipynb")
    assert problem.status == "error" and f"{notebooks.MAX_CELLS + 1} cells" in problem.message
    big = {"outputs": [{"output_type": "stream", "name": "stdout", "text": "x" * (5 << 20)}]}
    used, kept = 0, []
    for _ in range(5):
        cell = {"outputs": list(big["outputs"])}
        used = notebooks.keep_outputs(cell, used)
        kept.append(len(cell["outputs"][0]["text"]))
    assert used <= notebooks.OUTPUT_BUDGET and kept[:3] == [5 << 20] * 3 and max(kept[3:]) < 100
    assert nbexec.png_data('iVBORw0KGgo"><script>alert(11)</script><b x="') is None     # lenient base64
    assert nbexec.png_data(base64.b64encode(b"GIF89a" + b"\0" * 10).decode()) is None  # not a PNG
    assert nbexec.png_data(PNG[:8] + "\n" + PNG[8:]) == PNG                               # canonical again
