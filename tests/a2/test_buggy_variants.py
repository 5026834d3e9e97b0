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

from pathlib import Path

import pytest

from a2_mutation_table import BUGS, REWRITES
from autograder.engine.examples import write_base
from tests import mutation_helpers
from tests.mutation_helpers import apply, verdicts
from vitlab.course import load_course
from vitlab.release import fences

A2 = load_course().assignment("a2")
NOTEBOOK_TASK = "2.10"
TASKS = [f"2.{i}" for i in range(1, 10)]


def plan_rounds() -> list[dict]:
    return mutation_helpers.plan_rounds(BUGS, REWRITES)


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


LEFT_BEHIND: set[str] = set()   # named semaphores a grading run left in /dev/shm


def _semaphores() -> set[str]:
    return {p.name for p in Path("/dev/shm").glob("sem.*")}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from autograder.engine.grade import grade_all
    root = tmp_path_factory.mktemp("a2_mutations")
    rounds = plan_rounds()
    write_submission(root / "subs" / "reference", {}, notebook=True)
    for i, entries in enumerate(rounds):
        write_submission(root / "subs" / f"round{i:02d}", entries)
    before = _semaphores()
    summary = grade_all("a2", root / "subs", root / "out", workers=2, force=True)
    LEFT_BEHIND.update(_semaphores() - before)
    return rounds, mutation_helpers.tasks_by_student(summary)


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
    verdicts(rounds, tasks, TASKS).check("a2", len(BUGS), len(REWRITES))


@pytest.mark.slow
def test_grading_leaves_no_semaphore_behind(graded):
    """A trusted per-student process ends without running finalizers, so a multiprocessing
    lock made there (tqdm makes one for every bar, even a disabled one) would stay in
    /dev/shm until the whole grading run ends: one per student."""
    assert not LEFT_BEHIND, sorted(LEFT_BEHIND)
