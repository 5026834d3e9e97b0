"""The final gradebook: grading's raw scores, then the late penalty, then overrides.

Reads <OUT>/students.csv and each student's results.json and submitted.json (written by
`make grade`), and the course's roster, extensions, overrides and times files. Every input
is validated before anything is written; then <OUT>/_term/gradebook.csv (one row per
student and task), totals.csv (one row per student) and feedback/<student>.md (grading's
feedback with the final scores, plus the penalty and overrides with their reasons) are each
written atomically.
"""
from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from autograder.engine import report
from autograder.engine.safe_text import csv_cell, md_code_span, md_text, one_line
from autograder.term import config as term_config
from autograder.term import deadlines, overrides, roster, times
from autograder.term.errors import TermError
from vitlab.io import atomic_write

TERM_DIR = "_term"
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
TASK_COLUMNS = ("student", "submission", "section", "assignment", "task", "max_score", "status", "raw_score",
                "late_percent", "late_penalty", "adjustment", "final_score", "reason")
TOTAL_COLUMNS = ("student", "submission", "name", "email", "lms_id", "sis_id", "login", "section", "assignment",
                 "status", "submitted_at", "time_source", "late_days", "late_percent", "raw_score", "late_penalty",
                 "adjustment", "final_score", "max_score", "reason")


@dataclass
class Line:
    task: str
    title: str
    max_score: float
    status: str
    raw: float
    late: float = 0.0          # points taken by the late penalty
    final: float = 0.0
    override: overrides.Override | None = None
    reason: list[str] = field(default_factory=list)


@dataclass
class Entry:
    student: str                    # the roster id, or the submission id off the roster
    submission: str                 # the id `make grade` gave the submission ("" when missing)
    who: roster.Student
    status: str                     # graded | missing | not graded | not on roster
    lines: list[Line]
    submitted_at: str = ""
    time_source: str = ""
    late: deadlines.Late = field(default_factory=deadlines.Late)
    results: dict | None = None

    def total(self, attr: str) -> float:
        return math.fsum(getattr(x, attr) for x in self.lines)


@dataclass
class Term:
    assignment: object
    entries: list[Entry]
    unknown: list[tuple[str, str]]
    out_dir: Path
    has_roster: bool
    policy: term_config.Policy


def graded_ids(out_dir: Path) -> list[str]:
    path = Path(out_dir) / "students.csv"
    if not path.is_file():
        raise TermError(f"{path}: not found; run `make grade` for this assignment first (OUT={out_dir})")
    with open(path, encoding="utf-8", newline="") as f:
        return [r["student"] for r in csv.DictReader(f) if r.get("student")]


def compute(course, assignment, out_dir: Path) -> Term:
    """Everything validated and computed in memory; nothing written."""
    cfg = term_config.load(course)
    policy = cfg.policy(assignment.folder, assignment.id)
    ids = graded_ids(out_dir)
    people = roster.load(cfg.files["roster"]) if cfg.files["roster"] else None
    matched, unknown = roster.match(people, ids) if people is not None else ({}, [])
    allowed = None if people is None else {s.student for s in people} | set(ids)
    folders = {a.folder: a.folder for a in course.assignments} | {a.id: a.folder for a in course.assignments}
    ext = deadlines.load_extensions(cfg.files["extensions"], folders, allowed) if cfg.files["extensions"] else {}
    points = {t.id: t.points for _, t in course.all_tasks()}
    ovr = overrides.load(cfg.files["overrides"], points, allowed) if cfg.files["overrides"] else {}
    lms_times = times.load_times_csv(cfg.files["submission_times"]) if cfg.files["submission_times"] else {}

    entries = []
    by_roster = {s.student: sid for sid, s in matched.items()}
    for person in people or []:
        sid = by_roster.get(person.student, "")
        entries.append(_entry(assignment, out_dir, person.student, sid, person, "missing" if not sid else "graded"))
    off = {sid for sid, _ in unknown} if people is not None else set(ids)
    for sid in ids:
        if sid in off:
            entries.append(_entry(assignment, out_dir, sid, sid, roster.Student(sid),
                                  "graded" if people is None else "not on roster"))
    for e in entries:
        _late(e, policy, ext, lms_times, out_dir, assignment.folder)
        _overrides(e, ovr)
    return Term(assignment, entries, unknown, Path(out_dir), people is not None, policy)


