"""The capstone's hidden graders, run through the grading engine on one batch of submissions:
a good one, the untouched release, two that carry every kind of bad input the graders must
survive (a pickle, NaN weights, the wrong number of classes, a missing checkpoint, weights
that do not fit their config, a file that is not safetensors, a model too slow for its
budget, the wrong dataset), one that attacks the trusted side (a 100,000-deep config.json,
a header bomb, an oversized architecture, a nearest-neighbour "model"), one
whose own code is broken (not run, so not graded), and one whose provenance does not match.

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
RELEASE = ROOT / "assignments" / "a4_capstone"
BUILD = Path(__file__).resolve().parent / "a4_build.py"
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "runs", "checkpoints", ".ipynb_checkpoints")
TASKS = ["4.1", "4.2", "4.3", "4.4"]



def reference_copy(dest: Path, src: Path = A4) -> Path:
    """The capstone folder as a student has it: plain files (symlinks followed)."""
    shutil.copytree(src, dest, symlinks=False, ignore=SKIP)
    return dest


def copy_ckpt(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest


def set_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def load_tensors(path: Path) -> dict:
    """A checkpoint's tensors as private copies (load_file maps the file, which is rewritten)."""
    from safetensors.torch import load_file
    return {k: v.clone() for k, v in load_file(path).items()}


def make_good(subs: Path, ckpts: Path) -> None:
    sub = reference_copy(subs / "good")
    shutil.copytree(ckpts, sub / "checkpoints")


def make_untouched(subs: Path, ckpts: Path) -> None:
    reference_copy(subs / "untouched", RELEASE)


def make_bad(subs: Path, ckpts: Path) -> None:
    import torch
    from safetensors.torch import save_file

    out = reference_copy(subs / "bad") / "checkpoints"
    d = copy_ckpt(ckpts / "vit_mnist", out / "vit_mnist")                       # 4.1: a pickle
    torch.save(load_tensors(d / "checkpoint.safetensors"), d / "checkpoint.safetensors")
    d = copy_ckpt(ckpts / "convit_mnist", out / "convit_mnist")                 # 4.2: NaN weights
    tensors = load_tensors(d / "checkpoint.safetensors")
    key = sorted(k for k in tensors if k.endswith("weight"))[0]
    tensors[key][0] = float("nan")
    save_file(tensors, d / "checkpoint.safetensors")
    d = copy_ckpt(ckpts / "vit_cifar10", out / "vit_cifar10")                   # 4.3: 5 classes
    set_json(d / "config.json", num_classes=5)
    torch.save({"w": torch.zeros(2)}, out / "convit_cifar10.pt")                # 4.4: only a .pt


def make_worse(subs: Path, ckpts: Path) -> None:
    from safetensors.torch import save_file

    sub = reference_copy(subs / "worse")
    out = sub / "checkpoints"
    d = copy_ckpt(ckpts / "vit_mnist", out / "vit_mnist")                       # 4.1: deeper than its tensors
    set_json(d / "config.json", depth=3)
    (out / "convit_mnist").mkdir(parents=True)                                  # 4.2: not safetensors
    (out / "convit_mnist" / "checkpoint.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json")
    # 4.3: a valid ViT too slow for its 1 s budget (256 tokens of width 96), random weights
    d = copy_ckpt(ckpts / "vit_cifar10", out / "vit_cifar10")
    set_json(d / "config.json", patch_size=2, embed_dim=96)
    sys.path.insert(0, str(A4))
    from config import Config
    from models import build_model
    cfg = Config.from_dict(json.loads((d / "config.json").read_text()))
    save_file({k: v.contiguous() for k, v in build_model(cfg).state_dict().items()}, d / "checkpoint.safetensors")
    copy_ckpt(ckpts / "convit_mnist", out / "convit_cifar10")                   # 4.4: the MNIST one


def make_hostile(subs: Path, ckpts: Path) -> None:
    """Inputs aimed at the trusted process itself, and a model that is no ViT."""
    import torch
    from safetensors.torch import save_file

    sub = reference_copy(subs / "hostile")
    out = sub / "checkpoints"
    d = copy_ckpt(ckpts / "vit_mnist", out / "vit_mnist")                       # 4.1: 30,000-deep JSON
    (d / "config.json").write_text('{"model": ' + "[" * 30_000 + "]" * 30_000 + "}")
    d = copy_ckpt(ckpts / "convit_mnist", out / "convit_mnist")                 # 4.2: header bomb
    raw = (d / "checkpoint.safetensors").read_bytes()
    (d / "checkpoint.safetensors").write_bytes((1 << 40).to_bytes(8, "little") + raw[8:])
    d = copy_ckpt(ckpts / "vit_cifar10", out / "vit_cifar10")                   # 4.3: a huge architecture
    set_json(d / "config.json", embed_dim=1024, depth=24, num_heads=16)
    # 4.4: a projection of every test image with its label as "weights", and a build_model that
    # returns a nearest-neighbour lookup over them (what the student's own code would grade)
    d = out / "convit_cifar10"
    d.mkdir(parents=True)
    rng = torch.Generator().manual_seed(0)
    save_file({"lookup.keys": torch.randn(400, 64, generator=rng), "lookup.labels": torch.zeros(400),
               "lookup.proj": torch.randn(3072, 64, generator=rng)}, d / "checkpoint.safetensors")
    cfg = json.loads((ckpts / "convit_cifar10" / "config.json").read_text())
    (d / "config.json").write_text(json.dumps(cfg))
    with open(sub / "models.py", "a", encoding="utf-8") as f:
        f.write("\n\ndef build_model(cfg):\n    raise SystemExit('a lookup table, not a ViT')\n")


