"""`make export FORMAT=canvas|moodle|csv`: one row per student, for the LMS's grade import.

canvas: Student, ID, SIS User ID, SIS Login ID, Section, then one column named after the
  assignment (course.toml `canvas_column`, e.g. "Assignment 1 (1234)" with Canvas's
  assignment id, else the assignment's title). Canvas matches rows by ID (roster lms_id),
  else SIS User ID (sis_id) or SIS Login ID (login). Import: Grades > Import.
moodle: First name, Last name, ID number, Username, Email address, the grade column
  (`moodle_column`, else the title) and Feedback. Import: Grades > Import > CSV file,
  "Map from" Email address (or ID number) to the same user field, the grade column to the
  grade item and Feedback to its feedback.
csv: every column of totals.csv, every student (also those on no roster row).

Scores are the final scores (penalty and overrides applied); a missing submission is 0.
"""
from __future__ import annotations

from pathlib import Path

from autograder.term import final
from autograder.term.errors import TermError

FORMATS = ("canvas", "moodle", "csv")
CANVAS_IDS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_IDS = ("First name", "Last name", "ID number", "Username", "Email address")


def _enrolled(term: final.Term, fmt: str) -> list[final.Entry]:
    if not term.has_roster:
        raise TermError(f"export {fmt}: needs roster.csv in the course folder (the LMS matches rows by its ids); "
                        "FORMAT=csv works without one")
    waiting = [e.student for e in term.entries if e.status == "not graded"]
    if waiting:
        raise TermError(f"export {fmt}: {waiting[0]} (and {len(waiting) - 1} more) not graded yet; "
                        "run make grade again first")
    return [e for e in term.entries if e.status != "not on roster"]


def _score(e: final.Entry) -> str:
    return final.number(e.total("final"))


def canvas(term: final.Term) -> tuple[tuple[str, ...], list[dict]]:
    col = term.policy.canvas_column or term.assignment.title
    rows = []
    for e in _enrolled(term, "canvas"):
        w = e.who
        if not (w.lms_id or w.sis_id or w.login):
            raise TermError(f"export canvas: roster student {w.student} has no lms_id, sis_id or login; "
                            "Canvas cannot match the row")
        rows.append({"Student": w.name or w.student, "ID": w.lms_id, "SIS User ID": w.sis_id,
                     "SIS Login ID": w.login, "Section": w.section, col: _score(e)})
    return (*CANVAS_IDS, col), rows


def moodle(term: final.Term) -> tuple[tuple[str, ...], list[dict]]:
    col = term.policy.moodle_column or term.assignment.title
    rows = []
    for e in _enrolled(term, "moodle"):
        w = e.who
        if not (w.email or w.sis_id):
            raise TermError(f"export moodle: roster student {w.student} has no email or sis_id; "
                            "Moodle cannot match the row")
        first, last = w.first_last
        rows.append({"First name": first, "Last name": last, "ID number": w.sis_id, "Username": w.login,
                     "Email address": w.email, col: _score(e), "Feedback": final.reason(e)})
    return (*MOODLE_IDS, col, "Feedback"), rows


def plain(term: final.Term) -> tuple[tuple[str, ...], list[dict]]:
    return final.TOTAL_COLUMNS, final.total_rows(term)


def export(term: final.Term, fmt: str, dest: Path | None = None) -> Path:
    if fmt not in FORMATS:
        raise TermError(f"FORMAT={fmt!r}: use one of {', '.join(FORMATS)}")
    if dest is not None and Path(dest).is_dir():
        raise TermError(f"DEST={str(dest)!r}: a folder; DEST names the file to write "
                        f"(default: <OUT>/{final.TERM_DIR}/export-{fmt}.csv)")
    columns, rows = {"canvas": canvas, "moodle": moodle, "csv": plain}[fmt](term)
    dest = Path(dest) if dest else term.out_dir / final.TERM_DIR / f"export-{fmt}.csv"
    final.write_csv(dest, columns, rows)
    return dest
