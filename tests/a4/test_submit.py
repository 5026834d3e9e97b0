"""submit.py export/check: what a student runs before submitting. A run that would not load
for the graders, or does not suit the checkpoint it is exported as, is refused with the reason.

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

def run(name, **kw):
    cfg = Config(embed_dim=16, depth=1, num_heads=4, **kw)
    save_checkpoint(tmp / name / "checkpoint.safetensors", build_model(cfg), cfg)
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
out["check"] = submit.check(tmp / "checkpoints")
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
                                       ("unknown_name", ["vit_imagenet"]), ("pickle", ["pickle"])])
def test_export_refuses_with_the_reason(results, key, words):
    out, _ = results
    assert out[key].startswith("SubmitError"), out[key]
    for w in words:
        assert w in out[key], (w, out[key])
