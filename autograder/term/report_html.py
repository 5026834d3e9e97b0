"""`make report`: one self-contained HTML page about an assignment's grading.

Score distribution per task and in total, statuses per task, the checks that fail most
often with their hints, runtime per task, late and missing counts, and (for the capstone)
the distribution of measured test accuracy. Plots are matplotlib PNGs embedded as base64;
the page loads nothing else. Every student-controlled string is HTML-escaped.
"""
from __future__ import annotations

import html
import re
from collections import Counter
from pathlib import Path

from autograder.engine.safe_text import one_line
from autograder.term import final, plots, record
from autograder.term.times import iso
from vitlab.io import atomic_write

TOP_CHECKS = 15
_CSS = """body{font-family:sans-serif;margin:1.5em;max-width:1100px}table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:2px 8px;font-size:13px}img{max-width:100%;display:block;margin:.5em 0}
h2{border-bottom:1px solid #ddd;margin-top:1.5em}"""


def _img(b64: str, alt: str) -> str:
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{b64}'>"


def _table(header: list[str], rows: list[list]) -> str:
    e = html.escape
    out = ["<table><tr>" + "".join(f"<th>{e(str(h))}</th>" for h in header) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>" for r in rows]
    return "".join(out) + "</table>"


def _graded(term: final.Term) -> list[final.Entry]:
    return [e for e in term.entries if e.results is not None]


def scores(term: final.Term) -> str:
    a, graded = term.assignment, _graded(term)
    series = {f"{t.id} {t.title}"[:28]: ([x.raw for e in graded for x in e.lines if x.task == t.id], t.points)
              for t in a.tasks}
    series["total (final)"] = ([e.total("final") for e in graded], a.points)
    return "<h2>Scores</h2>" + _img(plots.histograms(series, f"{a.folder}: raw score per task, final total"),
                                    "score distribution per task and in total")


def statuses(term: final.Term) -> str:
    counts = {t.id: Counter() for t in term.assignment.tasks}
    for e in term.entries:
        if e.status == "not on roster":
            continue
        for x in e.lines:
            counts[x.task][x.status] += 1
    names = sorted({s for c in counts.values() for s in c})
    rows = [[t, *(c.get(s, 0) for s in names)] for t, c in counts.items()]
    return ("<h2>Status per task</h2>" + _img(plots.statuses(counts), "statuses per task")
            + _table(["task", *names], rows))


def failing_checks(term: final.Term) -> str:
    """The first failing check of each task (results.json), grouped: the most frequent first."""
    seen = Counter()
    for e in _graded(term):
        for t in e.results.get("extra_data", {}).get("tasks", []):
            if t.get("status") in ("passed", "not_implemented", "missing") or not t.get("message"):
                continue
            msg = one_line(str(t["message"]).splitlines()[0], limit=140)
            seen[(t["task"], t["status"], msg, one_line(str(t.get("hint") or ""), limit=160))] += 1
    rows = [[task, status, n, msg, hint] for (task, status, msg, hint), n in seen.most_common(TOP_CHECKS)]
    return ("<h2>Checks that fail most often</h2>"
            + (_table(["task", "status", "students", "first failing check", "hint"], rows) if rows
               else "<p>No failing checks.</p>"))


def runtime(term: final.Term) -> str:
    series = {t.id: [] for t in term.assignment.tasks}
    for e in _graded(term):
        for task, s in record.runtimes(term.out_dir, e.submission).items():
            if task in series:
                series[task].append(s)
    rows = [[t, len(v), f"{sorted(v)[len(v) // 2]:.2f}", f"{max(v):.2f}"] for t, v in series.items() if v]
    if not rows:
        return "<h2>Runtime per task</h2><p>No task times recorded (graded before times were kept).</p>"
    return ("<h2>Runtime per task</h2>" + _img(plots.boxes(series, "seconds", "Grading time per task"),
                                               "runtime per task")
            + _table(["task", "students", "median s", "max s"], rows))


def late_missing(term: final.Term) -> str:
    c = Counter()
    for e in term.entries:
        if e.status != "graded":
            c[e.status] += 1
        elif e.late.percent >= 100:
            c["no credit (after the last date)"] += 1
        elif e.late.percent > 0:
            c["late (penalised)"] += 1
        elif "grace" in e.late.reason:
            c["within the grace period"] += 1
        elif "unknown" in e.late.reason:
            c["submission time unknown"] += 1
        else:
            c["on time"] += 1
    rows = [[k, v] for k, v in sorted(c.items())]
    late = [[e.student, e.submitted_at, f"-{e.late.percent:g}%", e.late.reason] for e in term.entries
            if e.late.percent > 0]
    unknown = "".join(f"<li>{html.escape(sid)}: {html.escape(why)}</li>" for sid, why in term.unknown)
    return ("<h2>Late and missing</h2>" + _table(["", "students"], rows)
            + (_table(["student", "submitted", "penalty", "reason"], late) if late else "")
            + (f"<p>Submissions on no roster row:</p><ul>{unknown}</ul>" if unknown else ""))


def capstone(term: final.Term, settings: dict) -> str:
    """Measured test accuracy per checkpoint, from the review notes the trusted capstone
    grader writes into grader.log (no student code runs while a checkpoint is evaluated)."""
    cps = {name: spec for name, spec in settings.get("capstone", {}).get("checkpoints", {}).items()
           if isinstance(spec, dict) and spec.get("task") in {t.id for t in term.assignment.tasks}}
    if not cps:
        return "<h2>Capstone accuracy</h2><p>This assignment has no capstone checkpoints.</p>"
    series = {name: ([], [float(x) for x in spec.get("thresholds", [])]) for name, spec in cps.items()}
    pattern = re.compile(r"^(" + "|".join(map(re.escape, cps)) + r"): measured test (\d{1,3}(?:\.\d+)?)%", re.M)
    for e in _graded(term):
        try:
            log = (term.out_dir / e.submission / "grader.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        found = {}
        for m in pattern.finditer(log):
            found.setdefault(m.group(1), float(m.group(2)))   # the first note per checkpoint
        for name, acc in found.items():
            if 0 <= acc <= 100:
                series[name][0].append(acc)
    rows = [[n, len(v), f"{min(v):.2f}" if v else "", f"{max(v):.2f}" if v else "", ", ".join(f"{t:g}" for t in th)]
            for n, (v, th) in series.items()]
    return ("<h2>Capstone accuracy</h2>" + _img(plots.accuracy(series), "capstone accuracy distribution")
            + _table(["checkpoint", "students measured", "lowest %", "highest %", "thresholds %"], rows))


def page(term: final.Term, settings: dict) -> str:
    a = term.assignment
    graded = _graded(term)
    head = (f"<!doctype html><html><head><meta charset='utf-8'><title>Report: {html.escape(a.folder)}</title>"
            f"<style>{_CSS}</style></head><body><h1>{html.escape(a.folder)}: {html.escape(a.title)}</h1>"
            f"<p>{len(term.entries)} students, {len(graded)} graded. Due: "
            f"{html.escape(iso(term.policy.due) if term.policy.due else 'no deadline set')}.</p>")
    parts = [scores(term), statuses(term), failing_checks(term), runtime(term), late_missing(term),
             capstone(term, settings)]
    return head + "\n".join(parts) + "\n</body></html>\n"


def write(term: final.Term, settings: dict) -> Path:
    path = term.out_dir / final.TERM_DIR / "report.html"
    atomic_write(path, page(term, settings))
    return path
