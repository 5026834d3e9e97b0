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

Scores are the final scores (penalty and overrides applied). Every row carries the
student's final score, or the export says so by name: a graded submission that matches no
roster row stops canvas and moodle (the LMS file could not carry its score, and it is
usually an enrolled student under another id); a roster student with no submission is
exported as 0 with a warning naming them. csv has every student, so both are warnings there.
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
    off = _off_roster(term)
    if off:
        raise TermError(f"{fmt}: graded but on no roster row, so the file would leave out their score: "
                        f"{off}; add them to roster.csv (column student: the id make grade gave, or the email "
                        "the submission was named after) and export again (FORMAT=csv lists every student)")
    return [e for e in term.entries if e.status != "not on roster"]


def _off_roster(term: final.Term) -> str:
    why = dict(term.unknown)
    return _names([f"{e.student} ({_score(e)} points; {why.get(e.student, 'not on the roster')})"
                   for e in term.entries if e.status == "not on roster"])


def _names(items: list[str], shown: int = 30) -> str:
    more = f" and {len(items) - shown} more (see totals.csv)" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


def warnings(term: final.Term, fmt: str) -> list[str]:
    """One line per kind of row whose score is not what the student earned by grading."""
    out = []
    missing = [e.student for e in term.entries if e.status == "missing"]
    if missing:
        out.append(f"export: {fmt}: warning: on the roster with no submission, exported as 0: {_names(missing)}")
    if fmt == "csv" and _off_roster(term):
        out.append(f"export: {fmt}: warning: graded but on no roster row (an LMS import would not find them): "
                   f"{_off_roster(term)}")
    return out


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


def export(term: final.Term, fmt: str, dest: Path | None = None) -> tuple[Path, list[str]]:
    """(the file written, warnings to show): every check runs before anything is written."""
    if fmt not in FORMATS:
        raise TermError(f"FORMAT={fmt!r}: use one of {', '.join(FORMATS)}")
    if dest is not None and Path(dest).is_dir():
        raise TermError(f"DEST={str(dest)!r}: a folder; DEST names the file to write "
                        f"(default: <OUT>/{final.TERM_DIR}/export-{fmt}.csv)")
    columns, rows = {"canvas": canvas, "moodle": moodle, "csv": plain}[fmt](term)
    dest = Path(dest) if dest else term.out_dir / final.TERM_DIR / f"export-{fmt}.csv"
    final.write_csv(dest, columns, rows)
    return dest, warnings(term, fmt)
