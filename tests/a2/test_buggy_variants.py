"""Assignment 2's grader sensitivity: every bug of the mutation table (a2_mutation_table.py)
loses points in its own task only, and every correct rewrite keeps full marks, through the
real hidden graders and the grading engine.

Tasks are graded in isolation (one sandbox per task; the other tasks' code is replaced by
test doubles), so a submission carries at most one entry per task, and the table runs as a
handful of submissions in one grading run. In each, the tasks without a bug must keep full
marks, which checks that a bug costs nothing elsewhere. Task 2.10 (the notebook) is graded
from the reference submission only: the others hand no notebook in.
"""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

from a2_mutation_table import BUGS, REWRITES
from autograder.engine.examples import write_base
from vitlab.course import load_course
from vitlab.release import fences

A2 = load_course().assignment("a2")
NOTEBOOK_TASK = "2.10"
TASKS = [f"2.{i}" for i in range(1, 10)]
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


def write_submission(folder: Path, entries: dict, notebook: bool = False) -> None:
    write_base(A2, folder, "reference")
    nb = folder / "a2_numpy_vit.ipynb"
    if notebook:   # the solved notebook, as a student who finished it would hand it in
        nb.write_bytes((A2.source_dir / "a2_numpy_vit.ipynb").read_bytes())
    else:          # task 2.10 runs the notebook in a kernel: only the reference pays for that
        nb.unlink(missing_ok=True)
    files = {e.file for _, e in entries.values()}
    texts = {f: (A2.source_dir / f).read_text(encoding="utf-8") for f in files}
    for _, entry in entries.values():
        apply(texts, entry)
    for f, text in texts.items():
        (folder / f).write_text(fences.render(text, str(A2.source_dir / f), stub_tasks=set()), encoding="utf-8")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from autograder.engine.grade import grade_all
    root = tmp_path_factory.mktemp("a2_mutations")
    rounds = plan_rounds()
    write_submission(root / "subs" / "reference", {}, notebook=True)
    for i, entries in enumerate(rounds):
        write_submission(root / "subs" / f"round{i:02d}", entries)
    summary = grade_all("a2", root / "subs", root / "out", workers=2, force=True)
    tasks = {r["extra_data"]["student"]: {t["task"]: t for t in r["extra_data"]["tasks"]} for r in summary.results}
    return rounds, tasks


def test_table_is_large_and_well_formed():
    """At least 40 realistic bugs over every task, names unique, every edit inside its own task's fence."""
    assert len(BUGS) >= 40 and len({b.name for b in BUGS}) == len(BUGS)
    assert {b.task for b in BUGS} == set(TASKS) and len(REWRITES) >= 8
    for entries in plan_rounds():
        texts = {f: (A2.source_dir / f).read_text(encoding="utf-8") for f in {e.file for _, e in entries.values()}}
        for _, entry in entries.values():
            apply(texts, entry)


@pytest.mark.slow
def test_reference_gets_full_marks(graded):
    _, tasks = graded
    for task_id, t in tasks["reference"].items():  # 2.10 from the notebook's nbgrader cells
        assert t["score"] == t["max_score"], f"reference task {task_id}: {t['status']}: {t['message'][:500]}"


@pytest.mark.slow
def test_every_bug_loses_points_in_its_own_task_only(graded):
    rounds, tasks = graded
    survivors, leaks, silent = [], [], []
    for i, entries in enumerate(rounds):
        got = tasks[f"round{i:02d}"]
        for task in TASKS:
            kind, entry = entries.get(task, ("clean", None))
            r = got[task]
            if kind == "bug" and r["score"] >= r["max_score"]:
                survivors.append(f"{task} {entry.name}")
            elif kind == "bug" and not r["message"]:
                silent.append(f"{task} {entry.name}")
            elif kind != "bug" and r["score"] != r["max_score"]:
                leaks.append(f"{task} ({entry.name if entry else 'clean'}) lost points in round {i}: "
                             f"{r['message'][:300]}")
    print(f"a2 mutation table: {len(BUGS) - len(survivors)}/{len(BUGS)} bugs lose points; "
          f"{len(REWRITES)} correct rewrites, {sum('(clean)' not in x for x in leaks)} lost points")
    assert not survivors, f"{len(survivors)} bugs keep full marks: {survivors}"
    assert not leaks, leaks
    assert not silent, f"bugs that lose points without a message: {silent}"
