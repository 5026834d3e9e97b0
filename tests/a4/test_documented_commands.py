"""Every `make` and `python` command that the capstone guide and the manual's capstone page document works
as written, from the released folder (assignments/a4_capstone), with the smoke recipe standing
in for the long ones. A smoke run trains on synthetic data, so exporting it must be refused
with the reason; exporting a real run is checked when the datasets mirror is available."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ROOT / "assignments" / "a4_capstone"
GUIDE = (RELEASE / "README.md").read_text(encoding="utf-8")
PY = sys.executable

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("a4cmd") / "a4_capstone"
    shutil.copytree(RELEASE, dest, symlinks=False,
                    ignore=shutil.ignore_patterns("__pycache__", "runs", "checkpoints"))
    return dest


def sh(folder: Path, *argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    argv = [PY if a == "python" else a for a in argv]
    if argv[0] == "make":
        argv = ["make", "--no-print-directory", f"PYTHON={PY}", *argv[1:]]
    return subprocess.run(argv, cwd=folder, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "MPLBACKEND": "Agg", **(env or {})})


# Every `make` / `python` command the guide and the manual's capstone page show, and the
# test that runs it as written or with the smoke recipe standing in for a long run.
HERE = "tests/a4/test_documented_commands.py"
RUN_BY = {
    "make setup": "tests/release/test_student_setup.py",
    "make check TASK=X.Y": HERE, "make check TASK=4.1": HERE, "make check TASK=4.2": HERE,
    "make check TASK=4.3": HERE, "make check TASK=4.4": HERE, "make check": HERE,
    "make submit": "tests/release/test_handin.py",
    "python train.py --config configs/vit_mnist_gpu.toml": HERE,
    "python train.py --config configs/vit_cifar10_gpu.toml --set lr=1e-3 --set epochs=150": HERE,
    "python train.py --config configs/vit_cifar10_gpu.toml --resume": HERE,
    'make train CONFIG=vit_mnist_gpu [SET="lr=1e-3 epochs=150"] [RESUME=1]': HERE,
    "make train CONFIG=vit_mnist_gpu": HERE, "make train CONFIG=vit_mnist": "tests/a4/test_bench_train.py",
    "python train.py --config configs/smoke.toml": HERE,
    "python attention_viz.py --checkpoint runs/vit_mnist_gpu/checkpoint.safetensors --out attn.png": HERE,
    "python submit.py export runs/<recipe> <name>": HERE,
    "python submit.py export runs/vit_mnist_gpu vit_mnist": HERE,
    "python submit.py check --evaluate": HERE, "make submit-check [EVALUATE=1]": HERE,
    "make export RUN=runs/<recipe> NAME=<name>": HERE,
    "python -m vitdata fetch all": "tests/datasets/test_vitdata_cli.py",
    "make datasets": "tests/datasets/test_vitdata_cli.py",
    # a released folder's own data commands (its README's Get the data section)
    "make datasets DATASET=mnist": "tests/release/test_student_datasets.py",
    "make datasets MIRROR=/path/to/mirror": "tests/release/test_student_datasets.py",
    "python -m vitdata fetch all [--mirror <dir or .tar.gz>]": "tests/datasets/test_vitdata_cli.py",
    "python -m vitdata info": "tests/datasets/test_vitdata_cli.py",
    "make release": "tests/release/test_release.py",
    "make bench NAME=capstone": "tests/a4/test_bench_train.py",
    "make bench-gpu": "tests/a4/test_gpu_prep.py", "make bench-gpu DRY=1": "tests/a4/test_gpu_prep.py",
    "make datasets MIRROR=.carry": "tests/datasets/test_vitdata_cli.py",
    "make calibrate": "tests/a4/test_calibrate.py", "make calibrate KIND=cpu MARGIN=2.0": "tests/a4/test_calibrate.py",
    "make grade": "tests/a4/test_a4_graders.py",     # its command line grades a capstone class there
    "make grade ASSIGNMENT=a4": "tests/a4/test_a4_graders.py",   # the leaderboard: the same run
}


def documented(text: str) -> list[str]:
    """The `make` / `python` commands in a Markdown text's code blocks and code spans."""
    found = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
        found += [line.split(" #")[0].strip() for line in block.splitlines()]
    found += [span.strip() for span in re.findall(r"`([^`\n]+)`", text)]
    return list(dict.fromkeys(c for c in found if c.startswith(("make ", "python "))))


def test_every_documented_command_is_run_by_a_test():
    capstone = (ROOT / "docs/capstone.md").read_text(encoding="utf-8")
    shown = documented(GUIDE) + documented(capstone)
    assert "make train CONFIG=vit_mnist_gpu" in shown and "make submit-check [EVALUATE=1]" in shown
    unrun = [c for c in shown if c not in RUN_BY]
    assert not unrun, f"documented but run by no test (add it to RUN_BY and run it): {unrun}"
    for where in set(RUN_BY.values()):
        assert (ROOT / where).is_file(), where


