"""`make similarity` as an instructor types it, on an assignment with several task files."""
from __future__ import annotations

import csv
import shutil

import pytest

import term_helpers as th


def _py_files(a) -> list[str]:
    return sorted({f for t in a.tasks for f in t.files if f.endswith(".py")})


def test_similarity_discounts_the_release_as_typed(tmp_path):
    """The course's first assignment with several task files (the kit's a1: three): the
    untouched release against a student who left one stub as given is no match; the report's
    header says what counts as common."""
    from vitlab.course import load_course
    from vitlab.release.fences import render

    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(th.ROOT / "course.toml", course / "course.toml")
    (course / "solutions").symlink_to(th.ROOT / "solutions")
    a = next((x for x in load_course(course).assignments if len(_py_files(x)) > 1), None)
    if a is None:
        pytest.skip("no assignment of this course has two task files")
    shutil.copytree(th.ROOT / "assignments" / a.folder, course / "assignments" / a.folder)
    th.runnable(course)
    subs = tmp_path / "subs"
    shutil.copytree(course / "assignments" / a.folder, subs / "untouched")
    last = [t.id for t in a.tasks if any(f.endswith(".py") for f in t.files)][-1]
    for name, stubs in (("one_stub", {last}), ("done", set())):
        (subs / name).mkdir()
        for f in _py_files(a):
            text = (th.ROOT / "solutions" / a.folder / f).read_text(encoding="utf-8")
            (subs / name / f).write_text(render(text, f, stub_tasks=stubs), encoding="utf-8")
    r = th.make(course, "similarity", f"ASSIGNMENT={a.id}", f"SUBMISSIONS={subs}")
    assert r.returncode == 0, r.stderr[-2000:]
    d = course / "grading" / a.folder / "_term" / "similarity"
    pairs = list(csv.DictReader(open(d / "pairs.csv", encoding="utf-8")))
    assert [(p["student_a"], p["student_b"]) for p in pairs] == [("done", "one_stub")], pairs
    page = (d / "report.html").read_text(encoding="utf-8")
    assert "{COMMON" not in page and "more than 20% of the submissions" in page
