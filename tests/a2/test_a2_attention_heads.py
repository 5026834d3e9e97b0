"""a2_numpy_vit.ipynb's own run must answer its written question (which heads look near, which
far, and what changes with depth): run the notebook's training and attention cells, as they
stand, on MNIST, and require the heads' mean attention distances to span a clear range.

A head attending uniformly over the 4 x 4 patch grid has a mean distance of about 14 px; a
head keeping to its own and the neighbouring patches about 5 px. Today's cell (2,000 images,
2 epochs, about 46 % accuracy) leaves every head within a pixel of uniform, and no short
recipe tried so far (more steps, higher rates, patch size 4, sin2d positions, random shifts,
mean pooling; up to 96 % accuracy) spread them by more than about 2 px: the test records
that the notebook does not yet show the effect, and fails (XPASS, strict) once it does.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
A2 = ROOT / "solutions" / "a2_numpy_vit"
NOTEBOOK = A2 / "a2_numpy_vit.ipynb"
MIRROR = Path(os.environ.get("VITLAB_MIRROR") or ROOT.parent / "shared" / "datasets")
MIN_SPAN_PX = 4.0       # max - min of the heads' mean attention distance, over every block

# Runs in a child with solutions/a2_numpy_vit as cwd: every code cell of the notebook up to and
# including the one that prints the distances, but its autograded test cells (the notebook's
# own functions, its own settings), then the distances per block and head as JSON.
CHILD = r"""
import json, sys
import numpy as np
cells = json.loads(open(sys.argv[1], encoding="utf-8").read())["cells"]
ns = {}
for cell in cells:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if cell["cell_type"] != "code" or (meta.get("grade") and not meta.get("solution")):
        continue
    src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    exec(src, ns)
    if "mean attention distance" in src:
        break
assert ns["source"] == "MNIST", ns["source"]
grid = 28 // ns["model"].config["patch_size"]
dist = [ns["mean_attention_distance"](a[:, :, 1:, 1:] / a[:, :, 1:, 1:].sum(-1, keepdims=True), grid,
                                      ns["model"].config["patch_size"]).tolist() for a in ns["attn"]]
print("HEADS " + json.dumps({"distances": dist, "val_acc": ns["history"]["val_acc"][-1]}))
"""


def _notebook_run(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    env.update(PYTHONPATH=str(A2), MPLBACKEND="Agg", VITLAB_MIRROR=str(MIRROR), VITLAB_DATA=str(tmp_path / "data"),
               OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", CHILD, str(NOTEBOOK)], cwd=A2, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = [l for l in proc.stdout.splitlines() if l.startswith("HEADS ")][-1]
    return json.loads(line[len("HEADS "):])


@pytest.mark.xfail(strict=True, reason="the notebook's short run leaves every head near uniform attention")
def test_notebook_run_separates_near_and_far_heads(tmp_path):
    if not (MIRROR / "MNIST").is_dir():
        pytest.skip(f"no MNIST mirror at {MIRROR} (set VITLAB_MIRROR)")
    run = _notebook_run(tmp_path)
    heads = [d for block in run["distances"] for d in block]
    span = max(heads) - min(heads)
    assert span >= MIN_SPAN_PX, (f"mean attention distance per head spans {span:.1f} px (< {MIN_SPAN_PX}): "
                                 f"{run['distances']} at val accuracy {run['val_acc']:.3f}")