def test_the_guide_documents_these_commands():
    for cmd in ("make train CONFIG=vit_mnist_gpu", "python train.py --config configs/vit_mnist_gpu.toml",
                "--resume", "python attention_viz.py --checkpoint runs/vit_mnist_gpu/checkpoint.safetensors --out attn.png",
                "python submit.py export runs/<recipe> <name>", "python submit.py check --evaluate", "make check",
                "make export RUN=runs/<recipe> NAME=<name>", "make submit-check [EVALUATE=1]"):
        assert cmd in GUIDE, cmd
    page = (ROOT / "docs/capstone.md").read_text(encoding="utf-8")
    assert "cd assignments/a4_capstone\nmake train CONFIG=vit_mnist_gpu" in page


def test_make_help_and_train_without_a_recipe(folder):
    out = sh(folder, "make", "help")
    assert out.returncode == 0 and "make train CONFIG=<recipe>" in out.stdout and "make check" in out.stdout
    out = sh(folder, "make", "train")
    assert out.returncode == 2 and "vit_mnist_gpu" in out.stdout and "smoke" in out.stdout
    out = sh(folder, "make", "train", "CONFIG=no_such_recipe")
    assert out.returncode == 2 and "no recipe no_such_recipe" in out.stdout


def test_train_resume_and_attention_maps(folder):
    out = sh(folder, "make", "train", "CONFIG=smoke", "SET=epochs=1")
    assert out.returncode == 0, out.stderr[-2000:]
    assert (folder / "runs/smoke/checkpoint.safetensors").is_file()
    out = sh(folder, "python", "train.py", "--config", "configs/smoke.toml", "--set", "epochs=2", "--resume")
    assert out.returncode == 0 and "resuming after epoch 1" in out.stderr, out.stderr[-2000:]
    out = sh(folder, "python", "train.py", "--config", "configs/smoke.toml", "--set", "epochs=2")
    assert out.returncode == 0 and "test accuracy" in out.stdout, out.stderr[-2000:]
    out = sh(folder, "python", "attention_viz.py", "--checkpoint", "runs/smoke/checkpoint.safetensors",
             "--out", "attn.png")
    assert out.returncode == 0 and (folder / "attn.png").is_file(), out.stderr[-2000:]


def test_a_smoke_run_cannot_be_exported(folder):
    if not (folder / "runs/smoke/checkpoint.safetensors").is_file():
        assert sh(folder, "make", "train", "CONFIG=smoke", "SET=epochs=1").returncode == 0
    out = sh(folder, "python", "submit.py", "export", "runs/smoke", "vit_mnist")
    assert out.returncode == 2 and "trained on synthetic data" in out.stderr, out.stderr
    out = sh(folder, "make", "export", "RUN=runs/smoke", "NAME=vit_mnist")
    assert out.returncode != 0 and "trained on synthetic data" in out.stderr
    assert not (folder / "checkpoints").exists()
    out = sh(folder, "python", "submit.py", "check")
    assert out.returncode == 1 and "vit_mnist" in out.stdout and "missing" in out.stdout
    out = sh(folder, "make", "submit-check")
    assert out.returncode != 0 and "missing" in out.stdout


def test_make_check_runs_the_public_tests(folder):
    out = sh(folder, "make", "check")
    assert out.returncode == 0 and " passed" in out.stdout, out.stdout[-3000:]
    out = sh(folder, "make", "check", "TASK=4.1")
    assert out.returncode == 0 and " passed" in out.stdout and "deselected" in out.stdout, out.stdout[-3000:]
    out = sh(folder, "make", "check", "TASK=4.9")
    assert out.returncode != 0 and "no task '4.9' in this assignment" in out.stdout, out.stdout + out.stderr
    assert "4.1 4.2" in out.stdout and "Error 5" not in out.stderr


@pytest.mark.skipif(not os.environ.get("VITLAB_MIRROR"), reason="needs the datasets mirror (VITLAB_MIRROR)")
def test_a_real_run_exports_and_checks(folder, tmp_path):
    env = {"VITLAB_DATA": str(tmp_path / "data")}
    out = sh(folder, "python", "train.py", "--config", "configs/smoke.toml", "--set", "synthetic=false",
             "--set", "train_subset=512", "--set", "epochs=1", "--set", "out_dir='runs/real'", env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    out = sh(folder, "make", "export", "RUN=runs/real", "NAME=vit_mnist", env=env)
    assert out.returncode == 0 and (folder / "checkpoints/vit_mnist/provenance.json").is_file(), out.stderr
    import json
    prov = json.loads((folder / "checkpoints/vit_mnist/provenance.json").read_text())
    assert prov["data"] == "real" and prov["data_copy"].startswith("MNIST"), prov
    out = sh(folder, "make", "submit-check", "EVALUATE=1", env=env)
    assert "vit_mnist        ok: vit" in out.stdout and "test accuracy" in out.stdout, out.stdout
