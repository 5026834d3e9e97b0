"""`make submit`'s notebook step (handin.validate_notebook: nbgrader validate with validate_all,
which fails any code cell that writes to stderr) on honest notebooks, and what it says when a
cell does fail: points only when a graded cell is among the failed ones."""
from __future__ import annotations

import nbformat
import pytest

from tests.release.conftest import demo_notebook
from tests.release.student_copies import student_copy
from vitlab.release import handin


@pytest.fixture
def in_kernel_env(monkeypatch):
    monkeypatch.delenv("PYTHONPATH", raising=False)      # the student's shell has no kit on its path
    monkeypatch.delenv("VITLAB_MIRROR", raising=False)


@pytest.mark.slow
def test_the_honest_a3_notebook_validates(tmp_path, in_kernel_env):
    """The whole a3 notebook, answered, run by the same step `make submit` runs: its training
    cell reports epochs on stdout, so nothing counts as a failure."""
    folder = student_copy(tmp_path / "a3_torch_vit", "a3", done=None)
    assert handin.validate_notebook(folder / "a3_torch_vit.ipynb") is None


def _write(tmp_path, cells) -> object:
    nb = demo_notebook()
    nb.cells = [c for c in nb.cells if c.cell_type == "code"] + cells
    path = tmp_path / "demo.ipynb"
    nbformat.write(nb, path)
    return path


def test_a_failing_cell_that_is_not_graded_costs_no_points(tmp_path, in_kernel_env):
    path = _write(tmp_path, [nbformat.v4.new_code_cell("import sys\nprint('epoch 1', file=sys.stderr)")])
    warning = handin.validate_notebook(path)
    assert warning is not None and "none of them is graded" in warning and "lose points" not in warning


def test_a_failing_graded_cell_is_named(tmp_path, in_kernel_env):
    path = _write(tmp_path, [])
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source = "def triple(x):\n    return 2 * x"      # the answer is wrong: the graded test fails
    nbformat.write(nb, path)
    warning = handin.validate_notebook(path)
    assert warning is not None and "graded cells among them lose points (triple_test)" in warning
