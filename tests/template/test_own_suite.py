"""A baked course's own `make test` passes: the kit's whole suite, as the course ships it, run
inside a course that holds only some of the kit's parts and its own settings.

The course is a CPU-only a1 course on MNIST with its own name and id: the smallest course
whose suite still covers every area the kit ships (release, leak guard, public and hidden
round trips, grading engine, datasets, notebooks). It keeps the kit's points, because the
kit's a1 tests check the a1 reference's exact scores.
"""
import re
import time

import pytest

from .conftest import bake, make, ok, toml


@pytest.mark.slow
def test_a_baked_course_passes_its_own_make_test(bake_root):
    course = bake(bake_root, "own-suite", "course_id=cs231y", "'course_name=Vision Transformers 101'",
                  "term=Fall-2027", "'instructor=A. Teacher'", "assignments=a1", "dataset=mnist", "gpu=no")
    cfg = toml(course / "course.toml")
    assert (cfg["id"], cfg["assignments"], cfg["gpu"], cfg["datasets"]) == ("cs231y", ["a1_numpy_layers"], False, ["mnist"])
    assert not (course / "tests/template").exists() and not (course / "tests/a2").exists()
    started = time.monotonic()
    out = ok(make(course, "test", timeout=3600))
    summary = out.strip().splitlines()[-1]
    print(f"the baked course's make test: {summary} ({time.monotonic() - started:.0f} s)")
    counts = dict((word, int(n)) for n, word in re.findall(r"(\d+) (passed|failed|errors?|skipped)", summary))
    assert counts.get("passed", 0) > 0 and not counts.get("failed") and not counts.get("error") \
        and not counts.get("errors"), summary
