"""Changing task points in an assignment.toml as text, so its comments and layout survive.

`scale` spreads a new total over the tasks in proportion to their current points (whole
points, largest remainders first, so the total is exact); `set_points` rewrites the
`points = ...` line of one `[[tasks]]` entry.
"""
from __future__ import annotations

import math
import re
import tomllib

from template.options import TemplateError

HEADER = re.compile(r"^\s*\[\[\s*tasks\s*\]\]\s*(#.*)?$")
TABLE = re.compile(r"^\s*\[")
ID_LINE = re.compile(r"""^\s*id\s*=\s*["'](?P<id>[^"']+)["']""")
POINTS_LINE = re.compile(r"^(?P<key>\s*points\s*=\s*)(?P<value>[^#\n]*?)(?P<tail>\s*(#.*)?)$")


def fmt(points: float) -> str:
    return str(int(points)) if float(points).is_integer() else f"{points:g}"


def scale(points: dict[str, float], total: float) -> dict[str, float]:
    """{'1.1': 10, '1.2': 30}, 100 -> {'1.1': 25, '1.2': 75}; tasks with 0 points stay 0."""
    current = sum(points.values())
    if current <= 0:
        share = {k: total / len(points) for k in points} if points else {}
    else:
        share = {k: total * v / current for k, v in points.items()}
    if not float(total).is_integer():
        return {k: round(v, 2) for k, v in share.items()}
    out = {k: math.floor(v) for k, v in share.items()}
    left = int(total) - sum(out.values())
    for k in sorted(share, key=lambda k: (out[k] - share[k], k))[:left]:   # largest remainder first
        out[k] += 1
    return {k: float(v) for k, v in out.items()}


def set_points(text: str, task_id: str, points: float, path: str = "assignment.toml") -> str:
    """`text` with task `task_id`'s points line set to `points`."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if HEADER.match(line)]
    hit = None
    for start in starts:
        end = next((j for j in range(start + 1, len(lines)) if TABLE.match(lines[j])), len(lines))
        block = range(start + 1, end)
        ids = [m["id"] for j in block if (m := ID_LINE.match(lines[j]))]
        if ids[:1] == [task_id]:
            hit = next((j for j in block if POINTS_LINE.match(lines[j].rstrip("\n"))), None)
            break
    if hit is None:
        raise TemplateError(f"{path}: task {task_id} has no `points = ...` line to change")
    m = POINTS_LINE.match(lines[hit].rstrip("\n"))
    end = lines[hit][len(lines[hit].rstrip("\n")):]
    lines[hit] = f"{m['key']}{fmt(points)}{m['tail']}{end}"
    out = "".join(lines)
    got = {str(t["id"]): t["points"] for t in tomllib.loads(out).get("tasks", [])}
    if got.get(task_id) != points:
        raise TemplateError(f"{path}: could not set the points of task {task_id}")
    return out
