"""What grading writes: results.json (Gradescope's schema), feedback.md, gradebook.csv.

Everything here is deterministic (no timestamps, no durations) so grading the same
submission twice gives byte-identical files, and every file is written atomically.
Messages, printed output, type names and student ids are student-controlled: each passes
through `safe_text` on its way into a file or the terminal (never a formula, an escape
sequence or markup). Scores are rounded for display only; results.json keeps them exact.
"""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from autograder.engine.safe_text import clean, csv_cell, md_code_block, md_code_span, md_text, one_line, rich_text
from vitlab.io import atomic_write

STATUS_TEXT = {
    "passed": "passed", "partial": "partly passed", "failed": "failed",
    "not_implemented": "not implemented", "error": "error", "timeout": "timed out",
    "memory": "ran out of memory", "tampered": "tampering detected", "missing": "missing",
    "banned": "used a banned library call", "review": "held for the instructor's review",
}
UNSANDBOXED = "UNSANDBOXED (bubblewrap unavailable: {}); "
GRADEBOOK_COLUMNS = ("student", "assignment", "task", "score", "max_score", "status", "message")
STUDENTS_COLUMNS = ("student", "submission", "note")
DISPLAY_PLACES = 2      # terminal, feedback.md, Gradescope's output text
GRADEBOOK_PLACES = 4    # a spreadsheet sums these: enough places that totals stay right


def score_text(x: float, places: int = DISPLAY_PLACES) -> str:
    """3.333333 -> "3.33", 10.0 -> "10": rounded, no trailing zeros, never an exponent."""
    text = f"{round(float(x), places):.{places}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _status(t: dict) -> str:
    return STATUS_TEXT.get(t["status"], one_line(t["status"]))


def _count(t: dict, hidden: str = "") -> str:
    """ "3 of 11 hidden checks failed" (or "11 of 11 ... passed" when none did)."""
    failed = t.get("failed", t["total"] - t["passed"])
    if t["status"] == "passed" or not failed:
        return f"{t['passed']} of {t['total']} {hidden}checks passed"
    return f"{failed} of {t['total']} {hidden}checks failed"


def task_output(t: dict) -> str:
    """Gradescope's per-test output (shown as plain text: output_format "text")."""
    lines = [f"{_status(t)}: {_count(t)}"]
    if t["status"] != "passed" and t.get("check"):
        lines.append(f"First failing check: {clean(t['check'])}")
    if t["message"]:
        lines.append(clean(t["message"]))
    if t.get("hint"):
        lines.append(f"Hint: {clean(t['hint'])}")
    if t.get("output"):
        lines.append(f"Your code printed ({t['output_bytes']} bytes):\n{clean(t['output'])}")
    return "\n".join(lines)


def _clean_task(t: dict) -> dict:
    out = {k: v for k, v in t.items() if k != "tests"}
    for k in ("message", "hint", "output", "title", "status", "check"):
        if isinstance(out.get(k), str):
            out[k] = clean(out[k])
    return out


def results_json(student: str, assignment: str, tasks: list[dict], meta: dict) -> dict:
    """Gradescope results.json: score, tests (name, number, score, max_score, output,
    visibility, status); our metadata sits in extra_data."""
    tests = [{
        "name": f"Task {t['task']}: {t['title']}",
        "number": t["task"],
        "score": t["score"],
        "max_score": t["max_score"],
        "status": "passed" if t["status"] == "passed" else "failed",
        "output": task_output(t),
        "output_format": "text",
        "visibility": "visible",
        "extra_data": {"status": t["status"], "passed": t["passed"], "total": t["total"]},
    } for t in tasks]
    score = math.fsum(t["score"] for t in tasks)
    max_score = math.fsum(t["max_score"] for t in tasks)
    return {
        "score": score,
        "output": f"{assignment}: {score_text(score)} / {score_text(max_score)}",
        "output_format": "text",
        "test_output_format": "text",
        "tests": tests,
        # per-test names stay in grader.log; feedback names only the first failing check
        "extra_data": dict(meta, student=student, assignment=assignment, max_score=max_score,
                           tasks=[_clean_task(t) for t in tasks]),
    }


