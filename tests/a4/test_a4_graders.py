"""The capstone's hidden graders, run through the grading engine on four submissions in one
batch: a good one, and two that carry every kind of bad input the graders must survive
(a pickle, NaN weights, the wrong number of classes, a missing checkpoint, a checkpoint that
does not fit the model, a file that is not safetensors, a model too slow for its budget,
the wrong dataset, a training loop that does not learn, one that crashes), and one whose
own model code differs from the reference (graded as it is, not swapped for the reference).

Each bad input must give its task a clear status and zero points, and never stop the batch.
The course graded here is a copy of course.toml with a test [capstone] section: small
"motif" test sets (tests/a4/a4_build.py) instead of the official 10,000 images.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
A4 = ROOT / "solutions" / "a4_capstone"
BUILD = Path(__file__).resolve().parent / "a4_build.py"
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "runs", "checkpoints", ".ipynb_checkpoints")

pytestmark = pytest.mark.slow


def reference_copy(dest: Path) -> Path:
    """The capstone folder as a student has it: plain files (symlinks followed)."""
    shutil.copytree(A4, dest, symlinks=False, ignore=SKIP)
    return dest


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path.name}: {old!r} not found (the reference changed?)"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def copy_ckpt(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest


def set_config(folder: Path, **changes) -> None:
    cfg = json.loads((folder / "config.json").read_text())
    cfg.update(changes)
    (folder / "config.json").write_text(json.dumps(cfg))


def load_tensors(path: Path) -> dict:
    """A checkpoint's tensors as private copies (load_file maps the file, which is rewritten)."""
    from safetensors.torch import load_file
    return {k: v.clone() for k, v in load_file(path).items()}


def make_good(subs: Path, ckpts: Path) -> None:
    sub = reference_copy(subs / "good")
    shutil.copytree(ckpts, sub / "checkpoints")


def make_bad(subs: Path, ckpts: Path) -> None:
    import torch
    from safetensors.torch import save_file

    sub = reference_copy(subs / "bad")
    out = sub / "checkpoints"
    # 4.1: a torch.save pickle under the safetensors name
    d = copy_ckpt(ckpts / "vit_mnist", out / "vit_mnist")
    torch.save(load_tensors(d / "checkpoint.safetensors"), d / "checkpoint.safetensors")
    # 4.2: a diverged run: NaN in one weight
    d = copy_ckpt(ckpts / "convit_mnist", out / "convit_mnist")
    tensors = load_tensors(d / "checkpoint.safetensors")
    key = sorted(k for k in tensors if k.endswith("weight"))[0]
    tensors[key][0] = float("nan")
    save_file(tensors, d / "checkpoint.safetensors")
    # 4.3: the wrong number of classes
    d = copy_ckpt(ckpts / "vit_cifar10", out / "vit_cifar10")
    set_config(d, num_classes=5)
    # 4.4: missing, with only a torch.save file where it should be
    torch.save({"w": torch.zeros(2)}, out / "convit_cifar10.pt")
    # 4.5: a training loop whose optimiser never moves (lr 0), outside any a3 fence
    edit(sub / "train.py", "optimizer = AdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr,",
         "optimizer = AdamW(param_groups(model, cfg.weight_decay), lr=0.0,")


def make_worse(subs: Path, ckpts: Path) -> None:
    sub = reference_copy(subs / "worse")
    out = sub / "checkpoints"
    # 4.1: config.json asks for a deeper model than the tensors hold
    d = copy_ckpt(ckpts / "vit_mnist", out / "vit_mnist")
    set_config(d, depth=3)
    # 4.2: not a safetensors file at all
    (out / "convit_mnist").mkdir(parents=True)
    (out / "convit_mnist" / "checkpoint.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json")
    # 4.3: a model that takes 5 s per forward pass: past the 8 s budget after two chunks
    copy_ckpt(ckpts / "vit_cifar10", out / "vit_cifar10")
    with open(sub / "models.py", "a", encoding="utf-8") as f:
        f.write("\n\n_build = build_model\n\n\ndef build_model(cfg):\n    import time\n    model = _build(cfg)\n"
                "    if cfg.dataset == 'cifar10' and cfg.model == 'vit':\n"
                "        model.register_forward_pre_hook(lambda m, a: time.sleep(5))\n    return model\n")
    # 4.4: an MNIST checkpoint submitted as the CIFAR-10 one
    d = copy_ckpt(ckpts / "convit_mnist", out / "convit_cifar10")
    # 4.5: train() crashes
    edit(sub / "train.py", "    cfg.validate()\n    device = resolve_device(cfg)",
         "    cfg.validate()\n    raise RuntimeError('oops')\n    device = resolve_device(cfg)")


