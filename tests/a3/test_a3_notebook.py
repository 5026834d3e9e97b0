"""The Assignment 3 notebook executes top to bottom against the reference, on a real kernel,
with a tiny model and synthetic data; its graded cells belong to task 3.11."""
import os
import tomllib

import nbformat
import pytest
from nbclient import NotebookClient

from .conftest import A3



def test_notebook_runs_top_to_bottom():
    nb = nbformat.read(A3 / "a3_torch_vit.ipynb", as_version=4)
    keep = {k: os.environ.get(k) for k in ("MPLBACKEND", "OMP_NUM_THREADS")}
    os.environ.update(MPLBACKEND="Agg", OMP_NUM_THREADS="1")
    try:
        NotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(A3)}}).execute()
    finally:
        for k, v in keep.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    text = "\n".join(o.get("text", "") or "".join(o.get("data", {}).get("text/plain", ""))
                     for c in nb.cells for o in c.get("outputs", []))
    assert "std of q.k / sqrt(d) = 1.0" in text
    assert "maps per block: [(3, 9, 16, 16), (3, 9, 16, 16), (3, 9, 17, 17)]" in text
    assert "GPSA gates" in text and "test accuracy" in text


def test_graded_cells_are_task_3_11():
    nb = nbformat.read(A3 / "a3_torch_vit.ipynb", as_version=4)
    graded = [c.metadata["nbgrader"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    solutions = [c.metadata["nbgrader"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert len(graded) == 3 and len(solutions) == 3
    assert all(m["grade_id"].startswith("task3_11_") for m in graded + solutions)
    tasks = tomllib.loads((A3 / "assignment.toml").read_text())["tasks"]
    points = next(t["points"] for t in tasks if t["id"] == "3.11")
    assert sum(m["points"] for m in graded) == points
