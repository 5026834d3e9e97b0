"""The a1 notebook checks every task in any order: with tasks 1.1, 1.2 and 1.4 done and 1.8
still a stub, the gradient checks run on the given numerical gradient (and say so), the
other tasks' cells print SKIP, and a wrong backward still fails its check."""
from __future__ import annotations

import shutil

import nbformat
import pytest
from nbclient import NotebookClient

from tests.release.student_copies import ROOT, student_copy

NOTEBOOK = ROOT / "solutions" / "a1_numpy_layers" / "a1_numpy_layers.ipynb"
BUG = ("    dw = x2.T @ dout2  # (D, M)\n", "    dw = 2 * (x2.T @ dout2)  # (D, M)\n")


def test_checks_run_on_the_given_gradient_until_task_1_8_is_done(tmp_path):
    folder = student_copy(tmp_path / "a1", "a1", done={"1.1", "1.2", "1.4"})
    layers = folder / "layers.py"
    text = layers.read_text()
    assert text.count(BUG[0]) == 1, "the planted bug no longer matches the reference"
    layers.write_text(text.replace(*BUG))
    shutil.copyfile(NOTEBOOK, folder / NOTEBOOK.name)          # the questions answered
    nb = nbformat.read(folder / NOTEBOOK.name, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors[0]
    out = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "stream")
    assert "note: using the given numerical gradient (Task 1.8 not done yet)" in out
    for name in ("linear dx", "linear db", "relu dx", "gelu (none) dx", "gelu (tanh) dx", "layernorm dx",
                 "layernorm dgamma", "layernorm dbeta"):
        assert f"PASS  {name} " in out, out
    assert "FAIL  linear dw " in out, out                     # the given gradient still catches a bug
    for task in ("1.3", "1.5", "1.6", "1.7", "1.8"):
        assert f"SKIP  Task {task}'s checks: a stub still raises (Task {task}:" in out, out
    assert "8 of 9 gradient checks pass" in out
    assert "not done yet (checks skipped): Task 1.3, 1.5, 1.6, 1.7, 1.8" in out
