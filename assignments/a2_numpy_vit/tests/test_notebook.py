"""Task 2.10: the analysis functions written in a2_numpy_vit.ipynb (its solution cells)."""
import json
from pathlib import Path

import numpy as np
import pytest

import models

pytestmark = pytest.mark.task2_10
NOTEBOOK = Path(__file__).resolve().parent.parent / "a2_numpy_vit.ipynb"


@pytest.fixture(scope="module")
def nb():
    """Run only the notebook's solution cells (the ones you edit) in a fresh namespace."""
    ns = {}
    exec("import numpy as np", ns)
    for cell in json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "code" and cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            exec("\n".join(l for l in src.splitlines() if not l.lstrip().startswith(("%", "!"))), ns)
    return ns


def test_vit_num_params(nb):
    cfg = dict(image_size=28, in_chans=1, patch_size=4, dim=32, depth=2, mlp_ratio=2.0, num_classes=10)
    assert nb["vit_num_params"](**cfg) == models.ViT(**cfg).num_params


def test_mean_attention_distance(nb):
    P = 9
    d = nb["mean_attention_distance"](np.broadcast_to(np.eye(P), (1, 2, P, P)), 3, 4)
    assert d.shape == (2,) and np.allclose(d, 0)


def test_cls_attention_map(nb):
    a = np.random.default_rng(0).random((1, 2, 5, 5))
    assert nb["cls_attention_map"](a, 2).shape == (1, 2, 2)