def make_own(subs: Path, ckpts: Path) -> None:
    """The student's own code is broken (modules.py zeroes the patch embeddings, models.py
    cannot even be imported): it is not run, so the checkpoint is graded as it is."""
    sub = reference_copy(subs / "own")
    copy_ckpt(ckpts / "vit_mnist", sub / "checkpoints" / "vit_mnist")
    text = (sub / "modules.py").read_text()
    (sub / "modules.py").write_text(text.replace("x = x.flatten(2).transpose(1, 2)", "x = 0 * x.flatten(2).transpose(1, 2)"))
    (sub / "models.py").write_text("raise ImportError('broken')\n")


def make_liar(subs: Path, ckpts: Path) -> None:
    """Good checkpoints whose provenance is wrong (4.1) or missing (4.2)."""
    sub = reference_copy(subs / "liar")
    shutil.copytree(ckpts, sub / "checkpoints")
    set_json(sub / "checkpoints" / "vit_mnist" / "provenance.json", test_acc=0.5)
    (sub / "checkpoints" / "convit_mnist" / "provenance.json").unlink()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from autograder.engine.grade import grade_all

    base = tmp_path_factory.mktemp("a4grade")
    subprocess.run([sys.executable, str(BUILD), str(base)], check=True, capture_output=True, text=True)
    subs = base / "subs"
    for make in (make_good, make_untouched, make_bad, make_worse, make_hostile, make_own, make_liar):
        make(subs, base / "checkpoints")
    summary = grade_all("a4", subs, base / "out", workers=2, course_root=base / "course")
    results = {r["extra_data"]["student"]: {t["task"]: t for t in r["extra_data"]["tasks"]}
               for r in summary.results}
    return results, summary


def test_every_submission_is_graded(graded):
    results, summary = graded
    assert sorted(results) == ["bad", "good", "hostile", "liar", "own", "untouched", "worse"]
    assert (summary.out_dir / "gradebook.csv").is_file()
    for student, tasks in results.items():
        assert sorted(tasks) == TASKS, student


def test_good_submission(graded):
    good = graded[0]["good"]
    for task in ("4.1", "4.2", "4.4"):
        assert good[task]["status"] == "passed", (task, good[task]["message"])
        assert good[task]["score"] == good[task]["max_score"]
    # 95 % reachable on the CIFAR-10-shaped test set: 70 and 80 pass, 99 does not
    t = good["4.3"]
    assert t["status"] == "partial" and (t["passed"], t["total"]) == (2, 3)
    assert t["score"] == pytest.approx(t["max_score"] * 2 / 3)
    assert "below the 99% threshold" in t["message"] and "95.00%" in t["message"]


def test_the_untouched_release_scores_zero(graded):
    for task, t in graded[0]["untouched"].items():
        assert t["score"] == 0.0 and t["status"] == "missing", (task, t["status"], t["message"])


def test_no_student_code_runs_for_a_checkpoint(graded):
    own = graded[0]["own"]
    assert own["4.1"]["status"] == "passed", own["4.1"]["message"]
    assert own["4.2"]["status"] == "missing"


@pytest.mark.parametrize("student,task,status,words", [
    ("bad", "4.1", "failed", ["pickle", "not loaded"]),
    ("bad", "4.2", "failed", ["NaN"]),
    ("bad", "4.3", "failed", ["num_classes = 5"]),
    ("bad", "4.4", "missing", ["convit_cifar10.pt", "safetensors"]),
    ("worse", "4.1", "failed", ["do not fit", "blocks.2"]),
    ("worse", "4.2", "failed", ["not a safetensors file"]),
    ("worse", "4.3", "timeout", ["time budget", "stopped after"]),   # in the test set or the held-out draw
    ("worse", "4.4", "failed", ["'mnist'", "'cifar10'"]),
    ("hostile", "4.1", "failed", ["config.json", "nested 30001 deep"]),
    ("hostile", "4.2", "failed", ["checkpoint.safetensors", "not a safetensors file"]),
    ("hostile", "4.3", "failed", ["parameters", "at most 200,000"]),
    ("hostile", "4.4", "failed", ["do not fit", "lookup.keys"]),
])
def test_bad_input_gives_status_and_zero(graded, student, task, status, words):
    t = graded[0][student][task]
    assert t["status"] == status, t["message"]
    assert t["score"] == 0.0
    for w in words:
        assert w in t["message"], (w, t["message"])


