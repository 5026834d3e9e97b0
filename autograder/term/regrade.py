"""A regrade request: grade one student again (`make regrade STUDENT=...`) and keep a record.

The student's submission is graded afresh (FORCE), the class gradebook is rebuilt, the
final gradebook recomputed, and one line is appended to <OUT>/_term/history.jsonl: when,
who asked, why, and per task the raw and final scores and status before and after. The
history is append-only: nothing ever rewrites or removes a line.
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from autograder.engine.submissions import discover_all
from autograder.term import final
from autograder.term.errors import TermError
from autograder.term.times import iso

HISTORY = "history.jsonl"


def _snapshot(term: final.Term, sid: str) -> dict:
    for e in term.entries:
        if e.submission == sid:
            meta = (e.results or {}).get("extra_data", {})
            return {"content_hash": meta.get("content_hash"), "final_total": round(e.total("final"), 4),
                    "tasks": {x.task: {"status": x.status, "raw": round(x.raw, 4), "final": round(x.final, 4)}
                              for x in e.lines}}
    return {}


def changes(before: dict, after: dict) -> list[dict]:
    out = []
    for task, now in after.get("tasks", {}).items():
        was = before.get("tasks", {}).get(task)
        if was != now:
            out.append({"task": task, "before": was, "after": now})
    return out


def append_history(path: Path, record: dict) -> None:
    """One JSON line, appended with a single write (O_APPEND) and flushed to disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, sort_keys=True, ensure_ascii=True) + "\n").encode("ascii")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def regrade(course, assignment, subs: Path, out_dir: Path, student: str, who: str, reason: str,
            grade_kw: dict) -> dict:
    from autograder.engine.grade import grade_all

    if not who or not reason:
        raise TermError("say who asks (WHO=...) and why (REASON=...); both go into the history")
    task_files = tuple(sorted({f for t in assignment.tasks for f in t.files}))
    ids = [s.student for s in discover_all(Path(subs), assignment.folder, assignment.id, task_files).submissions]
    term0 = final.compute(course, assignment, out_dir)          # validates the term's files first
    sid = next((e.submission for e in term0.entries if student in (e.student, e.submission) and e.submission), None)
    if sid is None or sid not in ids:
        raise TermError(f"STUDENT={student!r}: no submission of that student in {subs} "
                        f"(ids: {', '.join(ids[:8])}{' ...' if len(ids) > 8 else ''})")
    before = _snapshot(term0, sid)
    grade_all(assignment.folder, Path(subs), Path(out_dir), force=True, only={sid}, **grade_kw)
    term1 = final.compute(course, assignment, out_dir)
    final.write(term1)
    after = _snapshot(term1, sid)
    record = {"at": iso(datetime.now(timezone.utc)), "assignment": assignment.folder, "student": sid,
              "who": who, "reason": reason, "before": before, "after": after, "changes": changes(before, after)}
    append_history(Path(out_dir) / final.TERM_DIR / HISTORY, record)
    return record
