"""overrides.csv: the instructor's word, applied after grading and the late penalty.

Columns: student, task, score or adjustment (exactly one), reason, who. `score` sets the
task's final score (no late penalty on top); `adjustment` adds to the score after the
penalty (negative to take off). The final score stays within 0 and the task's points.
The file lives in the course folder, so every re-grade keeps it; the reason shows in the
student's feedback.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from autograder.term.csvfile import read_rows


@dataclass(frozen=True)
class Override:
    student: str
    task: str
    score: float | None
    adjustment: float | None
    reason: str
    who: str
    line: int

    def apply(self, after_penalty: float, max_score: float) -> float:
        value = self.score if self.score is not None else after_penalty + self.adjustment
        return min(max(value, 0.0), max_score)

    def describe(self) -> str:
        what = f"score set to {self.score:g}" if self.score is not None else f"{self.adjustment:+g} points"
        return f"{what} by {self.who}: {self.reason}"


def _number(row, col: str) -> float | None:
    if not row[col]:
        return None
    try:
        x = float(row[col])
    except ValueError:
        x = math.nan
    if not math.isfinite(x):
        raise row.fail(col, "not a number")
    return x


def load(path: Path, tasks: dict[str, float], students: set[str] | None) -> dict[tuple[str, str], Override]:
    """(student, task) -> Override. `tasks`: every task id of the course -> its points;
    `students`, when known (a roster), are the only ids allowed."""
    out: dict[tuple[str, str], Override] = {}
    for row in read_rows(path, ("student", "task", "reason", "who"), ("score", "adjustment")):
        if not row["student"]:
            raise row.fail("student", "empty")
        if students is not None and row["student"] not in students:
            raise row.fail("student", "not on the roster")
        if row["task"] not in tasks:
            raise row.fail("task", "no task of the course has this id (e.g. 1.3)")
        points = tasks[row["task"]]
        score, adj = _number(row, "score"), _number(row, "adjustment")
        if (score is None) == (adj is None):
            raise row.fail("score", "give exactly one of score or adjustment")
        if score is not None and not 0 <= score <= points:
            raise row.fail("score", f"must be from 0 to the task's {points:g} points")
        if adj is not None and abs(adj) > points:
            raise row.fail("adjustment", f"must be within the task's {points:g} points either way")
        for col in ("reason", "who"):
            if not row[col]:
                raise row.fail(col, "empty; every override says why and who made it")
        key = (row["student"], row["task"])
        if key in out:
            raise row.fail("task", f"a second override of this task for this student (first on line {out[key].line})")
        out[key] = Override(row["student"], row["task"], score, adj, row["reason"], row["who"], row.line)
    return out