def _entry(a, out_dir: Path, student: str, sid: str, who: roster.Student, status: str) -> Entry:
    res = report.read_results(out_dir, sid) if sid else None
    other = (res or {}).get("extra_data", {}).get("assignment", a.folder)
    if other != a.folder:
        raise TermError(f"{Path(out_dir) / sid / 'results.json'}: results of {other!r}, not {a.folder!r}; "
                        "is OUT the right folder for ASSIGNMENT?")
    if sid and res is None:
        status = "not graded"
    by = {t["task"]: t for t in (res or {}).get("extra_data", {}).get("tasks", [])}
    lines = []
    for t in a.tasks:
        got = by.get(t.id)
        if got is None:
            why = "no submission" if status == "missing" else "not graded yet: run make grade again"
            lines.append(Line(t.id, t.title, t.points, "missing", 0.0, reason=[why]))
        else:
            raw = float(got["score"])
            lines.append(Line(t.id, t.title, t.points, str(got["status"]), raw, final=raw))
    return Entry(student, sid, who, status, lines, results=res)


def _late(e: Entry, policy, ext: dict, lms_times: dict, out_dir: Path, folder: str) -> None:
    x = ext.get((e.student, folder)) or ext.get((e.submission, folder))
    if not e.submission:
        if x is not None:
            e.late = deadlines.Late(0.0, deadlines.granted(policy, x))
        return
    t, source, problem = None, "", None
    for key in (e.student, e.submission):
        if key in lms_times:
            t, source = lms_times[key], "submission_times.csv"
            break
    if t is None:
        t, source, problem = _recorded_time(out_dir, e.submission)
    e.submitted_at, e.time_source = times.iso(t), source
    e.late = deadlines.lateness(policy, x, t, source)
    if problem:   # a time file that could not be used: say which, so the instructor can look
        e.late = deadlines.Late(e.late.percent, f"{e.late.reason} ({one_line(str(problem), limit=160)})", e.late.days)
    for line in e.lines:
        line.late = line.raw * e.late.percent / 100.0
        line.final = line.raw - line.late
        if e.late.reason and (e.late.percent or line is e.lines[0]):
            line.reason.append(e.late.reason)


SLACK = timedelta(minutes=10)


def _recorded_time(out_dir: Path, sid: str):
    """(time, source, problem) as grading read them from the submission. A time after
    grading collected the submission is impossible (the clock that wrote it was wrong): unused."""
    rec = times.recorded(out_dir, sid)
    if not rec.get("submitted_at"):
        return None, "", rec.get("problem")
    t = times.parse_time(rec["submitted_at"], "submitted.json")
    seen = rec.get("collected_by")
    if seen and t > times.parse_time(seen, "submitted.json") + SLACK:
        return None, "", f"{rec.get('source')} claims {times.iso(t)}, after grading collected it at {seen}"
    return t, str(rec.get("source")), None


def _overrides(e: Entry, ovr: dict) -> None:
    for line in e.lines:
        o = ovr.get((e.student, line.task)) or ovr.get((e.submission, line.task))
        if o is not None:
            line.override = o
            line.final = o.apply(line.final, line.max_score)
            line.reason.append("override: " + o.describe())


def number(x: float) -> str:
    return report.score_text(x, report.GRADEBOOK_PLACES)


def task_rows(term: Term) -> list[dict]:
    rows = []
    for e in term.entries:
        for x in e.lines:
            rows.append({"student": e.student, "submission": e.submission, "section": e.who.section,
                         "assignment": term.assignment.folder, "task": x.task, "max_score": number(x.max_score),
                         "status": x.status, "raw_score": number(x.raw), "late_percent": number(e.late.percent),
                         "late_penalty": number(x.late), "adjustment": number(x.final - (x.raw - x.late)),
                         "final_score": number(x.final), "reason": one_line("; ".join(x.reason), limit=400)})
    return rows


