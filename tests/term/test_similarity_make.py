"""`make similarity` as an instructor types it, on the kit's a1 (three task files)."""
from __future__ import annotations

import csv
import shutil

import term_helpers as th


def test_similarity_discounts_the_release_as_typed(tmp_path):
    """The kit's a1 (three task files): the untouched release against a student who left one
    stub as given is no match; the report's header says what counts as common."""
    from vitlab.course import load_course
    from vitlab.release.fences import render

    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(th.ROOT / "course.toml", course / "course.toml")
    (course / "solutions").symlink_to(th.ROOT / "solutions")
    a = load_course(course).assignment("a1")
    shutil.copytree(th.ROOT / "assignments" / a.folder, course / "assignments" / a.folder)
    th.runnable(course)
    subs = tmp_path / "subs"
    shutil.copytree(course / "assignments" / a.folder, subs / "untouched")
    for name, stubs in (("one_stub", {a.tasks[-1].id}), ("done", set())):
        (subs / name).mkdir()
        for f in {f for t in a.tasks for f in t.files if f.endswith(".py")}:
            text = (th.ROOT / "solutions" / a.folder / f).read_text(encoding="utf-8")
            (subs / name / f).write_text(render(text, f, stub_tasks=stubs), encoding="utf-8")
    r = th.make(course, "similarity", "ASSIGNMENT=a1", f"SUBMISSIONS={subs}")
    assert r.returncode == 0, r.stderr[-2000:]
    d = course / "grading" / a.folder / "_term" / "similarity"
    pairs = list(csv.DictReader(open(d / "pairs.csv", encoding="utf-8")))
    assert [(p["student_a"], p["student_b"]) for p in pairs] == [("done", "one_stub")], pairs
    page = (d / "report.html").read_text(encoding="utf-8")
    assert "{COMMON" not in page and "more than 20% of the submissions" in page