def make_own(subs: Path, ckpts: Path) -> None:
    """The student's own a3 code differs from the reference inside an a3 fence (patch
    embeddings zeroed): the capstone must grade that code, not swap the reference in."""
    sub = reference_copy(subs / "own")
    copy_ckpt(ckpts / "vit_mnist", sub / "checkpoints" / "vit_mnist")
    edit(sub / "modules.py", "x = x.flatten(2).transpose(1, 2)     # (B, N, D)",
         "x = 0 * x.flatten(2).transpose(1, 2)")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from autograder.engine.grade import grade_all

    base = tmp_path_factory.mktemp("a4grade")
    subprocess.run([sys.executable, str(BUILD), str(base)], check=True, capture_output=True, text=True)
    subs = base / "subs"
    for make in (make_good, make_bad, make_worse, make_own):
        make(subs, base / "checkpoints")
    summary = grade_all("a4", subs, base / "out", workers=2, course_root=base / "course")
    results = {r["extra_data"]["student"]: {t["task"]: t for t in r["extra_data"]["tasks"]}
               for r in summary.results}
    return results, summary


def test_every_submission_is_graded(graded):
    results, summary = graded
    assert sorted(results) == ["bad", "good", "own", "worse"]
    assert (summary.out_dir / "gradebook.csv").is_file()
    for student, tasks in results.items():
        assert sorted(tasks) == ["4.1", "4.2", "4.3", "4.4", "4.5"], student


def test_good_submission(graded):
    good = graded[0]["good"]
    for task in ("4.1", "4.2", "4.4", "4.5"):
        assert good[task]["status"] == "passed", (task, good[task]["message"])
        assert good[task]["score"] == good[task]["max_score"]
    # 95 % reachable on the CIFAR-10-shaped test set: 70 and 80 pass, 99 does not
    t = good["4.3"]
    assert t["status"] == "partial" and (t["passed"], t["total"]) == (2, 3)
    assert t["score"] == pytest.approx(t["max_score"] * 2 / 3)
    assert "below the 99% threshold" in t["message"] and "95.00%" in t["message"]


def test_the_students_own_code_is_graded(graded):
    own = graded[0]["own"]
    assert own["4.1"]["status"] == "failed", own["4.1"]["message"]
    assert "below the 90% threshold" in own["4.1"]["message"]
    assert own["4.2"]["status"] == "missing"


@pytest.mark.parametrize("student,task,status,words", [
    ("bad", "4.1", "failed", ["pickle", "not loaded"]),
    ("bad", "4.2", "failed", ["NaN"]),
    ("bad", "4.3", "failed", ["num_classes = 5"]),
    ("bad", "4.4", "missing", ["convit_cifar10.pt", "safetensors"]),
    ("bad", "4.5", "failed", ["held-out", "learns"]),
    ("worse", "4.1", "error", ["does not fit", "blocks.2"]),
    ("worse", "4.2", "failed", ["not a safetensors file"]),
    ("worse", "4.3", "timeout", ["8 s budget", "of 400 test images"]),
    ("worse", "4.4", "failed", ["'mnist'", "'cifar10'"]),
    ("worse", "4.5", "error", ["RuntimeError", "oops"]),
])
def test_bad_input_gives_status_and_zero(graded, student, task, status, words):
    t = graded[0][student][task]
    assert t["status"] == status, t["message"]
    assert t["score"] == 0.0
    for w in words:
        assert w in t["message"], (w, t["message"])
