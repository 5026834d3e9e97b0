"""The capstone's T4-class recipes (Colab, Kaggle) fit their time budgets by the estimate
written in them: training FLOPs counted by torch.utils.flop_counter for one forward and
backward, at 30 % of a T4's float32 peak, for every epoch; float32, since a T4 has no bf16.
The estimate stands until a T4 run is measured."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.release.student_copies import ROOT

A4 = ROOT / "solutions" / "a4_capstone"
T4_FP32 = 8.1e12                 # FLOP/s, float32 peak (NVIDIA T4 datasheet)
UTIL = 0.30                      # sustained share assumed for these small matrices
EVAL_SHARE = 0.05                # evaluations (forward only, every few epochs) on top
TRAIN_IMAGES = {"mnist": 60_000, "cifar10": 50_000}

COUNT = """
import json, sys, torch
sys.path.insert(0, ".")
from pathlib import Path
from torch.utils.flop_counter import FlopCounterMode
from config import load_config
from models import build_model
out = {}
for p in sorted(Path("configs").glob("*_t4.toml")):
    cfg = load_config(p)
    model = build_model(cfg)
    x = torch.randn(4, cfg.in_chans, cfg.img_size, cfg.img_size)
    with FlopCounterMode(display=False) as fc:
        model(x).sum().backward()
    out[p.stem] = {"flops_per_image": fc.get_total_flops() / 4, **cfg.to_dict()}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def t4() -> dict:
    proc = subprocess.run([sys.executable, "-c", COUNT], cwd=A4, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def test_every_checkpoint_has_a_t4_recipe(t4):
    for gpu in A4.glob("configs/*_gpu.toml"):
        assert gpu.stem.replace("_gpu", "_t4") in t4, f"{gpu.name} has no T4-class sibling"


@pytest.mark.parametrize("name", ["vit_mnist_t4", "convit_mnist_t4", "vit_cifar10_t4", "convit_cifar10_t4"])
def test_t4_budget_fits_the_flop_estimate(t4, name):
    cfg = t4[name]
    assert cfg["amp"] == "none" and cfg["device"] == "auto" and cfg["out_dir"] == f"runs/{name}"
    seconds = cfg["flops_per_image"] * TRAIN_IMAGES[cfg["dataset"]] * cfg["epochs"] / (UTIL * T4_FP32)
    assert seconds * (1 + EVAL_SHARE) <= cfg["time_budget_s"], f"{name}: {seconds:.0f} s estimated"
    assert cfg["time_budget_s"] <= 25 * 60, "a free session must fit all four recipes"
