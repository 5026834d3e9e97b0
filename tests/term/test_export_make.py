"""`make export` as an instructor types it, in a course folder, in every format: each row
is the student's final score, or the export names the student (a roster student with no
submission is exported as 0 with a warning; a graded student on no roster row stops the LMS
formats). Ids are what grading makes of a submission's name, accented names included."""
from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pytest

import term_helpers as th
from autograder.engine.submissions import student_name

ACCENTED = "José García"          # the submission's name; grading makes the id José_García
ASCII_ROW = "Jose_Garcia,\"Garcia, Jose\",jose@uni.example,1099,U00099,jgarcia,A\n"
UNICODE_ROW = "José_García,\"García, José\",jose@uni.example,1099,U00099,jgarcia,A\n"


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


@contextlib.contextmanager
def accented(course: Path, roster_row: str):
    """José García hands in (graded as José_García) and roster.csv gains `roster_row`."""
    from vitlab.course import load_course

    out, sid = course / "grading" / "a1_tiny", student_name(ACCENTED)
    saved = {p: p.read_bytes() for p in (course / "roster.csv", out / "students.csv")}
    th.synthesise(out, load_course(course).assignment("a1"), [sid])
    with open(out / "students.csv", "a", encoding="utf-8") as f:
        f.write(f"{sid},{ACCENTED},\n")
    with open(course / "roster.csv", "a", encoding="utf-8") as f:
        f.write(roster_row)
    try:
        yield sid
    finally:
        for p, data in saved.items():
            p.write_bytes(data)
        shutil.rmtree(out / sid)


def test_roster_students_without_a_submission_are_named(course):
    for fmt in ("canvas", "moodle", "csv"):          # exported as 0, never silently
        r = th.make(course, "export", "ASSIGNMENT=a1", f"FORMAT={fmt}")
        warning = [line for line in r.stderr.splitlines() if "no submission" in line]
        assert r.returncode == 0 and len(warning) == 1, r.stderr
        assert warning[0].startswith(f"export: {fmt}: warning:") and all(s in warning[0] for s in th.MISSING)


def test_accented_id_on_the_roster_gets_its_score(course):
    with accented(course, UNICODE_ROW) as sid:
        assert sid == "José_García"
        r = th.make(course, "export", "ASSIGNMENT=a1", "FORMAT=canvas")
        assert r.returncode == 0, r.stderr[-2000:]
        row = th.csv_rows(course / "grading" / "a1_tiny" / "_term" / "export-canvas.csv", "ID")["1099"]
        score = row["Tiny assignment (4242)"]
        assert row["Student"] == "García, José" and score == th.totals(course)[sid]["final_score"] and float(score) > 0


def test_a_graded_student_off_the_roster_stops_the_lms_export_by_name(course):
    with accented(course, ASCII_ROW):            # the roster lost the accents
        for fmt in ("canvas", "moodle"):
            dest = course / "grading" / "a1_tiny" / "_term" / f"export-{fmt}.csv"
            dest.unlink(missing_ok=True)
            r = th.make(course, "export", "ASSIGNMENT=a1", f"FORMAT={fmt}")
            assert r.returncode != 0 and not dest.exists(), r.stderr
            assert "José_García" in r.stderr and "on no roster row" in r.stderr
        r = th.make(course, "export", "ASSIGNMENT=a1", "FORMAT=csv")    # everyone is in it: warnings
        assert r.returncode == 0, r.stderr
        warns = r.stderr.splitlines()
        assert any("José_García" in w and "on no roster row" in w for w in warns), r.stderr
        assert any("Jose_Garcia" in w and "exported as 0" in w for w in warns), r.stderr


def test_roster_accepts_every_id_grading_makes(tmp_path):
    from autograder.term import roster

    names = ["José García", "李 小龙", "Zoë-Ann O'Neil", "देवनागरी छात्र", "Ñandú.2", "٣student", "ann lee (2)"]
    ids = [student_name(n) for n in names]
    path = tmp_path / "roster.csv"
    path.write_text("student\n" + "".join(f"{i}\n" for i in ids), encoding="utf-8")
    assert [s.student for s in roster.load(path)] == ids
    path.write_text("student\n_hidden\n", encoding="utf-8")
    with pytest.raises(Exception, match="roster.csv:2: column 'student': value '_hidden': an id is letters, digits "
                                        "and marks of any script"):
        roster.load(path)


