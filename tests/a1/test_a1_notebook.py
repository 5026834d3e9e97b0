"""The assignment 1 source notebook executes top to bottom against the reference on a real
kernel, every gradient check in it passes, and its graded cells are well formed."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
A1 = ROOT / "solutions" / "a1_numpy_layers"
NOTEBOOK = A1 / "a1_numpy_layers.ipynb"


def _stdout(nb) -> str:
    return "".join(out.get("text", "") for cell in nb.cells for out in cell.get("outputs", [])
                   if out.get("output_type") == "stream")


@pytest.mark.slow
def test_notebook_executes_against_the_reference():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(A1)}}).execute()
    out = _stdout(nb)
    assert "FAIL" not in out, out
    n_checks = out.count("PASS ")
    assert n_checks >= 25, out
    assert f"{n_checks} of {n_checks} gradient checks pass" in out


def test_questions_are_self_checks():
    """a1 is graded on its .py files: its questions are self-checks, and no cell is graded."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    meta = [c.metadata.get("nbgrader", {}) for c in nb.cells]
    assert not any(m.get("grade") for m in meta)
    checks = [c for m, c in zip(meta, nb.cells) if m.get("grade_id", "").startswith("check_")]
    answers = [c for m, c in zip(meta, nb.cells) if m.get("solution")]
    assert len(checks) == 4 and len(answers) == 4
    for cell in checks:
        assert cell.metadata["nbgrader"]["locked"] and "PASS" in cell.source and "HIDDEN" not in cell.source
    for cell in answers:
        assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
    markdown = [m for m, c in zip(meta, nb.cells) if c.cell_type == "markdown"]
    assert markdown and all(m.get("locked") for m in markdown)
    ids = [m["grade_id"] for m in meta if m]
    assert len(ids) == len(set(ids))
