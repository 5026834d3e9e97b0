"""The course's notebooks: every autograded cell is scored by a task, every notebook test
cell says what it exports, and every exported cell has hidden graders on the trusted side."""
import re
from pathlib import Path

import nbformat
import pytest

from vitlab.course import load_course
from vitlab.release.notebooks import unscored_cells

ROOT = Path(__file__).resolve().parents[2]
COURSE = load_course(ROOT)


def test_every_graded_cell_belongs_to_a_task():
    assert unscored_cells(COURSE) == []


def test_a_graded_cell_no_task_scores_is_found(tmp_path):
    from dataclasses import replace

    a = COURSE.assignment("a2")
    nb = nbformat.read(a.source_dir / "a2_numpy_vit.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("assert True", metadata={"nbgrader": {
        "grade": True, "grade_id": "question_9", "locked": True, "points": 1, "schema_version": 3, "solution": False}}))
    (tmp_path / "a2_numpy_vit.ipynb").write_text(nbformat.writes(nb))
    fake = replace(COURSE, assignments=(replace(a, source_dir=tmp_path),))
    assert unscored_cells(fake) == ["a2_numpy_vit/a2_numpy_vit.ipynb: graded cell question_9 is never scored: "
                                    "no task's marker (task2_10) names it"]


def _notebook_tasks():
    for a in COURSE.assignments:
        for t in a.tasks:
            for nb in (f for f in t.files if f.endswith(".ipynb")):
                yield pytest.param(a, t, nb, id=f"{t.id}-{nb}")


@pytest.mark.parametrize("a,task,nb", list(_notebook_tasks()))
def test_test_cells_export_and_are_graded(a, task, nb):
    graders = "".join(p.read_text() for p in (ROOT / "autograder" / "graders" / a.folder / "notebook").glob("nbtest_*.py"))
    cells = re.findall(r'@pytest\.mark\.cell\("([^"]+)"\)', graders)
    source = nbformat.read(a.source_dir / nb, as_version=4)
    tests = [c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade")
             and not c.metadata["nbgrader"].get("solution")]
    assert tests, f"{nb}: task {task.id} has no autograded test cell"
    for c in tests:
        gid = c.metadata["nbgrader"]["grade_id"]
        assert c.metadata.get("vitlab", {}).get("exports"), f"{gid}: declare metadata.vitlab.exports"
        assert gid in cells, f"{gid}: no hidden notebook grader is marked @pytest.mark.cell({gid!r})"
        for name in c.metadata["vitlab"]["exports"]:
            assert f'"{name}"' in graders, f"{gid}: {name} is exported but no grader calls it"
