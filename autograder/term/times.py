"""When a student submitted: from the files the submission systems write, never from mtimes.

Sources, strongest first:
  1. submission_times.csv in the course folder (student, submitted_at): the LMS's record,
     kept by the instructor; it wins over anything inside a submission.
  2. Gradescope's submission_metadata.json (`created_at`), at the top of the submission.
  3. nbgrader's timestamp.txt (`2026-10-09 21:14:03.123456 UTC`), which `nbgrader submit`
     and `collect` leave in submitted/<student>/<assignment>/.
  4. submitted_at.txt, written by the kit's `make submit`: one ISO-8601 UTC time such as
     `2026-10-09T21:14:03Z`, at the top of the submission.
Trust boundary: 2-4 sit inside the submission, so they are the student's claim (as they
are in nbgrader); they are read with a size bound and parsed strictly, and the source is
shown in the gradebook. A course that cannot trust them lists times in submission_times.csv.

`record` runs on the trusted side during `make grade`, on the staged copy of a submission,
and writes <OUT>/<student>/submitted.json; the term reads that file.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

from autograder.term.errors import TermError
from vitlab.io import atomic_write_json

SUBMIT_FILE = "submitted_at.txt"          # the name `make submit` writes
NBGRADER_FILE = "timestamp.txt"
GRADESCOPE_FILE = "submission_metadata.json"
SOURCES = ((GRADESCOPE_FILE, "gradescope"), (NBGRADER_FILE, "nbgrader"), (SUBMIT_FILE, "make submit"))
RECORD = "submitted.json"
MAX_TEXT = 4096
MAX_JSON = 1 << 20
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
_NB = re.compile(r"^(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d{1,6})?)\s*(UTC|GMT|Z|[+-]\d\d:?\d\d)?$")


def parse_time(text: str, where: str) -> datetime:
    """An ISO-8601 time with a zone (Z or +hh:mm), or nbgrader's `... UTC`, as UTC."""
    s = text.strip()
    m = _NB.match(s)
    if m and m.group(2) in ("UTC", "GMT", "Z"):
        s = m.group(1) + "+00:00"
    elif m and m.group(2):
        s = m.group(1) + m.group(2)
    try:
        t = datetime.fromisoformat(s.replace(" ", "T", 1))
    except ValueError:
        raise TermError(f"{where}: {s[:60]!r} is not a time; use ISO 8601 with a zone, "
                        "e.g. 2026-10-09T23:59:00Z or 2026-10-09T23:59:00+02:00") from None
    if t.tzinfo is None:
        raise TermError(f"{where}: {s[:60]!r} has no time zone; add Z (UTC) or an offset such as +02:00")
    t = t.astimezone(timezone.utc)
    if t < EARLIEST:
        raise TermError(f"{where}: {s[:60]!r} is before the year 2000")
    return t


def iso(t: datetime | None) -> str:
    return "" if t is None else t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _find(staged: Path, name: str) -> Path | None:
    """`name` at the top of the staged submission, or one folder down (a zip of a folder)."""
    top = staged / name
    if top.is_file() and not top.is_symlink():
        return top
    for sub in sorted(p for p in staged.iterdir() if p.is_dir() and not p.is_symlink()):
        inner = sub / name
        if inner.is_file() and not inner.is_symlink():
            return inner
    return None


def _read(path: Path, limit: int) -> str:
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise TermError(f"{path.name}: larger than {limit} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TermError(f"{path.name}: not UTF-8 text") from None


def from_submission(staged: Path) -> dict:
    """{"submitted_at": ISO or None, "source": ..., "problem": ...} from the staged files."""
    problems = []
    for name, source in SOURCES:
        path = _find(staged, name)
        if path is None:
            continue
        try:
            text = _read(path, MAX_JSON if name == GRADESCOPE_FILE else MAX_TEXT)
            if name == GRADESCOPE_FILE:
                meta = json.loads(text)
                text = meta.get("created_at") if isinstance(meta, dict) else None
                if not isinstance(text, str):
                    raise TermError(f"{name}: no created_at string")
            t = parse_time(text, name)
            return {"submitted_at": iso(t), "source": source, "problem": "; ".join(problems) or None}
        except (TermError, ValueError, RecursionError) as e:
            problems.append(str(e)[:200])
    return {"submitted_at": None, "source": None, "problem": "; ".join(problems) or None}


def record(out_dir: Path, student: str, staged: Path) -> None:
    """Called by grade.py after staging; never stops grading (a bad file is a recorded problem)."""
    try:
        info = from_submission(staged)
    except OSError as e:
        info = {"submitted_at": None, "source": None, "problem": f"could not be read ({e.strerror or e})"}
    # when grading saw it: a claimed submission time after this is impossible (a wrong clock)
    info["collected_by"] = iso(datetime.now(timezone.utc))
    atomic_write_json(Path(out_dir) / student / RECORD, info)


def recorded(out_dir: Path, student: str) -> dict:
    try:
        info = json.loads((Path(out_dir) / student / RECORD).read_text(encoding="utf-8"))
        return info if isinstance(info, dict) else {}
    except (OSError, ValueError):
        return {}


def load_times_csv(path: Path) -> dict[str, datetime]:
    """submission_times.csv: student, submitted_at (the LMS's record)."""
    from autograder.term.csvfile import read_rows

    out: dict[str, datetime] = {}
    for row in read_rows(path, ("student", "submitted_at")):
        if not row["student"]:
            raise row.fail("student", "empty")
        try:
            t = parse_time(row["submitted_at"], f"{path}:{row.line}: column 'submitted_at'")
        except TermError as e:
            raise TermError(str(e)) from None
        if row["student"] in out:
            raise row.fail("student", "listed twice")
        out[row["student"]] = t
    return out
