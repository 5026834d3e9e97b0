"""Both assignment 2 notebooks execute top to bottom against the reference, on a real kernel."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
A2 = ROOT / "solutions" / "a2_numpy_vit"


def _run(name: str, tmp_path: Path):
    nb = nbformat.read(A2 / name, as_version=4)
    env_keep = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "Agg"  # no display; the kernel inherits it
    try:
        client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(A2)}})
        client.execute()
    finally:
        if env_keep is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = env_keep
    return nb


def _outputs(nb) -> str:
    text = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text.append(out.get("text", "") or "".join(out.get("data", {}).get("text/plain", "")))
    return "\n".join(text)


def test_logic_flow_notebook_runs(tmp_path):
    nb = _run("logic_flow.ipynb", tmp_path)
    out = _outputs(nb)
    for shape in ["(1, 16, 49)", "(1, 17, 32)", "(1, 4, 17, 8)", "(1, 4, 17, 17)", "(1, 10)"]:
        assert shape in out, f"logic_flow.ipynb no longer prints the shape {shape}"


def test_assignment_notebook_runs(tmp_path):
    nb = _run("a2_numpy_vit.ipynb", tmp_path)
    out = _outputs(nb)
    assert "parameters (" in out and "mean attention distance" in out
    auto = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
            and not c.metadata["nbgrader"].get("solution")]
    assert sum(c.metadata["nbgrader"]["points"] for c in auto) == 8  # = task 2.10's points (autograded part)