def reason(e: Entry) -> str:
    """Why a student's final total is what it is, in one line."""
    reasons = [e.late.reason] if e.late.reason else []
    reasons += [f"{x.task} override: {x.override.describe()}" for x in e.lines if x.override]
    if e.status in ("missing", "not graded", "not on roster"):
        reasons.insert(0, {"missing": "no submission", "not graded": "not graded yet",
                           "not on roster": "submission matches no roster row"}[e.status])
    return one_line("; ".join(reasons), limit=600)


def total_rows(term: Term) -> list[dict]:
    rows = []
    for e in term.entries:
        w = e.who
        raw, late, final = e.total("raw"), e.total("late"), e.total("final")
        rows.append({"student": e.student, "submission": e.submission, "name": w.name, "email": w.email,
                     "lms_id": w.lms_id, "sis_id": w.sis_id, "login": w.login, "section": w.section,
                     "assignment": term.assignment.folder, "status": e.status, "submitted_at": e.submitted_at,
                     "time_source": e.time_source, "late_days": str(e.late.days), "late_percent": number(e.late.percent),
                     "raw_score": number(raw), "late_penalty": number(late), "adjustment": number(final - (raw - late)),
                     "final_score": number(final), "max_score": number(e.total("max_score")),
                     "reason": reason(e)})
    return rows


def _cell(value) -> str:
    """Numbers as they are (a negative adjustment stays a number); text never a formula."""
    text = str(value)
    return text if _NUMBER.match(text) else csv_cell(text)


def write_csv(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    import io
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    w.writerows({k: _cell(v) for k, v in r.items()} for r in rows)
    atomic_write(path, buf.getvalue())


def feedback(term: Term, e: Entry) -> str:
    """Grading's feedback rebuilt with each task's final score, then what the term changed,
    each change with its reason: one score (the final one) wherever the page shows one,
    to the places totals.csv has."""
    if e.submission and e.results is not None:
        meta = e.results.get("extra_data", {})
        sandboxed = meta.get("sandbox") == "bubblewrap"
        base = report.feedback_md(e.submission, term.assignment.folder, _final_tasks(e), sandboxed,
                                  meta.get("left_out") or [], places=report.GRADEBOOK_PLACES)
    else:
        base = f"# Feedback: {md_text(term.assignment.folder)} ({md_code_span(e.student)})\n\n"
        base += "No submission was received.\n" if e.status == "missing" else f"Status: {md_text(e.status)}.\n"
    out = [base.rstrip("\n"), "", "## Final score", ""]
    out.append(f"**Final score: {number(e.total('final'))} / {number(e.total('max_score'))}**")
    if e.submitted_at:
        out += ["", f"Submitted {md_text(e.submitted_at)} (from {md_text(e.time_source)})."]
    if e.late.reason:
        out += ["", f"Late policy: {md_text(e.late.reason)}."]
    for x in e.lines:
        if x.override is not None:
            out += ["", f"Task {md_text(x.task)}: {md_text(x.override.describe())} "
                    f"(final {number(x.final)} / {number(x.max_score)})."]
    return "\n".join(out) + "\n"


def _final_tasks(e: Entry) -> list[dict]:
    """Grading's task records with the final score in place of the raw one."""
    by = {t.get("task"): t for t in e.results.get("extra_data", {}).get("tasks", [])}
    blank = {"message": "", "hint": None, "passed": 0, "total": 0, "output": "", "output_bytes": 0}
    return [{**blank, **by.get(x.task, {}), "task": x.task, "title": x.title, "status": x.status,
             "max_score": x.max_score, "score": x.final} for x in e.lines]


def write(term: Term) -> Path:
    d = term.out_dir / TERM_DIR
    write_csv(d / "gradebook.csv", TASK_COLUMNS, task_rows(term))
    write_csv(d / "totals.csv", TOTAL_COLUMNS, total_rows(term))
    for e in term.entries:
        atomic_write(d / "feedback" / f"{e.student}.md", feedback(term, e))
    return d
