"""`make calibrate` (bench/calibrate.py) on the CPU: the CPU recipes with tiny budgets on
synthetic data, writing into a copy of course.toml; only the calibrated lines change."""
from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import calibrate  # noqa: E402

# num_heads: a ConViT needs a square count
TINY = ["synthetic=true", "train_subset=128", "epochs=1", "embed_dim=16", "depth=1", "num_heads=4",
        "local_layers=0", "batch_size=64", "time_budget_s=20.0", "device='cpu'", "threads=1", "stem_channels=4",
        "eval_batch_size=500", "progress=false"]



def run(course: Path, *extra: str, out: Path | None = None):
    """`make calibrate KIND=cpu ARGS=...` on `course` with the tiny settings."""
    args = ["--course", str(course), *extra, *(f"--set {kv}" for kv in TINY)] + (["--out", str(out)] if out else [])
    cmd = ["make", "--no-print-directory", "calibrate", "KIND=cpu", "ARGS=" + " ".join(args)]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_calibrate_writes_thresholds_and_reference_into_a_copy(tmp_path):
    course = tmp_path / "course.toml"
    shutil.copy(ROOT / "course.toml", course)
    before = course.read_text()
    names = list(tomllib.loads(before)["capstone"]["checkpoints"])     # the kit: both data sets
    picked, untouched = [names[0], names[-1]], names[1:-1]
    proc = run(course, "--only", ",".join(picked), "--margin", "1.5", out=tmp_path / "runs")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    after = course.read_text()
    old, new = tomllib.loads(before), tomllib.loads(after)
    for name, recipe in ((n, f"{n}_cpu") for n in picked):
        acc = 100 * json.loads((tmp_path / "runs" / recipe / "metrics.json").read_text())["test_acc"]
        got, was = new["capstone"]["checkpoints"][name], old["capstone"]["checkpoints"][name]
        top = math.floor(acc - 1.5)
        assert got["thresholds"][-1] == max(0, top)
        assert got["thresholds"] == [max(0, top - (was["thresholds"][-1] - t)) for t in was["thresholds"]]
        assert f"measured {acc:.2f} %" in got["reference"] and recipe in got["reference"]
        assert "cores visible" in got["reference"] and "synthetic data" in got["reference"]
    # nothing else changed: untouched tables, comments and the edited tables' other lines
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert len(before.splitlines()) == len(after.splitlines()) and len(changed) == 4, changed
    assert all(a.split("=")[0].strip() in ("thresholds", "reference") for a, _ in changed)
    assert all(old["capstone"]["checkpoints"][n] == new["capstone"]["checkpoints"][n] for n in untouched)
    assert (ROOT / "course.toml").read_text() != after                    # the real file was not touched


def test_rewrite_adds_a_missing_reference_and_keeps_comments():
    text = ("# head comment\n[capstone.checkpoints.a]\ntask = \"4.1\"\nthresholds = [1.0, 2.0]  # old\n"
            "budget_s = 5  # kept\n\n[capstone.checkpoints.b]\nthresholds = [3.0]\n")
    out = calibrate.rewrite(text, "a", [7.0, 8.0], 'measured "x"')
    assert "# head comment" in out and "budget_s = 5  # kept" in out
    data = tomllib.loads(out)["capstone"]["checkpoints"]
    assert data["a"]["thresholds"] == [7.0, 8.0] and data["a"]["reference"] == 'measured "x"'
    assert data["b"] == {"thresholds": [3.0]}


def test_suggest_keeps_the_ladder_below_the_measured_accuracy():
    assert calibrate.suggest(91.7, [70.0, 80.0, 87.0], 1.5) == [73.0, 83.0, 90.0]
    assert calibrate.suggest(12.0, [70.0, 80.0, 87.0], 1.5) == [0.0, 3.0, 10.0]


def test_bad_input_is_one_line(tmp_path):
    course = tmp_path / "course.toml"
    shutil.copy(ROOT / "course.toml", course)
    proc = run(course, "--only", "resnet_imagenet")
    assert proc.returncode != 0 and "no [capstone.checkpoints.resnet_imagenet]" in proc.stderr
    assert len([line for line in proc.stderr.splitlines() if line.startswith("calibrate:")]) == 1
    (tmp_path / "empty.toml").write_text("title = 'x'\n")
    proc = run(tmp_path / "empty.toml")
    assert proc.returncode != 0 and "no [capstone.checkpoints.*]" in proc.stderr
    assert course.read_text() == (ROOT / "course.toml").read_text()
