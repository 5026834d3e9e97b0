"""Assignment 3's grader sensitivity: every bug of the mutation table (a3_mutation_table.py),
library attention included, loses points in its own task only, and every correct rewrite
keeps full marks, through the real hidden graders and the grading engine.

Each submission is the reference with at most one table entry per task (tasks are graded
in isolation, with test doubles for the other tasks' code); the tasks without a bug must
keep full marks in every submission. Task 3.11 (the notebook) is not handed in here.
"""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

from autograder.engine.examples import write_base
from vitlab.course import load_course
from vitlab.release import fences

from .a3_mutation_table import BUGS, REWRITES

A3 = load_course().assignment("a3")
TASKS = [f"3.{i}" for i in range(1, 11)]
BEGIN = re.compile(r"^[ \t]*### BEGIN SOLUTION Task (\S+?):.*$", re.M)
END = re.compile(r"^[ \t]*### END SOLUTION[ \t]*$", re.M)


def _fence_tasks(text: str, at: int, length: int) -> list[str]:
    out = []
    for m in BEGIN.finditer(text):
        end = END.search(text, m.end())
        if m.end() < at and at + length <= end.start():
            out.append(m.group(1))
    return out


def apply(texts: dict[str, str], entry) -> None:
    """Apply one table entry's edits to the reference sources, each inside its own task's fence."""
    text = texts[entry.file]
    for old, new in entry.edits:
        assert text.count(old) == 1, f"{entry.name!r}: the reference {entry.file} no longer holds {old!r} once"
        assert _fence_tasks(text, text.index(old), len(old)) == [entry.task], \
            f"{entry.name!r}: the edit is not inside a Task {entry.task} fence"
        text = text.replace(old, new)
    texts[entry.file] = text


def plan_rounds() -> list[dict]:
    """Submissions as {task: ("bug" | "rewrite", entry)}, at most one entry per task each."""
    by_task = defaultdict(list)
    for bug in BUGS:
        by_task[bug.task].append(("bug", bug))
    rounds = [{} for _ in range(max(len(v) for v in by_task.values()))]
    for task, entries in by_task.items():
        for i, entry in enumerate(entries):
            rounds[i][task] = entry
    for rw in REWRITES:
        free = next((r for r in reversed(rounds) if rw.task not in r), None)
        if free is None:
            rounds.append(free := {})
        free[rw.task] = ("rewrite", rw)
    return rounds


def write_submission(folder: Path, entries: dict) -> None:
    write_base(A3, folder, "reference")
    (folder / "a3_torch_vit.ipynb").unlink(missing_ok=True)
    files = {e.file for _, e in entries.values()}
    texts = {f: (A3.source_dir / f).read_text(encoding="utf-8") for f in files}
    for _, entry in entries.values():
        apply(texts, entry)
    for f, text in texts.items():
        (folder / f).write_text(fences.render(text, str(A3.source_dir / f), stub_tasks=set()), encoding="utf-8")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from autograder.engine.grade import grade_all
    root = tmp_path_factory.mktemp("a3_mutations")
    rounds = plan_rounds()
    for i, entries in enumerate(rounds):
        write_submission(root / "subs" / f"round{i:02d}", entries)
    summary = grade_all("a3", root / "subs", root / "out", workers=2, force=True)
    tasks = {r["extra_data"]["student"]: {t["task"]: t for t in r["extra_data"]["tasks"]} for r in summary.results}
    return rounds, tasks


def test_table_is_large_and_well_formed():
    """At least 40 realistic bugs over every task, names unique, every edit inside its own task's fence."""
    assert len(BUGS) >= 40 and len({b.name for b in BUGS}) == len(BUGS)
    assert {b.task for b in BUGS} == set(TASKS) and len(REWRITES) >= 8
    for entries in plan_rounds():
        texts = {f: (A3.source_dir / f).read_text(encoding="utf-8") for f in {e.file for _, e in entries.values()}}
        for _, entry in entries.values():
            apply(texts, entry)


@pytest.mark.slow
def test_every_bug_loses_points_in_its_own_task_only(graded):
    rounds, tasks = graded
    survivors, leaks, silent, wrong_status = [], [], [], []
    for i, entries in enumerate(rounds):
        got = tasks[f"round{i:02d}"]
        for task in TASKS:
            kind, entry = entries.get(task, ("clean", None))
            r = got[task]
            if kind == "bug" and r["score"] >= r["max_score"]:
                survivors.append(f"{task} {entry.name}")
            elif kind == "bug" and not r["message"]:
                silent.append(f"{task} {entry.name}")
            elif kind == "bug" and (r["status"] == "banned") != (entry.status == "banned"):
                wrong_status.append(f"{task} {entry.name}: {r['status']}")
            elif kind != "bug" and r["score"] != r["max_score"]:
                leaks.append(f"{task} ({entry.name if entry else 'clean'}) lost points in round {i}: "
                             f"{r['message'][:300]}")
    print(f"a3 mutation table: {len(BUGS) - len(survivors)}/{len(BUGS)} bugs lose points; "
          f"{len(REWRITES)} correct rewrites, {sum('(clean)' not in x for x in leaks)} lost points")
    assert not survivors, f"{len(survivors)} bugs keep full marks: {survivors}"
    assert not leaks, leaks
    assert not silent, f"bugs that lose points without a message: {silent}"
    assert not wrong_status, wrong_status


@pytest.mark.slow
def test_banned_calls_are_named_and_score_zero(graded):
    rounds, tasks = graded
    for i, entries in enumerate(rounds):
        for task, (kind, entry) in entries.items():
            if kind == "bug" and entry.status == "banned":
                r = tasks[f"round{i:02d}"][task]
                assert r["score"] == 0 and r["status"] == "banned", (entry.name, r["status"])
                if "F.scaled_dot_product_attention" in entry.edits[0][1]:
                    assert "F.scaled_dot_product_attention" in r["message"] and "modules.py:" in r["message"]
                else:
                    assert "computed name" in r["message"] and "not allowed" in r["message"]
