"""`make grade ASSIGNMENT=a4` before `make datasets`: grading stops before anyone is graded,
with one line naming the missing dataset and the command that fetches it, instead of an
"internal grader error" for every student whose checkpoint needs the data."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from vitlab.course import load_course

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ROOT / "assignments" / "a4_capstone"
COURSE = load_course(ROOT)
# the capstone's datasets in course.toml's order: a baked course may grade on one only
DATASETS = list(dict.fromkeys(s["dataset"] for s in COURSE.settings["capstone"]["checkpoints"].values()))
NAMES = {"mnist": "MNIST", "cifar10": "CIFAR-10"}


def _env(data: Path) -> dict:
    """What `make grade` passes (no PYTHONPATH), with the cache pointed at `data`."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VITLAB_MIRROR", "VITLAB_DATA")}
    return {**env, "VITLAB_DATA": str(data)}


def _submissions(tmp: Path) -> Path:
    """One student's a4 folder with a checkpoint to evaluate (its contents are never reached)."""
    sub = tmp / "subs" / "alice"
    shutil.copytree(RELEASE, sub, ignore=shutil.ignore_patterns("__pycache__"))
    ckpt = sub / "checkpoints" / "vit_mnist"
    ckpt.mkdir(parents=True)
    (ckpt / "checkpoint.safetensors").write_bytes(b"\x08" + b"\0" * 7 + b"{}      ")
    (ckpt / "config.json").write_text("{}")
    return tmp / "subs"


def _grade(tmp: Path, data: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "autograder", "grade", "-q", "-a", "a4", "-j", "1",
           "-s", str(_submissions(tmp)), "-o", str(tmp / "out"), *extra]
    return subprocess.run(cmd, cwd=ROOT, env=_env(data), capture_output=True, text=True, timeout=300)


def test_missing_cache_stops_grading_with_one_line_and_writes_nothing(tmp_path):
    (tmp_path / "empty").mkdir()
    r = _grade(tmp_path, tmp_path / "empty")
    assert r.returncode == 2, r.stdout[-2000:] + r.stderr[-2000:]
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    line = lines[0]
    first = DATASETS[0]
    for words in ("grade: a4_capstone was not graded (no student results written): ",
                  f"{NAMES[first]} is not in the cache", str(tmp_path / "empty" / first / "meta.json"),
                  *(f"make datasets DATASET={d}" for d in DATASETS)):
        assert words in line, line
    assert not (tmp_path / "out").exists(), sorted(p.name for p in (tmp_path / "out").iterdir())


def test_missing_testset_arrays_are_named_with_the_setting(tmp_path):
    """[capstone] testset_dir: the instructor's own arrays, named by path and setting."""
    course = tmp_path / "course"
    course.mkdir()
    toml = (ROOT / "course.toml").read_text(encoding="utf-8")
    assert 'testset_dir = ""' in toml
    (course / "course.toml").write_text(toml.replace('testset_dir = ""', 'testset_dir = "arrays"'))
    (course / "solutions").symlink_to(ROOT / "solutions")
    r = _grade(tmp_path, tmp_path / "unused", "--course-root", str(course))
    assert r.returncode == 2, r.stdout[-2000:] + r.stderr[-2000:]
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert f"{course / 'arrays' / (DATASETS[0] + '_test.npz')} does not exist" in lines[0], lines[0]
    assert "testset_dir = 'arrays'" in lines[0] and f"{DATASETS[-1]}_train.npz" in lines[0], lines[0]
    assert not (tmp_path / "out").exists()


def test_only_declared_needs_are_required(tmp_path, monkeypatch):
    """a2's graders fall back to synthetic digits and a3's read no data: neither needs the
    cache. The capstone's needs are met once its cache folders exist."""
    from autograder.engine import needs

    monkeypatch.setenv("VITLAB_DATA", str(tmp_path))
    monkeypatch.delenv("VITLAB_MIRROR", raising=False)
    course = load_course(ROOT)
    for a in course.assignments:
        if a.folder != "a4_capstone":
            assert needs.missing(course, a) == [], a.folder
    assert [p.split(" ")[0] for p in needs.missing(course, course.assignment("a4"))] == [NAMES[d] for d in DATASETS]
    from vitdata import synthetic
    from vitdata.cache import write

    for name in DATASETS:
        x, y = synthetic(name, "test", n=4, seed=0)
        write(name, {"train": (x, y), "test": (x, y)},
              {"counts": {"train": 4, "test": 4}, "display_name": name}, data_dir=tmp_path)
    assert needs.missing(course, course.assignment("a4")) == []


def test_every_caller_of_the_engine_is_stopped_before_anything_is_written(tmp_path, monkeypatch):
    """grade_all itself checks (the term's regrade and Gradescope's run call it directly)."""
    import pytest

    from autograder.engine.grade import grade_all
    from autograder.engine.needs import GradingInputMissing

    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("VITLAB_DATA", str(tmp_path / "empty"))
    monkeypatch.delenv("VITLAB_MIRROR", raising=False)
    with pytest.raises(GradingInputMissing, match="MNIST is not in the cache"):
        grade_all("a4", _submissions(tmp_path), tmp_path / "out", workers=1)
    assert not (tmp_path / "out").exists()
