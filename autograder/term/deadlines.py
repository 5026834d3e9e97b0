"""Deadlines, per-student extensions and the late penalty.

extensions.csv: student, assignment (folder or id), and either `due` (a new due time,
ISO 8601 with a zone) or `days` (extra days, may be fractional); `reason` is optional and
shows in the gradebook. An extension moves the due time and, by the same amount, the
no-credit date.

Lateness counts from the (extended) due time. Within the grace period nothing is taken;
after it, `percent_per_day` for each day or part of a day since the due time, at most
`max_percent`. After `no_credit_after` the work gets no credit. A submission without a
known time is not penalised, and the gradebook says the time is unknown.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from autograder.term.config import Policy
from autograder.term.csvfile import read_rows
from autograder.term.errors import TermError
from autograder.term.times import iso, parse_time

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Extension:
    due: datetime | None = None
    days: float = 0.0
    reason: str = ""
    line: int = 0


@dataclass(frozen=True)
class Late:
    percent: float = 0.0
    reason: str = ""
    days: int = 0


def load_extensions(path: Path, assignments: dict[str, str], students: set[str] | None) -> dict[tuple[str, str], Extension]:
    """(student, assignment folder) -> Extension. `assignments` maps ids and folders to folders;
    `students`, when known (a roster), are the only ids allowed."""
    out: dict[tuple[str, str], Extension] = {}
    for row in read_rows(path, ("student", "assignment"), ("due", "days", "reason")):
        if not row["student"]:
            raise row.fail("student", "empty")
        if students is not None and row["student"] not in students:
            raise row.fail("student", "not on the roster")
        folder = assignments.get(row["assignment"])
        if folder is None:
            raise row.fail("assignment", f"no such assignment (known: {', '.join(sorted(set(assignments.values())))})")
        if bool(row["due"]) == bool(row["days"]):
            raise row.fail("due" if row["due"] else "days", "give exactly one of due (a time) or days (a number)")
        ext = Extension(reason=row["reason"], line=row.line)
        if row["due"]:
            try:
                ext = replace(ext, due=parse_time(row["due"], f"{path}:{row.line}: column 'due'"))
            except TermError as e:
                raise TermError(str(e)) from None
        else:
            try:
                days = float(row["days"])
            except ValueError:
                days = math.nan
            if not math.isfinite(days) or not 0 < days <= 365:
                raise row.fail("days", "must be a number of days above 0 and at most 365")
            ext = replace(ext, days=days)
        key = (row["student"], folder)
        if key in out:
            raise row.fail("student", f"a second extension for {folder} (first on line {out[key].line})")
        out[key] = ext
    return out


def effective(policy: Policy, ext: Extension | None) -> tuple[datetime | None, datetime | None]:
    """(due, no_credit_after) for one student."""
    due, last = policy.due, policy.no_credit_after
    if ext is None or due is None:
        return due, last
    new_due = ext.due if ext.due is not None else due + timedelta(days=ext.days)
    shift = new_due - due
    return new_due, (last + shift if last is not None else None)


def extended(ext: Extension | None) -> str:
    """How an extension is named wherever it applied: " (extended: medical note)"."""
    if ext is None:
        return ""
    return f" (extended: {ext.reason})" if ext.reason else " (extended)"


def granted(policy: Policy, ext: Extension) -> str:
    """An extension for work that never came, named so the gradebook shows it was granted."""
    due, _ = effective(policy, ext)
    return f"due {iso(due)}{extended(ext)}" if due is not None else f"no deadline set{extended(ext)}"


def lateness(policy: Policy, ext: Extension | None, submitted: datetime | None, source: str) -> Late:
    due, last = effective(policy, ext)
    extended_by = extended(ext)
    if due is None:
        return Late(0.0, f"no deadline set{extended_by}")
    if submitted is None:
        return Late(0.0, f"submission time unknown, not checked against the due time {iso(due)}{extended_by}")
    if last is not None and submitted > last:
        return Late(100.0, f"submitted {iso(submitted)} ({source}), after the last date for credit {iso(last)}"
                    f"{extended_by}: no credit", math.ceil((submitted - due) / DAY))
    late = submitted - due
    if late <= timedelta(0):   # on time: worth a word only when an extension moved the due time
        return Late(0.0, f"submitted {iso(submitted)} ({source}), on time for the due time {iso(due)}"
                    f"{extended_by}" if ext is not None else "")
    if late <= timedelta(minutes=policy.grace_minutes):
        return Late(0.0, f"submitted {iso(submitted)} ({source}), within the {policy.grace_minutes:g}-minute grace "
                    f"period after {iso(due)}{extended_by}")
    days = math.ceil(late / DAY)
    pct = min(policy.max_percent, days * policy.percent_per_day)
    cap = " (the cap)" if pct < days * policy.percent_per_day else ""
    return Late(pct, f"submitted {iso(submitted)} ({source}), {days} day(s) after {iso(due)}{extended_by}: "
                f"-{pct:g}%{cap}", days)
