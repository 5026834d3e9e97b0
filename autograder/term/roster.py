"""roster.csv: who is enrolled, and how each LMS knows them.

Columns: student (required: the id the student's submission is named by), name, email,
lms_id (Canvas's user ID), sis_id (the institution's student number: Canvas's SIS User ID,
Moodle's ID number), login (Canvas's SIS Login ID, Moodle's username), section. A
submission matches a roster row by its id (the way `make grade` names ids: case and
punctuation folded) or by the email it was named after.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from autograder.engine.submissions import is_id, student_name
from autograder.term.csvfile import read_rows

COLUMNS = ("student", "name", "email", "lms_id", "sis_id", "login", "section")
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
MAX_ID = 120
# what `make grade` makes of a submission's name (any script), plus an email's @ and +
ID_RULE = "letters, digits and marks of any script and ._@+- (at most 120), starting with a letter or digit"


@dataclass(frozen=True)
class Student:
    student: str
    name: str = ""
    email: str = ""
    lms_id: str = ""
    sis_id: str = ""
    login: str = ""
    section: str = ""

    @property
    def first_last(self) -> tuple[str, str]:
        """Moodle's first and last name: "Last, First" or "First Last"."""
        if "," in self.name:
            last, first = (s.strip() for s in self.name.split(",", 1))
            return first, last
        parts = self.name.rsplit(" ", 1)
        return (parts[0], parts[1]) if len(parts) == 2 else (self.name, "")


def _key(text: str) -> str:
    return student_name(text).casefold()


def load(path: Path) -> list[Student]:
    rows = read_rows(path, ("student",), COLUMNS[1:])
    out, keys = [], {}
    for row in rows:
        sid = row["student"]
        if len(sid) > MAX_ID or not is_id(sid, also="@+"):
            raise row.fail("student", f"an id is {ID_RULE}")
        if row["email"] and not _EMAIL.match(row["email"]):
            raise row.fail("email", "not an email address")
        if row["lms_id"] and not row["lms_id"].isdigit():
            raise row.fail("lms_id", "Canvas and Moodle user ids are whole numbers")
        for col, key in (("student", _key(sid)), ("email", row["email"].casefold())):
            if key and (col, key) in keys:
                raise row.fail(col, f"also on line {keys[(col, key)]}")
            keys[(col, key)] = row.line
        out.append(Student(**{c: row[c] for c in COLUMNS}))
    return out


def match(roster: list[Student], ids: list[str]) -> tuple[dict[str, Student], list[tuple[str, str]]]:
    """(submission id -> roster student, [(submission id, why it matched no roster row)])."""
    by_key = {}
    for s in roster:
        by_key.setdefault(_key(s.student), s)
        if s.email:
            by_key.setdefault(_key(s.email), s)
    matched, unknown, taken = {}, [], {}
    for sid in ids:
        s = by_key.get(sid.casefold()) or by_key.get(_key(sid))
        if s is None or s.student in taken:
            unknown.append((sid, "not on the roster" if s is None else
                            f"a second submission for {s.student}, beside {taken[s.student]}"))
            continue
        matched[sid], taken[s.student] = s, sid
    return matched, unknown
