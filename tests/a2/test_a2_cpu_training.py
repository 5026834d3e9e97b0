"""Training a2's NumPy ViT on a CPU: the Solver limits NumPy's BLAS to its `threads` (default 1)
as it is built, and off a terminal it prints a progress line on stdout every `log_every`
steps, flushed, so a log file shows it while training runs. Synthetic data, tiny models."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
A2 = ROOT / "solutions" / "a2_numpy_vit"


def _tiny_solver(a2, **kw):
    import vitdata
    X, y = vitdata.synthetic("mnist", "train", n=64, seed=0)
    data = {"X_train": X, "y_train": y, "X_val": X[:16], "y_val": y[:16]}
    model = a2.models.ViT(patch_size=7, dim=16, depth=1, num_heads=2, mlp_ratio=2.0)
    return a2.solver.Solver(model, data, batch_size=16, num_epochs=1, **{"progress": False, "verbose": False, **kw})


def test_solver_applies_its_blas_thread_count(a2):
    solver = a2.solver
    before = solver.blas_threads()
    if before is None:
        pytest.skip("this NumPy's BLAS thread count cannot be read (neither threadpoolctl nor a bundled OpenBLAS)")
    try:
        assert _tiny_solver(a2).threads == 1
        assert solver.blas_threads() == 1, "Solver() should limit BLAS to threads=1 by default"
        _tiny_solver(a2, threads=2)
        assert solver.blas_threads() == 2
        try:
            from threadpoolctl import threadpool_info
        except ImportError:
            pass
        else:       # the limit as threadpoolctl reports it, for every BLAS loaded
            assert {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"} == {2}
        _tiny_solver(a2, threads=None)          # None leaves the setting alone
        assert solver.blas_threads() == 2
        with pytest.raises(ValueError, match="threads"):
            _tiny_solver(a2, threads=-1)
    finally:
        solver.set_blas_threads(before)


CHILD = """
import os, sys
import numpy as np
import models, vitdata
from solver import Solver

X, y = vitdata.synthetic("mnist", "train", n=320, seed=0)
data = {"X_train": X, "y_train": y, "X_val": X[:32], "y_val": y[:32]}
solver = Solver(models.ViT(patch_size=7, dim=16, depth=1, num_heads=2, mlp_ratio=2.0), data, batch_size=16,
                num_epochs=1, mean=vitdata.MEAN["mnist"], std=vitdata.STD["mnist"], log_every=4)
step = solver._step
def stop_after_the_line(Xb, yb):
    if solver.step_count == 5:      # step 4 is done: its line must already be in the file
        os._exit(0)                 # ends without flushing anything still buffered
    return step(Xb, yb)
solver._step = stop_after_the_line
solver.train()
"""


def test_progress_lines_reach_a_log_file_within_log_every_steps(tmp_path):
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    # a student's shell: no PYTHONUNBUFFERED, so only an explicit flush puts a line in the file in time
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS", "PYTHONUNBUFFERED")}
    env.update(PYTHONPATH=f"{A2}{os.pathsep}{ROOT / 'datasets'}", MPLBACKEND="Agg")
    with open(out, "w") as fo, open(err, "w") as fe:
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(CHILD)], cwd=A2, env=env, stdout=fo, stderr=fe,
                              stdin=subprocess.DEVNULL, timeout=60)
    text, errors = out.read_text(), err.read_text()
    assert proc.returncode == 0, errors
    lines = text.splitlines()
    assert len(lines) == 1 and lines[0].startswith("epoch 1/1 step 4/20: loss "), text
    assert "images/s" in lines[0] and "lr " in lines[0]
    assert "%|" not in errors and "\r" not in errors, f"no progress bar off a terminal: {errors!r}"


def test_no_step_lines_when_progress_is_off_or_log_every_is_zero(a2, capsys):
    import vitdata
    for kw in ({"progress": False}, {"log_every": 0}):
        kw = {"progress": True, "verbose": False, **kw}
        _tiny_solver(a2, mean=vitdata.MEAN["mnist"], std=vitdata.STD["mnist"], **kw).train()
        assert "step" not in capsys.readouterr().out
    _tiny_solver(a2, mean=vitdata.MEAN["mnist"], std=vitdata.STD["mnist"], progress=True,
                 log_every=2).train()
    out = capsys.readouterr().out
    assert [line.split(":")[0] for line in out.splitlines()] == ["epoch 1/1 step 2/4", "epoch 1/1 step 4/4"]
    assert np.isfinite(float(out.split("loss ")[1].split()[0]))
