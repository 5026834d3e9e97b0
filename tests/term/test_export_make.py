"""`make export` as an instructor types it, in a course folder, in every format: each row
is the student's final score."""
from __future__ import annotations

import pytest

import term_helpers as th


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return th.graded_course(tmp_path_factory.mktemp("make-export"))


MOODLE_COLUMN = "A tiny assignment for the grading engine's tests"


@pytest.mark.parametrize("fmt,key,column", [("canvas", "ID", "Tiny assignment (4242)"),
                                            ("moodle", "Email address", MOODLE_COLUMN),
                                            ("csv", "student", "final_score")])
def test_export_as_typed_in_every_format(course, fmt, key, column):
    r = th.make(course, "export", "ASSIGNMENT=a1", f"FORMAT={fmt}")
    assert r.returncode == 0, r.stderr[-2000:]
    path = course / "grading" / "a1_tiny" / "_term" / f"export-{fmt}.csv"
    assert f"export: {fmt}: {path}" in r.stdout
    rows, totals = th.csv_rows(path, key), th.totals(course)
    assert len(rows) == th.N
    for t in totals.values():                # every row is the student's final score
        assert rows[t["lms_id"] if fmt == "canvas" else t["email"] if fmt == "moodle" else t["student"]][column] \
            == t["final_score"]


def test_export_dest_is_a_file_not_a_folder(course):
    r = th.make(course, "export", "ASSIGNMENT=a1", "FORMAT=csv", "DEST=..")
    assert r.returncode != 0 and r.stderr.startswith("export: DEST='..': a folder; DEST names the file"), r.stderr
    r = th.make(course, "export", "ASSIGNMENT=a1", "FORMAT=csv", "DEST=mine.csv")
    assert r.returncode == 0 and (course / "mine.csv").is_file(), r.stderr
