"""The term's settings: course.toml's [gradebook] table.

    [gradebook]
    roster = "roster.csv"                    # optional files, relative to the course folder
    extensions = "extensions.csv"
    overrides = "overrides.csv"
    submission_times = "submission_times.csv"
    similarity_threshold = 0.5               # pairs at or above this are flagged

    [gradebook.late]                         # the late policy of every assignment ...
    grace_minutes = 15
    percent_per_day = 10                     # per day or part of a day after the deadline
    max_percent = 50                         # the penalty never exceeds this

    [gradebook.deadlines.a1_numpy_layers]    # ... unless the assignment sets its own keys
    due = 2026-10-09T23:59:00Z
    no_credit_after = 2026-10-16T23:59:00Z   # later submissions get no credit
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from autograder.term.errors import TermError
from autograder.term.times import parse_time

POLICY_KEYS = ("grace_minutes", "percent_per_day", "max_percent", "no_credit_after")
DEADLINE_KEYS = ("due", "canvas_column", "moodle_column", *POLICY_KEYS)
FILE_KEYS = ("roster", "extensions", "overrides", "submission_times")
TERM_KEYS = (*FILE_KEYS, "similarity_threshold", "late", "deadlines")


@dataclass(frozen=True)
class Policy:
    due: datetime | None = None
    grace_minutes: float = 0.0
    percent_per_day: float = 0.0
    max_percent: float = 100.0
    no_credit_after: datetime | None = None
    canvas_column: str = ""
    moodle_column: str = ""


@dataclass
class TermConfig:
    root: Path
    files: dict[str, Path | None] = field(default_factory=dict)
    similarity_threshold: float = 0.5
    late: dict = field(default_factory=dict)
    deadlines: dict = field(default_factory=dict)
    where: str = "course.toml [gradebook]"

    def policy(self, folder: str, aid: str) -> Policy:
        """The assignment's deadline and late policy ([gradebook.late] with its own keys on top)."""
        raw = dict(self.late)
        found = [k for k in dict.fromkeys((folder, aid)) if k in self.deadlines]
        if len(found) > 1:
            raise TermError(f"{self.where}: deadlines for both {folder!r} and {aid!r}; keep one")
        raw.update(self.deadlines.get(found[0], {}) if found else {})
        where = f"{self.where}.deadlines.{found[0] if found else folder}"
        return _policy(raw, where)


def load(course) -> TermConfig:
    raw = course.settings.get("gradebook", {})
    root = Path(course.root)
    where = f"{root / 'course.toml'} [gradebook]"
    if not isinstance(raw, dict):
        raise TermError(f"{where}: must be a table")
    unknown = sorted(set(raw) - set(TERM_KEYS))
    if unknown:
        raise TermError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(TERM_KEYS)})")
    files = {}
    for key in FILE_KEYS:
        name = raw.get(key, f"{key}.csv")
        if not isinstance(name, str) or not name:
            raise TermError(f"{where}: {key} = {name!r} must be a file name")
        path = root / name
        files[key] = path if path.is_file() else None
    thr = raw.get("similarity_threshold", 0.5)
    if not _number(thr) or not 0 < thr <= 1:
        raise TermError(f"{where}: similarity_threshold = {thr!r} must be a number in (0, 1]")
    late, deadlines = raw.get("late", {}), raw.get("deadlines", {})
    if not isinstance(late, dict) or not isinstance(deadlines, dict) \
            or not all(isinstance(v, dict) for v in deadlines.values()):
        raise TermError(f"{where}: late must be a table and deadlines a table of tables")
    cfg = TermConfig(root, files, float(thr), late, deadlines, where)
    bad = sorted(set(late) - set(POLICY_KEYS))
    if bad:
        raise TermError(f"{where}.late: unknown key {bad[0]!r} (known: {', '.join(POLICY_KEYS)})")
    _policy(late, f"{where}.late")   # validate now, even before any deadline uses it
    known = {a.folder for a in course.assignments} | {a.id for a in course.assignments}
    for name, table in deadlines.items():
        if name not in known:
            raise TermError(f"{where}.deadlines: {name!r} is no assignment of the course")
        bad = sorted(set(table) - set(DEADLINE_KEYS))
        if bad:
            raise TermError(f"{where}.deadlines.{name}: unknown key {bad[0]!r} (known: {', '.join(DEADLINE_KEYS)})")
        cfg.policy(name, name)   # validate now
    return cfg


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _time(value, where: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TermError(f"{where}: {value.isoformat()} has no time zone; add Z (UTC) or an offset such as +02:00")
        return parse_time(value.isoformat(), where)
    if isinstance(value, str):
        return parse_time(value, where)
    raise TermError(f"{where}: {value!r} is not a time")


def _policy(raw: dict, where: str) -> Policy:
    nums = {}
    for key, lo, hi in (("grace_minutes", 0, 7 * 24 * 60), ("percent_per_day", 0, 100), ("max_percent", 0, 100)):
        value = raw.get(key, Policy.__dataclass_fields__[key].default)
        if not _number(value) or not lo <= value <= hi:
            raise TermError(f"{where}: {key} = {value!r} must be a number from {lo} to {hi}")
        nums[key] = float(value)
    due = _time(raw.get("due"), f"{where}: due")
    last = _time(raw.get("no_credit_after"), f"{where}: no_credit_after")
    if due is None and last is not None:
        raise TermError(f"{where}: no_credit_after is set but no due time; set due too")
    if due is not None and last is not None and last < due:
        raise TermError(f"{where}: no_credit_after {last.isoformat()} is before the due time {due.isoformat()}")
    cols = {k: raw.get(k, "") for k in ("canvas_column", "moodle_column")}
    for k, v in cols.items():
        if not isinstance(v, str):
            raise TermError(f"{where}: {k} = {v!r} must be text")
    return Policy(due, no_credit_after=last, **nums, **cols)
