"""Assignment 3's grader sensitivity: every bug of the mutation table (a3_mutation_table.py),
library attention included, loses points in its own task only, and every correct rewrite
keeps full marks, through the real hidden graders and the grading engine.

Each submission is the reference with at most one table entry per task (tasks are graded
in isolation, with test doubles for the other tasks' code); the tasks without a bug must
keep full marks in every submission. Task 3.11 (the notebook) is not handed in here.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from autograder.engine.examples import write_base
from tests import mutation_helpers
from tests.mutation_helpers import apply, verdicts
from vitlab.course import load_course
from vitlab.release import fences

from .a3_mutation_table import BUGS, REWRITES

A3 = load_course().assignment("a3")
TASKS = [f"3.{i}" for i in range(1, 11)]


def plan_rounds() -> list[dict]:
    return mutation_helpers.plan_rounds(BUGS, REWRITES)


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
    return rounds, mutation_helpers.tasks_by_student(summary)


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
    verdicts(rounds, tasks, TASKS, extra=_wrong_status).check("a3", len(BUGS), len(REWRITES))


def _wrong_status(task, bug, r) -> str | None:
    """A library-attention bug must be `banned`, and no other bug may be."""
    if (r["status"] == "banned") != (bug.status == "banned"):
        return f"{task} {bug.name}: {r['status']}"
    return None


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
