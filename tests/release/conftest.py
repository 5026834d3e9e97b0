"""A two-assignment course built in a temporary folder, for release tests."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest

GOLDEN = Path(__file__).parent / "golden"


def _cell(kind: str, source: str, **nbgrader) -> nbformat.NotebookNode:
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, "solution": False, "grade": False, "locked": False, **nbgrader}
    return cell


def demo_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        _cell("markdown", "# Demo\nScale $x$ by $\\alpha$.", grade_id="intro", locked=True),
        _cell("code", "def triple(x):\n    ### BEGIN SOLUTION\n    return 3 * x\n    ### END SOLUTION", grade_id="triple", solution=True),
        _cell("code", "assert triple(1) == 3\n### BEGIN HIDDEN TESTS\nassert triple(7) == 21\n### END HIDDEN TESTS",
              grade_id="triple_test", grade=True, points=2, locked=True),
    ]
    return nb


def write_course(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "course.toml").write_text('name = "Demo"\nid = "demo"\nassignments = ["a1_demo", "a2_more"]\n')
    a1 = root / "solutions" / "a1_demo"
    (a1 / "tests").mkdir(parents=True)
    (a1 / "assignment.toml").write_text(
        'id = "a1"\ntitle = "Demo"\n\n'
        '[[tasks]]\nid = "1.1"\ntitle = "Scale"\npoints = 3\nfiles = ["ops.py"]\n\n'
        '[[tasks]]\nid = "1.2"\ntitle = "Double"\npoints = 2\nfiles = ["ops.py"]\n'
    )
    shutil.copyfile(GOLDEN / "ops_solution.py", a1 / "ops.py")
    (a1 / "tests" / "test_ops.py").write_text(
        "import numpy as np\nimport pytest\nimport ops\n\n\n"
        "@pytest.mark.task1_1\ndef test_scale():\n    assert ops.scale_forward(np.ones((2, 2)), 2.0)[0].sum() == 8\n\n\n"
        "@pytest.mark.task1_2\ndef test_double():\n    assert ops.Doubler()(3) == 6\n"
    )
    nbformat.write(demo_notebook(), a1 / "a1_demo.ipynb")
    a2 = root / "solutions" / "a2_more"
    a2.mkdir(parents=True)
    (a2 / "assignment.toml").write_text('id = "a2"\ntitle = "More"\n\n[[tasks]]\nid = "2.1"\ntitle = "Use ops"\npoints = 1\n')
    os.symlink("../a1_demo/ops.py", a2 / "ops.py")
    (a2 / "notes.txt").write_text("data files are copied as they are\n")
    return root


@pytest.fixture
def course_root(tmp_path: Path) -> Path:
    return write_course(tmp_path / "course")
