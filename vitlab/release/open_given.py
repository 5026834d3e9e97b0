"""Release order: no student-facing folder ships the solutions of an assignment still open.

An assignment may ship another assignment's reference solution as given code (a symlink
into solutions/<other>/ with solved fences: a2 holds a1's layers, a4 holds a3's modules).
Writing such a folder (`make release`, `make gradescope`) publishes that solution, so it is
refused while the other assignment is open by course.toml `[gradebook.deadlines.<a>]`: until
its `no_credit_after`, or its `due` time when there is none. An assignment with no deadline
there is never open: the kit cannot know when it closes; nor is one the course does not hold
(a baked a2-only course ships a1's code with no a1 to grade). `--allow-open-given` (make
`ALLOW_OPEN_GIVEN=1`) writes it anyway, for a folder that stays with the staff until then.

`VITLAB_TODAY` (an ISO date, or a time with a zone) stands in for the current time, so the
rule can be tried against any day of the term.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone

from vitlab.course import Assignment, Course, CourseError

ENV_TODAY = "VITLAB_TODAY"
FLAG = "--allow-open-given"


class OpenGivenError(CourseError):
    """A folder would publish the solutions of an assignment that is still open."""


def now() -> datetime:
    """The current time in UTC, or VITLAB_TODAY's (a date means its midnight UTC)."""
    raw = os.environ.get(ENV_TODAY, "").strip()
    if not raw:
        return datetime.now(timezone.utc)
    try:
        t = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        t = None
    if t is None or (t.tzinfo is None and len(raw) > 10):
        raise CourseError(f"{ENV_TODAY}={raw!r} is not a date (2026-10-01) or a time with a zone "
                          "(2026-10-01T09:00:00Z)")
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)


def closes(course: Course, a: Assignment) -> tuple[datetime, str] | None:
    """(when `a` stops taking work for credit, which key says so), or None without a deadline."""
    from autograder.term.config import load      # the term's own reading of [gradebook]
    from autograder.term.errors import TermError

    try:
        policy = load(course).policy(a.folder, a.id)
    except TermError as e:
        raise CourseError(str(e)) from None
    if policy.no_credit_after is not None:
        return policy.no_credit_after, "no_credit_after"
    return (policy.due, "due") if policy.due is not None else None


def still_open(course: Course, a: Assignment, today: datetime) -> list[str]:
    """One phrase per assignment whose solutions `a` ships as given code while it is open."""
    from vitlab.release import sources
    from vitlab.release.build import earlier_references

    out = []
    ours = {x.folder for x in course.assignments}
    for folder, names in earlier_references(course, a, sources.walk(a)).items():
        if folder not in ours:      # a baked course without it: it has no deadline to keep
            continue
        other = course.assignment(folder)
        end = closes(course, other)
        if end is not None and today < end[0]:
            out.append(f"{a.folder} ships {folder}'s reference solutions as given code ({', '.join(names)}), "
                       f"and {folder} is open until {_iso(end[0])} ([gradebook.deadlines] {end[1]})")
    return out


def refuse_open(course: Course, assignments, allowed: bool, make_hint: str) -> None:
    """Raise OpenGivenError (one line, nothing written yet) unless `allowed` or nothing is open."""
    if allowed:
        return
    today = now()
    found = [p for a in assignments for p in still_open(course, a, today)]
    if found:
        raise OpenGivenError(f"{'; '.join(found)}; today is {_iso(today)}: nothing was written. Run it "
                             f"after that date, or pass {FLAG} ({make_hint} ALLOW_OPEN_GIVEN=1) if the "
                             "folder stays with the staff until then")


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