def feedback_md(student: str, assignment: str, tasks: list[dict], sandboxed: bool,
                left_out: list[str] = (), places: int = DISPLAY_PLACES) -> str:
    """Markdown in which every student-controlled string is either escaped inline text or
    the body of a code block its content cannot close. Scores are shown to `places`."""
    score = math.fsum(t["score"] for t in tasks)
    max_score = math.fsum(t["max_score"] for t in tasks)
    out = [f"# Feedback: {md_text(assignment)} ({md_code_span(student)})", "",
           f"**Score: {score_text(score, places)} / {score_text(max_score, places)}**", ""]
    if not sandboxed:
        out += ["> Graded without the bubblewrap sandbox (resource limits only).", ""]
    if left_out:
        out += ["Left out of your submission (not graded):", "", *md_code_block("\n".join(left_out)), ""]
    out += ["| Task | Status | Score |", "|---|---|---|"]
    for t in tasks:
        out.append(f"| {t['task']} {md_text(t['title'])} | {md_text(_status(t))} "
                   f"| {score_text(t['score'], places)} / {score_text(t['max_score'], places)} |")
    for t in tasks:
        out += ["", f"## Task {t['task']}: {md_text(t['title'])} ({md_text(_status(t))})", ""]
        out.append(f"{_count(t, 'hidden ')}; score {score_text(t['score'], places)} / "
                   f"{score_text(t['max_score'], places)}.")
        if t["status"] != "passed" and (t["message"] or t.get("check")):
            first = f" {md_text(t['check'])}" if t.get("check") else ""
            out += ["", f"First failing check:{first}"]
            if t["message"]:
                out += ["", *md_code_block(t["message"])]
        if t.get("hint"):
            out += ["", f"Hint: {md_code_span(t['hint'])}"]
        if t.get("output"):
            out += ["", f"Your code printed {t['output_bytes']} bytes (shown truncated):", "",
                    *md_code_block(t["output"])]
    return "\n".join(out) + "\n"


def write_student(out_dir: Path, student: str, results: dict, feedback: str, log: str,
                  files: dict[str, bytes]) -> None:
    d = out_dir / student
    for rel, data in sorted(files.items()):   # e.g. nbgrader's feedback/<notebook>.html
        atomic_write(d / rel, data)
    atomic_write(d / "feedback.md", feedback)
    atomic_write(d / "grader.log", clean(log))
    # results.json last: its presence (with matching hashes) means "this student is done"
    atomic_write(d / "results.json", json.dumps(results, indent=2, sort_keys=True) + "\n")


def read_results(out_dir: Path, student: str) -> dict | None:
    path = out_dir / student / "results.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def gradebook_rows(results: list[dict]) -> list[dict]:
    rows = []
    for res in results:
        meta = res.get("extra_data", {})
        warn = UNSANDBOXED.format(meta.get("sandbox_problem")) if meta.get("sandbox") != "bubblewrap" else ""
        for t in meta.get("tasks", []):
            msg = one_line(warn + (t.get("message") or ""), limit=300)
            rows.append({"student": csv_cell(meta["student"]), "assignment": csv_cell(meta["assignment"]),
                         "task": csv_cell(t["task"]), "score": score_text(t["score"], GRADEBOOK_PLACES),
                         "max_score": score_text(t["max_score"], GRADEBOOK_PLACES),
                         "status": csv_cell(t["status"]), "message": csv_cell(msg)})
    return rows


def write_gradebook(path: Path, rows: list[dict]) -> None:
    _write_csv(path, GRADEBOOK_COLUMNS,
               sorted(rows, key=lambda r: (r["student"], r["assignment"], _task_key(r["task"]))))


def write_students(path: Path, subs, ignored: list[str]) -> None:
    """students.csv: which entry of SUBMISSIONS each id stands for, and what was passed over."""
    rows = [{"student": csv_cell(s.student), "submission": csv_cell(s.name),
             "note": csv_cell(s.problem or "")} for s in subs]
    rows += [{"student": "", "submission": csv_cell(line.split(": ", 1)[0]),
              "note": csv_cell("passed over: " + line.split(": ", 1)[-1])} for line in ignored]
    _write_csv(path, STUDENTS_COLUMNS, rows)


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    atomic_write(path, buf.getvalue())


def _task_key(task: str):
    try:
        return tuple(int(x) for x in task.split("."))
    except ValueError:
        return (1 << 30, task)


def summary_table(results: list[dict], title: str):
    """A rich Table: one row per student, one column per task, then the total. Cells are
    Text objects, so nothing in a student id or status is read as console markup."""
    from rich.table import Table

    tasks = []
    for res in results:
        for t in res.get("extra_data", {}).get("tasks", []):
            if t["task"] not in tasks:
                tasks.append(t["task"])
    tasks.sort(key=_task_key)
    table = Table(title=rich_text(title))
    table.add_column("student", no_wrap=True)
    for t in tasks:
        table.add_column(rich_text(t), justify="right")
    table.add_column("total", justify="right")
    for res in results:
        meta = res.get("extra_data", {})
        by = {t["task"]: t for t in meta.get("tasks", [])}
        cells = [_cell(by[tid]) if tid in by else "" for tid in tasks]
        total = f"{score_text(res['score'])}/{score_text(meta.get('max_score', 0))}"
        table.add_row(rich_text(meta.get("student", "?"), limit=60), *cells, rich_text(total))
    return table


def _cell(t: dict):
    from rich.text import Text

    s = score_text(t["score"])
    if t["status"] == "passed":
        return Text(s, style="green")
    short = {"not_implemented": "todo", "partial": "part"}.get(t["status"], one_line(t["status"], limit=12))
    cell = Text(s, style="yellow" if t["score"] > 0 else "red")
    cell.append(f" {short}")
    return cell
