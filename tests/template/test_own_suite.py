"""A baked course's own `make test` passes: the kit's fast tier, as the course ships it, run
inside a course that holds only some of the kit's parts and its own settings (the bake, the
release check and the round trip are checked in test_course_bake.py; the deep tier is not
run a second time here).

The course: a1 and the capstone (with a3's code kept as given code), MNIST only (the capstone
drops its CIFAR-10 tasks), CPU-only (the CPU thresholds), its own name, id, evaluation budget
and capstone points. Its suite covers every area the kit ships (release, leak guard, public
and hidden round trips, grading engine, Gradescope, datasets, notebooks, a1 and the capstone
graders). a1 keeps the kit's points: the kit's a1 tests
check the a1 reference's exact scores.
"""
import json
import re
import time
from pathlib import Path

import pytest

from .conftest import KIT, bake, make, ok, toml


@pytest.mark.slow
def test_a_baked_course_passes_its_own_make_test(bake_root):
    course = bake(bake_root, "own-suite", "course_id=cs231y", "'course_name=Vision Transformers 101'",
                  "term=Fall-2027", "'instructor=A. Teacher'", "assignments=a1,a4", "dataset=mnist", "gpu=no",
                  "mnist_budget_s=240", "points=a4=50")
    cfg = toml(course / "course.toml")
    assert (cfg["id"], cfg["gpu"], cfg["datasets"]) == ("cs231y", False, ["mnist"])
    assert cfg["assignments"] == ["a1_numpy_layers", "a4_capstone"]
    assert {s["dataset"] for s in cfg["capstone"]["checkpoints"].values()} == {"mnist"}
    assert not (course / "tests/template").exists() and not (course / "tests/a3").exists()
    started = time.monotonic()
    out = ok(make(course, "test", timeout=3600))
    summary = out.strip().splitlines()[-1]
    print(f"the baked course's make test: {summary} ({time.monotonic() - started:.0f} s)")
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|errors?|skipped)", summary)}
    assert counts.get("passed", 0) > 0 and not counts.get("failed") and not counts.get("error") \
        and not counts.get("errors"), summary
    # the course shares the kit's venv: its set-up must leave the kit's Jupyter kernel runnable
    spec = json.loads((KIT / ".venv/share/jupyter/kernels/python3/kernel.json").read_text())
    assert Path(spec["argv"][0]).is_file() and str(course) not in spec["argv"][0], spec["argv"]
