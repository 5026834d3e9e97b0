"""The kit's nbgrader course: make grade records students there for formgrader, folds the
grades given by hand back in, and nbgrader's own export reads the same course."""
import csv
import os
import subprocess
from pathlib import Path

import pytest

from notebook_helpers import SOLVED, SOURCE, grade_notebooks, notebook

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_manual_grades_merge_into_make_grade(tmp_path, monkeypatch):
    from nbgrader.api import Gradebook

    from autograder.engine.notebooks import prepare as notebooks

    course = tmp_path / "course"
    notebooks.generate("a2_nb", {"tiny.ipynb": SOURCE}, course)
    monkeypatch.setenv("VITLAB_NBGRADER_COURSE", str(course))
    students = {"ada": notebook(SOLVED)}
    got, _, _ = grade_notebooks(tmp_path / "first", students)
    assert got["ada"]["2.2"]["status"] == "passed" and got["ada"]["2.2"]["score"] == 3
    assert "task2_2_explain awaits grading by hand" in got["ada"]["2.2"]["message"]
    assert (course / "autograded" / "ada" / "a2_nb" / "tiny.ipynb").is_file()
    assert not [p for p in course.rglob("*.py")], "the nbgrader course must hold no .py file"

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:      # what formgrader does
        assert gb.find_grade("task2_1_tests", "tiny", "a2_nb", "ada").auto_score == 2
        gb.find_grade("task2_2_explain", "tiny", "a2_nb", "ada").manual_score = 0.5
        gb.db.commit()
    got, _, _ = grade_notebooks(tmp_path / "second", students)
    assert got["ada"]["2.2"]["score"] == pytest.approx(3 * 3.5 / 4) and got["ada"]["2.2"]["status"] == "partial"
    assert got["ada"]["2.1"]["score"] == 2
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:      # the manual grade survived
        assert gb.find_grade("task2_2_explain", "tiny", "a2_nb", "ada").manual_score == 0.5

    out = tmp_path / "grades.csv"
    env = {**os.environ, "VITLAB_NBGRADER_COURSE": str(course)}
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "nbgrader"), "export", "--to", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = list(csv.DictReader(out.open()))
    assert [(r["student_id"], float(r["raw_score"])) for r in rows] == [("ada", 5.5)]
