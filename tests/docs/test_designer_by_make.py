"""A course designer's commands, typed as docs/designers/ types them (read from the docs, run
in bash in a scratch copy of the kit, HOME in the scratch folder): the three scripted bakes
of A new course (`~/courses`, and beside the kit), and A new exercise added to a1, then its
release, public tests and grade-check. RUN lists them for tests/docs/test_commands_covered.py.
Deep tier: about three minutes on 2 busy cores (three bakes, each with its own release).
"""
from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from tests.docs import scratch
from tests.docs.test_term_by_make import GRADE_CHECK, Kit

pytestmark = pytest.mark.slow

BAKE_HOME = ('mkdir -p ~/courses && make new-course NO_INPUT=1 DEST=~/courses '
             'OPTS="course_id=cs231x assignments=a1,a2 gpu=no"')
BAKE_NAMED = "make new-course NO_INPUT=1 OPTS=\"course_name='Deep Vision 101' points=100 task_points=1.1=5\""
BAKE_CIFAR = ('make new-course NO_INPUT=1 '
              'OPTS="course_id=cifar_lab assignments=a3,a4 dataset=cifar10 cifar10_budget_s=600"')
NEW_EXERCISE = "make new-exercise NO_INPUT=1 OPTS=\"assignment=a1 title='Leaky ReLU' points=5\""
CHECK_NEW = "make release && make check ASSIGNMENT=a1 TASK=1.9"

# Every documented command these tests run as typed (GRADE_CHECK is the term's too).
RUN = (BAKE_HOME, BAKE_NAMED, BAKE_CIFAR, NEW_EXERCISE, CHECK_NEW, GRADE_CHECK)


@pytest.fixture
def kit():
    root = scratch.scratch_root()
    try:
        k = Kit(root)
        if not scratch.setup_stamp(k.path).exists():
            pytest.skip(f"the kit's .venv is not set up ({scratch.setup_stamp(k.path).name} missing): run make setup")
        yield k
    finally:
        shutil.rmtree(root, ignore_errors=True)


def course_toml(course: Path) -> dict:
    return tomllib.loads((course / "course.toml").read_text(encoding="utf-8"))


def points(course: Path, folder: str) -> dict[str, float]:
    toml = tomllib.loads((course / "solutions" / folder / "assignment.toml").read_text(encoding="utf-8"))
    return {t["id"]: t["points"] for t in toml["tasks"]}


def test_the_documented_bakes(kit):
    proc = kit.run(BAKE_HOME)
    course = kit.home / "courses" / "cs231x"
    assert f"new-course: done: {course}" in proc.stdout
    toml = course_toml(course)
    assert (toml["id"], toml["assignments"], toml["gpu"]) == ("cs231x", ["a1_numpy_layers", "a2_numpy_vit"], False)
    assert not (course / "solutions" / "a3_torch_vit").exists() and (course / "assignments" / "a2_numpy_vit").is_dir()

    proc = kit.run(BAKE_NAMED)                        # beside the kit, in the folder its id names
    course = kit.root / "vitlab"
    assert f"new-course: done: {course}" in proc.stdout
    assert (course / "README.md").read_text(encoding="utf-8").startswith("# Deep Vision 101")
    a1 = points(course, "a1_numpy_layers")
    assert a1["1.1"] == 5 and sum(a1.values()) == 95            # every assignment scaled to 100, then 1.1 = 5
    assert sum(points(course, "a3_torch_vit").values()) == 100

    proc = kit.run(BAKE_CIFAR)
    course = kit.root / "cifar-lab"
    assert f"new-course: done: {course}" in proc.stdout
    toml = course_toml(course)
    assert toml["assignments"] == ["a3_torch_vit", "a4_capstone"]
    assert sorted(toml["capstone"]["checkpoints"]) == ["convit_cifar10", "vit_cifar10"]
    assert {c["budget_s"] for c in toml["capstone"]["checkpoints"].values()} == {600}


def test_a_new_exercise_then_its_checks(kit):
    proc = kit.run(NEW_EXERCISE)
    assert "1.9" in proc.stdout + proc.stderr
    assert points(kit.path, "a1_numpy_layers")["1.9"] == 5
    proc = kit.run(CHECK_NEW)
    assert "== solutions/a1_numpy_layers" in proc.stdout and " passed" in proc.stdout and "deselected" in proc.stdout
    assert "NotImplementedError" in (kit.path / "assignments" / "a1_numpy_layers" / "leaky_relu.py").read_text()
    proc = kit.run(GRADE_CHECK)                       # exit 0: the reference full marks, the release zero
    assert "check a1_numpy_layers" in proc.stdout and "1.9" in proc.stdout
