"""Public checks for the capstone: every recipe loads, your exported checkpoints load into your
model and come with their provenance, and your training loop learns a trivially easy task
(these last two are not graded: they check the pipeline you train with).

    make check             # everything
    make check TASK=4.1    # one checkpoint

A checkpoint you have not exported yet is reported as skipped, with the command that exports
it. Accuracy itself is measured by the graders on the official test sets; measure it yourself
with `python submit.py check --evaluate`.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pytest

import submit
from config import load_config
from models import build_model

HERE = Path(__file__).resolve().parent.parent
# checkpoint name -> its task's marker, from assignment.toml ("... (checkpoints/<name>)" titles)
TASKS = {m.group(1): "task" + t["id"].replace(".", "_")
         for t in tomllib.loads((HERE / "assignment.toml").read_text(encoding="utf-8"))["tasks"]
         if (m := re.search(r"\(checkpoints/(\w+)\)", t["title"]))}
RECIPES = sorted(p.stem for p in (HERE / "configs").glob("*.toml"))


def _every_checkpoint_task(fn):
    """Every checkpoint is trained by this loop: its test belongs to each checkpoint task."""
    for t in TASKS.values():
        fn = getattr(pytest.mark, t)(fn)
    return fn


def _recipe_param(recipe: str):
    """A recipe belongs to the checkpoint it trains (vit_mnist_cpu: task of vit_mnist); shared
    fragments and smoke recipes (base, mnist, smoke ...) serve every checkpoint task."""
    owners = [t for n, t in TASKS.items() if recipe.startswith(n)] or list(TASKS.values())
    return pytest.param(recipe, marks=[getattr(pytest.mark, t) for t in owners])


@pytest.mark.parametrize("recipe", [_recipe_param(r) for r in RECIPES])
def test_recipe_loads_and_builds(recipe):
    cfg = load_config(HERE / "configs" / f"{recipe}.toml")
    model = build_model(cfg)
    assert sum(p.numel() for p in model.parameters()) > 0


@pytest.mark.parametrize("name", [pytest.param(n, marks=getattr(pytest.mark, t)) for n, t in TASKS.items()])
def test_exported_checkpoint_loads(name):
    ckpt = HERE / "checkpoints" / name / "checkpoint.safetensors"
    if not ckpt.is_file():
        pytest.skip(f"checkpoints/{name} not exported yet: python submit.py export runs/<recipe> {name}")
    model, cfg = submit.check_run(ckpt, name)       # raises SubmitError saying what is wrong
    assert not cfg.synthetic, f"checkpoints/{name} was trained on synthetic data; export a real run"
    assert ckpt.with_name("provenance.json").is_file(), \
        f"checkpoints/{name} has no provenance.json: export it with python submit.py export runs/<recipe> {name}"
    c = cfg.in_chans
    import torch
    with torch.no_grad():
        out = model.eval()(torch.zeros(2, c, cfg.img_size, cfg.img_size))
    assert tuple(out.shape) == (2, 10), f"{name}: the model returns {tuple(out.shape)} for 2 images, not (2, 10)"


def _motifs(n: int, seed: int):
    """Easy 10-class data: every 7 x 7 patch of a 28 x 28 image shows its class's motif, plus noise."""
    motifs = np.random.default_rng(123).integers(0, 2, (10, 1, 7, 7)) * 160
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 10)
    x = np.tile(motifs[y], (1, 1, 4, 4)) + rng.integers(0, 80, (n, 1, 28, 28))
    return x.clip(0, 255).astype(np.uint8), y.astype(np.int64)


@_every_checkpoint_task
def test_training_loop_learns_an_easy_task(tmp_path):
    from config import Config
    from train import train

    cfg = Config(patch_size=7, embed_dim=32, depth=2, num_heads=4, epochs=2, batch_size=50, lr=3e-3, seed=0,
                 device="cpu", amp="none", out_dir=str(tmp_path / "run"))
    result = train(cfg, data=(*_motifs(600, 0), *_motifs(200, 1)))
    assert (tmp_path / "run" / "checkpoint.safetensors").is_file()
    assert result["test_acc"] >= 0.9, f"test accuracy {result['test_acc']:.2f} on an easy task; the loop does not learn"
