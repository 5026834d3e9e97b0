"""Saving a run's figures (curves.png, the attention grid) must not turn off a notebook's inline
plots: a figure drawn after them still shows in the notebook, as image/png output."""
from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from tests.release.student_copies import student_copy
from vitlab.course import load_course

HISTORY_A3 = ('[{"epoch": 1, "train_loss": 1.0, "train_acc": 0.5, "test_loss": 1.1, "test_acc": 0.4},'
              ' {"epoch": 2, "train_loss": 0.5, "train_acc": 0.8, "test_loss": 0.6, "test_acc": 0.7}]')
SAVES = {
    "a2": ("import solver\n"
           "solver.plot_history({'loss': [1.0, 0.5], 'epoch': [1], 'train_loss': [0.7], 'val_loss': [0.8],"
           " 'train_acc': [0.5], 'val_acc': [0.4]}, 'history.png')"),
    "a3": ("import torch\nfrom attention_viz import plot_attention\nfrom config import Config\n"
           "from models import build_model\nfrom runlog import plot_curves\n"
           f"plot_curves({HISTORY_A3}, 'curves.png')\n"
           "model = build_model(Config(model='convit', patch_size=7, embed_dim=18, depth=2, num_heads=9,"
           " local_layers=1)).eval()\n"
           "plot_attention(model, torch.randn(2, 1, 28, 28), 'attention.png')"),
}
SHOW = "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()"


def _images(cell) -> int:
    return sum(1 for o in cell.get("outputs", []) if "image/png" in o.get("data", {}))


# the assignments this course holds (a baked course may hold neither)
@pytest.mark.parametrize("key", sorted(SAVES.keys() & {a.id for a in load_course().assignments}))
def test_a_figure_after_saving_ones_shows_inline(tmp_path, monkeypatch, key):
    monkeypatch.delenv("MPLBACKEND", raising=False)      # a notebook server leaves it unset
    folder = student_copy(tmp_path / key, key, done=None)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(SAVES[key]), nbformat.v4.new_code_cell(SHOW)]
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    assert all(o.get("output_type") != "error" for c in nb.cells for o in c.outputs), nb.cells[0].outputs
    assert _images(nb.cells[1]) == 1, nb.cells[1].outputs
    assert list(folder.glob("*.png")), "the figures were not saved"
