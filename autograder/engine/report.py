"""What grading writes: results.json (Gradescope's schema), feedback.md, gradebook.csv.

Everything here is deterministic (no timestamps, no durations) so grading the same
submission twice gives byte-identical files, and every file is written atomically.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from vitlab.io import atomic_write

STATUS_TEXT = {
    "passed": "passed", "partial": "partly passed", "failed": "failed",
    "not_implemented": "not implemented", "error": "error", "timeout": "timed out",
    "memory": "ran out of memory", "tampered": "tampering detected", "missing": "missing",
    "banned": "used a banned library call",
}
UNSANDBOXED = "UNSANDBOXED (bubblewrap unavailable: {}); "
GRADEBOOK_COLUMNS = ("student", "assignment", "task", "score", "max_score", "status", "message")


def task_output(t: dict) -> str:
    lines = [f"{STATUS_TEXT.get(t['status'], t['status'])}: {t['passed']} of {t['total']} checks passed"]
    if t["message"]:
        lines.append(t["message"])
    if t.get("hint"):
        lines.append(f"Hint: {t['hint']}")
    if t.get("output"):
        lines.append(f"Your code printed ({t['output_bytes']} bytes):\n{t['output']}")
    return "\n".join(lines)


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
        "visibility": "visible",
        "extra_data": {"status": t["status"], "passed": t["passed"], "total": t["total"]},
    } for t in tasks]
    score = round(sum(t["score"] for t in tasks), 4)
    max_score = round(sum(t["max_score"] for t in tasks), 4)
    return {
        "score": score,
        "output": f"{assignment}: {score:g} / {max_score:g}",
        "tests": tests,
        # per-test names stay in grader.log: a hidden test's name says what it checks
        "extra_data": dict(meta, student=student, assignment=assignment, max_score=max_score,
                           tasks=[{k: v for k, v in t.items() if k != "tests"} for t in tasks]),
    }


def feedback_md(student: str, assignment: str, tasks: list[dict], sandboxed: bool) -> str:
    score = sum(t["score"] for t in tasks)
    max_score = sum(t["max_score"] for t in tasks)
    out = [f"# Feedback: {assignment} ({student})", "", f"**Score: {score:g} / {max_score:g}**", ""]
    if not sandboxed:
        out += ["> Graded without the bubblewrap sandbox (resource limits only).", ""]
    out += ["| Task | Status | Score |", "|---|---|---|"]
    for t in tasks:
        out.append(f"| {t['task']} {t['title']} | {STATUS_TEXT.get(t['status'], t['status'])} "
                   f"| {t['score']:g} / {t['max_score']:g} |")
    for t in tasks:
        out += ["", f"## Task {t['task']}: {t['title']} ({STATUS_TEXT.get(t['status'], t['status'])})", ""]
        out.append(f"{t['passed']} of {t['total']} hidden checks passed; score {t['score']:g} / {t['max_score']:g}.")
        if t["status"] != "passed" and t["message"]:
            out += ["", "First failing check:", "", "```", t["message"].rstrip(), "```"]
        if t.get("hint"):
            out += ["", f"Hint: {t['hint']}"]
        if t.get("output"):
            out += ["", f"Your code printed {t['output_bytes']} bytes (shown truncated):", "", "```",
                    t["output"].replace("```", "'''").rstrip(), "```"]
    return "\n".join(out) + "\n"


def write_student(out_dir: Path, student: str, results: dict, feedback: str, log: str,
                  files: dict[str, bytes]) -> None:
    d = out_dir / student
    for rel, data in sorted(files.items()):   # e.g. nbgrader's feedback/<notebook>.html
        atomic_write(d / rel, data)
    atomic_write(d / "feedback.md", feedback)
    atomic_write(d / "grader.log", log)
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
            msg = " ".join((t.get("message") or "").split())[:300]
            rows.append({"student": meta["student"], "assignment": meta["assignment"], "task": t["task"],
                         "score": f"{t['score']:g}", "max_score": f"{t['max_score']:g}",
                         "status": t["status"], "message": (warn + msg).strip()})
    return rows


def write_gradebook(path: Path, rows: list[dict]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=GRADEBOOK_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(sorted(rows, key=lambda r: (r["student"], r["assignment"], _task_key(r["task"]))))
    atomic_write(path, buf.getvalue())


def _task_key(task: str):
    try:
        return tuple(int(x) for x in task.split("."))
    except ValueError:
        return (1 << 30, task)


def summary_table(results: list[dict], title: str):
    """A rich Table: one row per student, one column per task, then the total."""
    from rich.table import Table

    tasks = []
    for res in results:
        for t in res.get("extra_data", {}).get("tasks", []):
            if t["task"] not in tasks:
                tasks.append(t["task"])
    tasks.sort(key=_task_key)
    table = Table(title=title)
    table.add_column("student", no_wrap=True)
    for t in tasks:
        table.add_column(t, justify="right")
    table.add_column("total", justify="right")
    for res in results:
        meta = res.get("extra_data", {})
        by = {t["task"]: t for t in meta.get("tasks", [])}
        cells = []
        for tid in tasks:
            t = by.get(tid)
            cells.append("" if t is None else _cell(t))
        table.add_row(meta.get("student", "?"), *cells, f"{res['score']:g}/{meta.get('max_score', 0):g}")
    return table


def _cell(t: dict) -> str:
    s = f"{t['score']:g}"
    if t["status"] in ("passed",):
        return f"[green]{s}[/green]"
    short = {"not_implemented": "todo", "partial": "part"}.get(t["status"], t["status"])
    return f"[yellow]{s}[/yellow] {short}" if t["score"] > 0 else f"[red]{s}[/red] {short}"