def test_provenance_gaps_go_to_the_instructor_only(graded):
    results, summary = graded
    liar = results["liar"]
    assert liar["4.1"]["status"] == "passed" and liar["4.2"]["status"] == "passed"
    log = (summary.out_dir / "liar" / "grader.log").read_text()
    assert "FLAG vit_mnist: the export recorded 50.00% test accuracy" in log
    assert "FLAG convit_mnist: no provenance.json" in log
    for name in ("feedback.md", "results.json"):
        shown = (summary.out_dir / "liar" / name).read_text()
        assert "FLAG" not in shown and "provenance" not in shown and "review" not in shown, name
    # (the good CIFAR-10 runs measured 100 % on clean held-out images during training; the
    # grader's test set has 5 % of its labels flipped, so those are flagged, rightly)
    good = (summary.out_dir / "good" / "grader.log").read_text()
    assert "FLAG vit_mnist" not in good and "FLAG convit_mnist" not in good
    assert ("vit_mnist: measured test 100.00%, training images drawn at grading time 100.00% (300); "
            "provenance recipe=vit_mnist") in good


def test_a_model_that_knows_the_public_images_is_held_for_review(graded):
    """Real ViTs of valid configurations that know the public images (a4_build.fit_to_the_test_set)
    pass the architecture checks, as they must, but are not scored: vit_mnist, fitted to the test
    set, fails on training images drawn at grading time; convit_mnist, fitted to the training
    and the test set, on shifted test copies. Both get status review and 0 points; grader.log
    and review.txt have the numbers, the student's feedback only that the checkpoint awaits review."""
    import re

    base = graded[1].out_dir.parent / "memo"
    sub = reference_copy(base / "subs" / "memo")
    shutil.copytree(base / "checkpoints", sub / "checkpoints")
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", "-q", "-a", "a4", "-j", "1",
                          "-s", str(base / "subs"), "-o", str(base / "out"), "--course-root", str(base / "course")],
                         cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "grade: 1 student(s) flagged for your review (never shown to them): memo; see review.txt" in run.stdout
    tasks = {t["task"]: t for t in json.loads((base / "out" / "memo" / "results.json").read_text())
             ["extra_data"]["tasks"]}
    for task, name in (("4.1", "vit_mnist"), ("4.2", "convit_mnist")):
        t = tasks[task]
        assert t["status"] == "review" and t["score"] == 0.0, (task, t["status"], t["message"])
        assert t["message"].startswith(f"{name}: awaiting your instructor's review, 0 points"), t["message"]
    log = (base / "out" / "memo" / "grader.log").read_text()
    flag = re.search(r"FLAG vit_mnist: held for review, 0 points until an override: test accuracy (\d+\.\d\d)% "
                     r"on 400 images, but (\d+\.\d\d)% on 300 training images drawn at grading time", log)
    assert flag and float(flag[1]) == 100.0 and float(flag[2]) < 50.0, log[-3000:]
    flag = re.search(r"FLAG convit_mnist: held for review, 0 points until an override: test accuracy (\d+\.\d\d)% "
                     r"on 400 images, but (\d+\.\d\d)% on 300 shifted test copies", log)
    assert flag and float(flag[1]) == 100.0 and float(flag[2]) < 80.0, log[-3000:]
    assert not re.search(r"FLAG convit_mnist: [^\n]*training images drawn", log), log[-3000:]
    review = (base / "out" / "review.txt").read_text()
    assert review.startswith("memo: FLAG ") and "FLAG vit_mnist: held for review" in review
    for name in ("memo/feedback.md", "memo/results.json", "gradebook.csv"):
        shown = (base / "out" / name).read_text()
        assert "FLAG" not in shown and "training images" not in shown and "shifted" not in shown, name
        assert "100.00%" not in shown and "margin" not in shown, name
    assert "awaiting your instructor's review" in (base / "out" / "memo" / "feedback.md").read_text()
    from autograder.engine.cli import review_flags      # what `make grade` lists in review.txt
    names = ["vit_mnist", "convit_mnist", "vit_cifar10", "convit_cifar10"]
    assert list(review_flags(base / "out", ["memo"], names)) == ["memo"]
    flagged = review_flags(graded[1].out_dir, ["good", "liar", "untouched"], names)
    assert "untouched" not in flagged
    assert any(line.startswith("FLAG vit_mnist: the export recorded 50.00%") for line in flagged["liar"])
    assert not any(line.startswith(("FLAG vit_mnist", "FLAG convit_mnist")) for line in flagged.get("good", []))
