"""The harness every assignment's mutation table shares: plant a table entry in the reference
sources (each edit inside a solution fence of its own task), plan the entries into as few
submissions as task isolation allows, and sort the graded results into verdicts.

A table entry has `name`, `task`, `file` and `edits` (a list of (old, new) pairs, each `old`
found exactly once in the reference). Tasks are graded in isolation, so one submission may
carry one entry per task: every task without a bug must keep full marks in it.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

BEGIN = re.compile(r"^[ \t]*### BEGIN SOLUTION Task (\S+?):.*$", re.M)
END = re.compile(r"^[ \t]*### END SOLUTION[ \t]*$", re.M)


def fences(text: str) -> list[tuple[int, int, str, int]]:
    """(start of body, end of body, task, start of BEGIN line) for every solution fence."""
    out = []
    for m in BEGIN.finditer(text):
        end = END.search(text, m.end())
        out.append((m.end() + 1, end.start(), m.group(1), m.start()))
    return out


def apply(texts: dict[str, str], entry) -> None:
    """Apply one entry's edits to `texts` (file -> source), each inside its own task's fence."""
    text = texts[entry.file]
    for old, new in entry.edits:
        assert text.count(old) == 1, f"{entry.name!r}: the reference {entry.file} no longer holds {old!r} once"
        at = text.index(old)
        inside = [task for s, e, task, _ in fences(text) if s <= at and at + len(old) <= e]
        assert inside == [entry.task], f"{entry.name!r}: the edit is not inside a Task {entry.task} fence"
        text = text.replace(old, new)
    texts[entry.file] = text


def plan_rounds(bugs, rewrites) -> list[dict]:
    """Submissions as {task: ("bug" | "rewrite", entry)}, at most one entry per task each.
    Bugs fill the rounds task by task; rewrites go where their task has no bug."""
    by_task = defaultdict(list)
    for bug in bugs:
        by_task[bug.task].append(("bug", bug))
    rounds: list[dict] = [{} for _ in range(max(len(v) for v in by_task.values()))]
    for task, entries in by_task.items():
        for i, entry in enumerate(entries):
            rounds[i][task] = entry
    for rw in rewrites:
        free = next((r for r in reversed(rounds) if rw.task not in r), None)
        if free is None:
            rounds.append(free := {})
        free[rw.task] = ("rewrite", rw)
    return rounds


def tasks_by_student(summary) -> dict[str, dict[str, dict]]:
    """student -> task id -> that task's result, from a grading run's summary."""
    return {r["extra_data"]["student"]: {t["task"]: t for t in r["extra_data"]["tasks"]} for r in summary.results}


@dataclass
class Verdicts:
    survivors: list[str] = field(default_factory=list)   # bugs that keep full marks
    silent: list[str] = field(default_factory=list)      # bugs that lose points without a message
    leaks: list[str] = field(default_factory=list)       # tasks without a bug that lost points
    wrong: list[str] = field(default_factory=list)       # bugs caught the wrong way (extra's complaints)
    rewrites_lost: int = 0                               # of those, correct rewrites (not clean code)

    def check(self, label: str, n_bugs: int, n_rewrites: int) -> None:
        print(f"{label} mutation table: {n_bugs - len(self.survivors)}/{n_bugs} bugs lose points; "
              f"{n_rewrites} correct rewrites, {self.rewrites_lost} lost points")
        assert not self.survivors, f"{len(self.survivors)} bugs keep full marks: {self.survivors}"
        assert not self.leaks, self.leaks
        assert not self.silent, f"bugs that lose points without a message: {self.silent}"
        assert not self.wrong, self.wrong


def verdicts(rounds: list[dict], tasks: dict, task_ids: list[str], extra=None) -> Verdicts:
    """Sort every (round, task) result. `extra(task, entry, result)` may add a complaint
    (a string) about a bug that did lose points."""
    v = Verdicts()
    for i, entries in enumerate(rounds):
        got = tasks[f"round{i:02d}"]
        for task in task_ids:
            kind, entry = entries.get(task, ("clean", None))
            r = got[task]
            if kind == "bug" and r["score"] >= r["max_score"]:
                v.survivors.append(f"{task} {entry.name}")
            elif kind == "bug" and not r["message"]:
                v.silent.append(f"{task} {entry.name}")
            elif kind == "bug" and extra is not None and (complaint := extra(task, entry, r)):
                v.wrong.append(complaint)
            elif kind != "bug" and r["score"] != r["max_score"]:
                v.rewrites_lost += kind == "rewrite"
                v.leaks.append(f"{task} ({entry.name if entry else 'clean'}) lost points in round {i}: "
                               f"{r['message'][:300]}")
    return v
