"""submit.py export/check: what a student runs before submitting. A run that would not load
for the graders, does not suit the checkpoint it is exported as, or was trained on synthetic
data is refused with the reason; an exported run carries its provenance.

Runs in a subprocess (the capstone's modules have plain names other assignments use too)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
A4 = ROOT / "solutions" / "a4_capstone"

SCRIPT = r"""
import json, sys, torch
from pathlib import Path
sys.path.insert(0, sys.argv[1])
tmp = Path(sys.argv[2])
import submit
from config import Config
from models import build_model
from checkpoint import save_checkpoint
import train as train_module
titles = set()                          # curves.png's titles, without drawing them
train_module.plot_curves = lambda history, path, title="": titles.add(title)

def run(name, **kw):
    # a real train.py run (one epoch on a few random images): checkpoint, config.json, metrics.json
    import numpy as np
    from train import train
    cfg = Config(embed_dim=16, depth=1, num_heads=4, epochs=1, batch_size=16, device="cpu", amp="none",
                 progress=False, out_dir=str(tmp / name), **kw)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (32, cfg.in_chans, cfg.img_size, cfg.img_size), dtype=np.uint8)
    y = np.arange(32) % 10
    train(cfg, data=None if cfg.synthetic else (x, y, x[:16], y[:16]))
    return tmp / name

out = {}
def attempt(key, fn):
    try:
        out[key] = "ok " + str(fn())
    except submit.SubmitError as e:
        out[key] = "SubmitError " + str(e)

vit = run("vit")
attempt("good", lambda: submit.export(vit, "vit_mnist", tmp / "checkpoints"))
attempt("wrong_family", lambda: submit.export(vit, "convit_mnist", tmp / "checkpoints"))
attempt("wrong_dataset", lambda: submit.export(vit, "vit_cifar10", tmp / "checkpoints"))
attempt("unknown_name", lambda: submit.export(vit, "vit_imagenet", tmp / "checkpoints"))
pickled = run("pickled")
torch.save({"w": torch.zeros(1)}, pickled / "checkpoint.safetensors")
attempt("pickle", lambda: submit.export(pickled, "vit_mnist", tmp / "checkpoints"))
synthetic = run("synthetic", synthetic=True, train_subset=32)
attempt("synthetic", lambda: submit.export(synthetic, "vit_mnist", tmp / "other"))
bare = tmp / "bare"
small = Config(embed_dim=16, depth=1, num_heads=4)
save_checkpoint(bare / "checkpoint.safetensors", build_model(small), small)
attempt("no_metrics", lambda: submit.export(bare, "vit_mnist", tmp / "other"))
out["provenance"] = json.loads((tmp / "checkpoints" / "vit_mnist" / "provenance.json").read_text())
out["metrics"] = json.loads((vit / "metrics.json").read_text())
out["check"] = submit.check(tmp / "checkpoints")
out["titles"] = sorted(titles)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    import json
    tmp = tmp_path_factory.mktemp("submit")
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(A4), str(tmp)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), tmp


def test_export_copies_both_files(results):
    out, tmp = results
    assert out["good"].startswith("ok ")
    assert (tmp / "checkpoints" / "vit_mnist" / "checkpoint.safetensors").is_file()
    assert (tmp / "checkpoints" / "vit_mnist" / "config.json").is_file()
    # check() lists the checkpoints this course grades (a course baked for one dataset has two)
    graded = re.findall(r"\(checkpoints/(\w+)\)", (A4 / "assignment.toml").read_text(encoding="utf-8"))
    assert sorted(out["check"]) == sorted(graded)
    for name in graded:
        assert out["check"][name].startswith("ok: vit" if name == "vit_mnist" else "missing"), name


@pytest.mark.parametrize("key,words", [("wrong_family", ["'vit'", "convit"]), ("wrong_dataset", ["'mnist'", "'cifar10'"]),
                                       ("unknown_name", ["vit_imagenet"]), ("pickle", ["pickle"]),
                                       ("synthetic", ["synthetic data", "real mnist"]),
                                       ("no_metrics", ["no metrics.json"])])
def test_export_refuses_with_the_reason(results, key, words):
    out, _ = results
    assert out[key].startswith("SubmitError"), out[key]
    for w in words:
        assert w in out[key], (w, out[key])


def test_export_records_the_provenance(results):
    out, tmp = results
    prov, metrics = out["provenance"], out["metrics"]
    # trained on arrays the script passed to train(), not on the data set vitdata loads
    assert prov["data"] == "arrays passed to train()" and metrics["data_source"] == prov["data"]
    assert prov["data_copy"] == "arrays passed to train() (not loaded by vitdata)"
    assert prov["dataset"] == "mnist" and prov["recipe"] == "vit"
    assert prov["epochs"] == 1 and prov["device"] == "cpu" and prov["wall_s"] > 0
    assert prov["test_acc"] == metrics["test_acc"] and prov["train_acc"] == metrics["train_acc"]
    assert prov["recipe_settings"]["embed_dim"] == 16 and "data_copy" in prov
    assert not (tmp / "other").exists(), "a refused export writes nothing"


def test_curves_of_a_synthetic_run_say_so(results):
    out, _ = results
    assert out["titles"] == ["vit on mnist", "vit on synthetic mnist (not the real data set)"]
