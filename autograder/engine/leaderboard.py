"""The capstone leaderboard: test accuracy and parameter count per checkpoint.

Trust boundary: the numbers are measured on the trusted side (the capstone graders evaluate
each checkpoint in the grading process; no student code runs), and `record` is how they hand
them over. They still cross process boundaries (grading process -> gradebook, results.json on
disk), so every value is checked again here: a checkpoint named in course.toml, an accuracy
that is a finite number in 0..100, a parameter count that is a whole number in 1..10^10.

Each student's results.json carries Gradescope's `leaderboard` entries
(https://gradescope-autograders.readthedocs.io/en/latest/leaderboards/: `name`, `value`,
`order`, default "desc"; parameters rank ascending). `make grade` writes the class's table as
`leaderboard.csv` and `leaderboard.html` (sorted, self-contained, every cell escaped). Names
are shown or replaced by their rank as course.toml `[capstone] leaderboard_names` says
("hidden", the default, or "shown"); Gradescope's own board always uses pseudonyms.
"""
from __future__ import annotations

import csv
import html
import io
import math
from pathlib import Path

from autograder.engine.safe_text import csv_cell, one_line
from vitlab.course import Course, CourseError
from vitlab.io import atomic_write

ACC = "{} test accuracy (%)"
PARAMS = "{} parameters"
MAX_PARAMS = 10 ** 10
NAMES = ("hidden", "shown")


def record(session, name: str, test_acc: float, params: int) -> None:
    """Called by a grader on the trusted side once it has evaluated checkpoint `name`."""
    board = session.__dict__.setdefault("leaderboard", {})
    board[str(name)] = {"test_acc": float(test_acc), "params": int(params)}


def checkpoints(course: Course, assignment) -> list[str]:
    """The assignment's checkpoint names, in course.toml order (none outside the capstone)."""
    tasks = {t.id for t in assignment.tasks}
    specs = course.settings.get("capstone", {}).get("checkpoints", {})
    return [name for name, spec in specs.items() if str(spec.get("task")) in tasks]


def names_mode(course: Course) -> str:
    mode = course.settings.get("capstone", {}).get("leaderboard_names", "hidden")
    if mode not in NAMES:
        raise CourseError(f"{course.root / 'course.toml'}: [capstone] leaderboard_names = {mode!r} "
                          f"must be one of {', '.join(map(repr, NAMES))}")
    return mode


def _acc(v) -> float | None:
    ok = type(v) in (int, float) and math.isfinite(v) and 0.0 <= v <= 100.0
    return float(v) if ok else None


def _params(v) -> int | None:
    return v if type(v) is int and 0 < v <= MAX_PARAMS else None


def entries(raw, names: list[str]) -> list[dict]:
    """Gradescope `leaderboard` entries from what the graders recorded (bad values dropped)."""
    out = []
    for name in names:
        v = raw.get(name) if isinstance(raw, dict) else None
        if not isinstance(v, dict):
            continue
        acc, params = _acc(v.get("test_acc")), _params(v.get("params"))
        if acc is not None:
            out.append({"name": ACC.format(name), "value": round(acc, 2)})
        if params is not None:
            out.append({"name": PARAMS.format(name), "value": params, "order": "asc"})
    return out


def _row(res: dict, names: list[str]) -> dict:
    meta = res.get("extra_data", {})
    got = {e.get("name"): e.get("value") for e in res.get("leaderboard", []) if isinstance(e, dict)}
    row = {"student": str(meta.get("student", "?")), "score": float(res.get("score", 0.0))}
    for name in names:
        row[ACC.format(name)] = _acc(got.get(ACC.format(name)))
        row[PARAMS.format(name)] = _params(got.get(PARAMS.format(name)))
    return row


def table(results: list[dict], names: list[str], mode: str) -> tuple[list[str], list[dict]]:
    """(columns, rows) sorted: score, then mean accuracy (a missing checkpoint counts 0), then
    fewer parameters, then name. Hidden names become the rank."""
    rows = [_row(r, names) for r in results]
    accs = [ACC.format(n) for n in names]
    params = [PARAMS.format(n) for n in names]

    def key(r):
        return (-r["score"], -sum(r[c] or 0.0 for c in accs) / max(len(accs), 1),
                sum(r[c] or MAX_PARAMS for c in params), r["student"])

    rows.sort(key=key)
    for i, r in enumerate(rows, 1):
        r["rank"] = i
        if mode == "hidden":
            r["student"] = f"student {i}"
    columns = ["rank", "student", "score", *[c for n in names for c in (ACC.format(n), PARAMS.format(n))]]
    return columns, rows


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.2f}".rstrip("0").rstrip(".") or "0"
    return str(v)


def to_csv(columns: list[str], rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([csv_cell(one_line(_text(r[c]), limit=80)) for c in columns])
    return buf.getvalue()


def to_html(title: str, columns: list[str], rows: list[dict]) -> str:
    """One self-contained page (no script, no external resource); every cell escaped."""
    esc = html.escape
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "\n".join("<tr>" + "".join(f"<td>{esc(one_line(_text(r[c]), limit=80))}</td>" for c in columns)
                     + "</tr>" for r in rows)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            f"<title>{esc(title)}</title><style>body{{font-family:sans-serif;margin:2em}}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
            "td:nth-child(2),th{text-align:left}</style></head><body>\n"
            f"<h1>{esc(title)}</h1>\n<p>Sorted by score, then mean test accuracy, then fewer parameters."
            f"</p>\n<table>\n<tr>{head}</tr>\n{body}\n</table>\n</body></html>\n")


def write(out_dir: Path, results: list[dict], course: Course, assignment) -> list[Path]:
    """leaderboard.csv and leaderboard.html in `out_dir`, written atomically; nothing for an
    assignment without checkpoints."""
    names = checkpoints(course, assignment)
    if not names:
        return []
    columns, rows = table(results, names, names_mode(course))
    csv_path, html_path = Path(out_dir) / "leaderboard.csv", Path(out_dir) / "leaderboard.html"
    atomic_write(csv_path, to_csv(columns, rows))
    atomic_write(html_path, to_html(f"{course.name}: {assignment.folder} leaderboard", columns, rows))
    return [csv_path, html_path]
