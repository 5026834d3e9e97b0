"""Assignment 2 reference: what the public tests and graders do not cover. The predict
command as students run it, checkpoints of the other model, and the benchmark's torch
twins having exactly the NumPy models' parameters (so the step-time ratio compares like with like)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
A2 = ROOT / "solutions" / "a2_numpy_vit"


@pytest.mark.parametrize("name", ["vit", "convit"])
def test_torch_twin_has_the_same_parameter_count(a2, name):
    environ = dict(os.environ)
    from bench.a2_train import RECIPES, torch_twin  # sets thread variables at import: undo that
    os.environ.clear()
    os.environ.update(environ)
    cfg = RECIPES[name]["model"]
    net, _ = torch_twin(cfg)
    assert sum(p.numel() for p in net.parameters()) == a2.models.build_model(cfg).num_params


def _run_predict(*args):
    return subprocess.run([sys.executable, "predict.py", *map(str, args)], cwd=A2, capture_output=True, text=True,
                          timeout=120)


def test_predict_command_line(a2, tmp_path):
    from PIL import Image
    checkpoint, models = a2.checkpoint, a2.models
    ckpt = tmp_path / "convit.npz"
    checkpoint.save_checkpoint(ckpt, models.ConViT(channels=(4, 8), dim=16, depth=1, num_heads=2))
    digit = np.zeros((90, 60), np.uint8)
    digit[20:70, 27:33] = 255
    Image.fromarray(digit).save(tmp_path / "one.png")
    Image.fromarray(255 - digit).convert("RGB").save(tmp_path / "paper.jpg")  # dark on light, RGB, JPEG
    r = _run_predict("--checkpoint", ckpt, tmp_path / "one.png", tmp_path / "paper.jpg")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 8 and lines[0].endswith("one.png") and lines[1].strip().startswith("1.")
    probs = [float(line.split()[-1].rstrip("%")) for line in lines if line.strip()[:2] in ("1.", "2.", "3.")]
    assert all(0 <= p <= 100 for p in probs) and probs[0] >= probs[1] >= probs[2]


def test_predict_bad_inputs_fail_fast(a2, tmp_path):
    checkpoint, models = a2.checkpoint, a2.models
    ckpt = tmp_path / "vit.npz"
    checkpoint.save_checkpoint(ckpt, models.ViT(dim=16, depth=1, num_heads=2))
    (tmp_path / "notes.png").write_text("hello")
    r = _run_predict("--checkpoint", ckpt, tmp_path / "notes.png")
    assert r.returncode != 0 and "notes.png" in r.stderr and "Traceback" not in r.stderr
    r = _run_predict("--checkpoint", ckpt, tmp_path / "absent.png")
    assert r.returncode != 0 and "absent.png" in r.stderr
    r = _run_predict("--checkpoint", tmp_path / "notes.png", tmp_path / "notes.png")
    assert r.returncode != 0 and "not a readable .npz checkpoint" in r.stderr


def test_checkpoint_of_the_other_model_is_refused(a2, tmp_path):
    checkpoint, models = a2.checkpoint, a2.models
    path = tmp_path / "c.npz"
    checkpoint.save_checkpoint(path, models.ConViT(channels=(4, 8), dim=16, depth=1, num_heads=2))
    with pytest.raises(checkpoint.CheckpointError, match="ConViT"):
        checkpoint.restore(models.ViT(dim=16, depth=1, num_heads=2), checkpoint.load_checkpoint(path))


def test_bad_configurations_name_the_value(a2):
    models = a2.models
    with pytest.raises(ValueError, match="patch size 5"):
        models.ViT(patch_size=5)
    with pytest.raises(ValueError, match="num_heads=5"):
        models.ViT(dim=64, num_heads=5)
    with pytest.raises(ValueError, match="'sideways'"):
        models.ViT(pool="sideways")


def test_time_budget_keeps_the_cosine_on_the_clock(a2):
    """With a wall-clock budget the schedule follows the clock when training is slower than planned,
    so the learning rate still reaches its minimum when the budget runs out."""
    X = np.zeros((100, 1, 28, 28), np.uint8)
    data = {"X_train": X, "y_train": np.zeros(100, np.int64), "X_val": X[:10], "y_val": np.zeros(10, np.int64)}
    s = a2.solver.Solver(a2.models.ViT(dim=16, depth=1, num_heads=2), data, lr=1e-3, min_lr=1e-5, batch_size=10,
                          num_epochs=10, warmup_epochs=1, time_budget_s=100.0, progress=False, verbose=False)
    s.step_count, s.elapsed = 5, 0.0  # on schedule: the step counter rules
    assert s.lr_at(s._schedule_step()) == pytest.approx(6 / 10 * 1e-3)
    s.step_count, s.elapsed = 20, 50.0  # behind: half the budget gone, the cosine is half way
    assert s.lr_at(s._schedule_step()) == pytest.approx(1e-5 + (1e-3 - 1e-5) * 0.5 * (1 + np.cos(np.pi * 40 / 90)))
    s.step_count, s.elapsed = 30, 100.0
    assert s.lr_at(s._schedule_step()) == pytest.approx(1e-5, rel=0.05)  # the last step of the cosine


def test_head_loop_check_measures_work_not_calls(a2):
    """The grader's vectorisation check (harness a2.mhsa_work) sees the same work for 2 and 16
    heads in the reference, and more work with every head in the loop version, even when that
    loop never calls attention_forward (an inline loop passed the old call-count check)."""
    import attention
    from autograder.harness import a2 as harness
    rng = np.random.default_rng(0)
    D = 16
    args = (rng.standard_normal((2, 5, D)), rng.standard_normal((D, 3 * D)), rng.standard_normal(3 * D),
            rng.standard_normal((D, D)), rng.standard_normal(D))
    few, many = harness.mhsa_work(*args, [2, 16])
    assert many == few
    vectorised = attention.mhsa_forward
    try:
        attention.mhsa_forward = attention.mhsa_loop_forward
        few, many = harness.mhsa_work(*args, [2, 16])
    finally:
        attention.mhsa_forward = vectorised
    assert many - few > 100
