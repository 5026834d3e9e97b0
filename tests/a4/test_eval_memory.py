"""A checkpoint's evaluation is bounded in memory (a4_memory): the batch is sized from the
config's estimated activations, a config whose one image does not fit is refused with the
numbers, and an allocation past the hard bound is that checkpoint's `memory` failure.

The hostile case: a 20 KB ViT with a legal config (patch_size 2 on MNIST: 197 tokens, 16
heads) whose attention maps took gigabytes at the course's batch of 500. Its growth is
measured as the max RSS of a subprocess evaluating it as the graders do, never of pytest itself.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
A4 = ROOT / "solutions" / "a4_capstone"
GRADERS = ROOT / "autograder" / "graders" / "a4_capstone"
BUILD = ROOT / "tests" / "a4" / "a4_build.py"
HOSTILE = {"dataset": "mnist", "model": "vit", "patch_size": 2, "embed_dim": 16, "num_heads": 16, "depth": 1,
           "mlp_ratio": 0.25}
SMALL = {"dataset": "mnist", "model": "vit", "patch_size": 7, "embed_dim": 32, "num_heads": 4, "depth": 2}
LIMIT_MB = 768
# the course's real batch (500) and a test set of 400 images: one batch of everything, as before the bound
COURSE = f"""
[capstone]
checkpoint_dir = "checkpoints"
eval_batch_size = 500
eval_threads = 1
testset_dir = "data"
max_params = 200_000
eval_memory_mb = 256
eval_memory_limit_mb = {LIMIT_MB}

[capstone.checkpoints.vit_mnist]
task = "4.1"
dataset = "mnist"
models = ["vit"]
thresholds = [90.0]
budget_s = 120
"""
# The trusted process's evaluation of one checkpoint (test_checkpoints._outcome, as the graders
# call it), alone in a fresh process: prints its outcome and how far it raised the max RSS.
EVALUATE = r"""
import importlib, json, resource, sys
from pathlib import Path
from types import SimpleNamespace
sys.path[:0] = sys.argv[1:5]
import torch
import a4_eval, test_checkpoints
torch.set_num_threads(1)
job = SimpleNamespace(solutions_dir=sys.argv[5], submission=sys.argv[6], limits=None)
cap = a4_eval.settings(job)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kind, value = test_checkpoints._outcome(importlib.import_module, job, cap, Path(sys.argv[6]), "vit_mnist")
grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
out = {"test": value["test"]} if kind == "ok" else {"status": getattr(value, "kind", "failed"), "message": str(value)}
print(json.dumps({"grew_kib": grew, **out}))
"""


def _build():
    spec = importlib.util.spec_from_file_location("a4_build_for_memory", BUILD)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _evaluate(tmp: Path, student: str, config: dict) -> dict:
    """Evaluate an untrained vit_mnist of `config` as the graders do, in a subprocess:
    {"grew_kib", and "test" (accuracy) or "status" and "message"}."""
    sub = tmp / student
    subprocess.run([sys.executable, str(BUILD), "--random", str(sub / "checkpoints"), "vit_mnist",
                    json.dumps(config)], check=True, capture_output=True, text=True)
    course = _build().write_course(tmp / "course-of" / student, COURSE)
    run = subprocess.run([sys.executable, "-c", EVALUATE, str(GRADERS), str(A4), str(ROOT), str(ROOT / "datasets"),
                          str(course / "solutions" / "a4_capstone"), str(sub)],
                         cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-4000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_small_checkpoint_cannot_grow_the_grader_by_gigabytes(tmp_path):
    small = _evaluate(tmp_path, "small", SMALL)
    hostile = _evaluate(tmp_path, "hostile", HOSTILE)
    assert (tmp_path / "hostile" / "checkpoints" / "vit_mnist" / "checkpoint.safetensors").stat().st_size < 40_000
    grew_mb = hostile["grew_kib"] / 1024
    assert grew_mb < LIMIT_MB, f"evaluating a {HOSTILE} checkpoint grew the grader by {grew_mb:,.0f} MB"
    # evaluated in smaller batches, like any other (untrained, weak) model: not refused
    assert "test" in hostile and "test" in small, (hostile, small)
    assert small["grew_kib"] / 1024 < 100


SCRIPT = r"""
import json, resource, sys
sys.path[:0] = sys.argv[1:4]
import torch
import a4_memory
from config import Config
from autograder.engine.student import StudentError
out = {}
cap = {"eval_memory_mb": 8, "eval_batch_size": 500}
for key, kw in json.loads(sys.argv[4]).items():
    try:
        out[key] = a4_memory.batch_size(Config(**kw), cap, "checkpoints/vit_mnist/checkpoint.safetensors")
    except StudentError as e:
        out[key] = [e.kind, e.message]
before = resource.getrlimit(resource.RLIMIT_DATA)
try:
    with a4_memory.bounded({"eval_memory_limit_mb": 256}, "cpu", "checkpoints/vit_mnist/checkpoint.safetensors"):
        torch.ones(400 << 20, dtype=torch.uint8)
    out["bound"] = "allocated"
except StudentError as e:
    out["bound"] = [e.kind, e.message]
out["restored"] = resource.getrlimit(resource.RLIMIT_DATA) == before
with a4_memory.bounded({"eval_memory_limit_mb": 256}, "cpu", "x"):
    out["within"] = int(torch.ones(16 << 20).sum()) == 16 << 20          # 64 MB of float32
print(json.dumps(out))
"""


def test_the_batch_shrinks_a_config_too_large_is_refused_and_the_bound_holds():
    """In a subprocess: RLIMIT_DATA is set around the allocation and must not touch pytest."""
    configs = {"hostile": HOSTILE, "small": SMALL}
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(GRADERS), str(A4), str(ROOT), json.dumps(configs)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    kind, message = out["hostile"]
    assert kind == "memory" and "checkpoints/vit_mnist/checkpoint.safetensors" in message, message
    assert "needs an estimated 10 MB of activations (197 tokens x 16 heads" in message and "within 8 MB" in message
    assert 100 < out["small"] < 500          # shrunk to fit 8 MB, not refused
    kind, message = out["bound"]
    assert kind == "memory" and "more than the 256 MB" in message, message
    assert out["restored"] and out["within"]


def test_every_reference_recipe_evaluates_at_the_full_batch():
    """Honest models keep the course's batch: the bound costs them nothing."""
    cap = tomllib.loads((ROOT / "course.toml").read_text(encoding="utf-8"))["capstone"]
    recipes = sorted(p.stem for p in (A4 / "configs").glob("*_*.toml") if not p.stem.startswith("smoke"))
    script = ("import json, sys; sys.path[:0] = sys.argv[1:4]; import a4_memory; from config import load_config; "
              "print(json.dumps({r: a4_memory.batch_size(load_config(f'{sys.argv[2]}/configs/{r}.toml'), "
              "json.loads(sys.argv[4]), r) for r in sys.argv[5:]}))")
    run = subprocess.run([sys.executable, "-c", script, str(GRADERS), str(A4), str(ROOT), json.dumps(cap), *recipes],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    batches = json.loads(run.stdout.strip().splitlines()[-1])
    assert len(batches) >= 6 and all(b == cap["eval_batch_size"] for b in batches.values()), batches
