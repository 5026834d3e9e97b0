"""Helpers for the notebook grading tests: submissions built from the fixture notebook
exactly as nbgrader releases it, with some cells replaced."""
from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import nbformat

from grading_helpers import FIXTURE, by_student, make_submission

SOURCE = FIXTURE / "solutions" / "a2_nb" / "tiny.ipynb"
STUB = {"task2_1_impl": "def double(x):\n    raise NotImplementedError('Task 2.1')\n",
        "task2_2_impl": "def square(x):\n    raise NotImplementedError('Task 2.2')\n"}
SOLVED = {"task2_1_impl": "def double(x):\n    return 2 * x\n", "task2_2_impl": "def square(x):\n    return x * x\n"}


@functools.lru_cache(maxsize=1)
def released() -> str:
    """The fixture notebook as nbgrader's generate_assignment releases it."""
    from autograder.engine.notebooks import prepare as notebooks

    with tempfile.TemporaryDirectory() as tmp:
        notebooks.generate("a2_nb", {"tiny.ipynb": SOURCE}, Path(tmp))
        text = (Path(tmp) / "release" / "a2_nb" / "tiny.ipynb").read_text()
    assert "### BEGIN SOLUTION" not in text and "HIDDEN-MARK" not in text
    return text


def notebook(cells: dict[str, str], edit=None, extra: list[str] = (), first: list[str] = ()) -> str:
    """The released notebook with the given cells' sources replaced (by grade_id), `first`
    code cells put before every other cell and `extra` ones appended (as a student would add them)."""
    nb = nbformat.reads(released(), as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in cells:
            cell.source = cells[gid]
    for source in extra:
        nb.cells.append(nbformat.v4.new_code_cell(source))
    nb.cells[:0] = [nbformat.v4.new_code_cell(source) for source in first]
    if edit is not None:
        edit(nb)
    return nbformat.writes(nb)


def grade_notebooks(tmp: Path, students: dict[str, str], workers: int = 2):
    """Grade {student: notebook text} on the fixture course: (by_student, out dir, summary)."""
    from autograder.engine.grade import grade_all

    for name, text in students.items():
        make_submission(tmp / "subs", name, {"tiny.ipynb": text})
    summary = grade_all("a2", tmp / "subs", tmp / "out", workers=workers, course_root=FIXTURE,
                        graders_root=FIXTURE / "graders", harness_dir=FIXTURE / "harness")
    return by_student(summary), tmp / "out", summary


def page_text(path: Path) -> str:
    """The visible text of a feedback HTML page (tags removed, entities decoded)."""
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))
