"""Assignment 1's grader sensitivity: every bug of the mutation table loses points in its
own task only, and every correct rewrite keeps full marks, through the real hidden graders.

Tasks are graded in isolation (one sandbox per task, and no a1 task calls another task's
code), so one submission carries at most one bug per task: the table runs as a dozen or
so submissions in one grading run. In each submission the tasks without a bug (clean, or
a correct rewrite) must keep full marks, which checks that a bug costs nothing elsewhere;
every edit also has to sit inside a solution fence of its own task.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from a1_mutation_table import BUGS
from a1_rewrite_table import REWRITES
from tests import mutation_helpers
from tests.mutation_helpers import apply, fences, verdicts

ROOT = Path(__file__).resolve().parents[2]
A1 = ROOT / "solutions" / "a1_numpy_layers"
MODULES = ("layers.py", "conv.py", "gradcheck.py")
TASKS = [f"1.{i}" for i in range(1, 9)]


def _apply_rewrite(texts: dict[str, str], rewrite) -> None:
    for file, begin, body in rewrite.fences:
        text = texts[file]
        hits = [(s, e, task) for s, e, task, b in fences(text) if text[b:].lstrip().startswith(begin)]
        assert len(hits) == 1 and hits[0][2] == rewrite.task, f"rewrite {rewrite.name!r}: no single fence {begin!r}"
        s, e, _ = hits[0]
        texts[file] = text[:s] + body + text[e:]


def plan_rounds() -> list[dict[str, tuple[str, object]]]:
    return mutation_helpers.plan_rounds(BUGS, REWRITES)


def _write(folder: Path, entries: dict) -> None:
    texts = {m: (A1 / m).read_text(encoding="utf-8") for m in MODULES}
    for kind, entry in entries.values():
        (apply if kind == "bug" else _apply_rewrite)(texts, entry)
    folder.mkdir(parents=True)
    for m, text in texts.items():
        (folder / m).write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from autograder.engine.grade import grade_all

    tmp = tmp_path_factory.mktemp("a1_mutations")
    rounds = plan_rounds()
    _write(tmp / "subs" / "reference", {})
    for i, entries in enumerate(rounds):
        _write(tmp / "subs" / f"round{i:02d}", entries)
    summary = grade_all("a1", tmp / "subs", tmp / "out", workers=2)
    return rounds, mutation_helpers.tasks_by_student(summary), tmp / "out"


def test_table_is_large_and_well_formed():
    """About 40 realistic bugs or more, spread over every task, names unique."""
    names = [b.name for b in BUGS]
    assert len(BUGS) >= 40 and len(set(zip(names, (b.task for b in BUGS)))) == len(BUGS)
    assert {b.task for b in BUGS} == set(TASKS) and {r.task for r in REWRITES} >= {"1.1", "1.3", "1.4", "1.6"}
    for i, entries in enumerate(plan_rounds()):  # every edit applies, inside its own task's fences
        texts = {m: (A1 / m).read_text(encoding="utf-8") for m in MODULES}
        for kind, entry in entries.values():
            (apply if kind == "bug" else _apply_rewrite)(texts, entry)


@pytest.mark.slow
def test_reference_scores_full_marks(graded):
    _, tasks, _ = graded
    not_full = {t: r["message"][:300] for t, r in tasks["reference"].items() if r["score"] != r["max_score"]}
    assert not not_full, not_full


@pytest.mark.slow
def test_every_bug_loses_points_in_its_own_task_only(graded):
    rounds, tasks, _ = graded
    verdicts(rounds, tasks, TASKS).check("a1", len(BUGS), len(REWRITES))


@pytest.mark.slow
def test_failure_messages_do_not_leak_expected_values(graded):
    _, tasks, _ = graded
    for student, got in tasks.items():
        for task, r in got.items():
            assert not re.search(r"(?<!\w)array\(|\[\[", r["message"]), (student, task, r["message"])


@pytest.mark.slow
def test_feedback_names_the_check_counts_failures_and_hints(graded):
    """Every bug's feedback: how many checks failed, the first failing check's name and
    what it checks, and a hint at the common cause."""
    from autograder.engine.safe_text import md_text

    rounds, tasks, out = graded
    no_hint = []
    for i, entries in enumerate(rounds):
        student = f"round{i:02d}"
        md = (out / student / "feedback.md").read_text(encoding="utf-8")
        for task, (kind, entry) in entries.items():
            r = tasks[student][task]
            if kind != "bug":
                continue
            assert r["failed"] >= 1 and r["check"], (task, entry.name, r)
            assert f"{r['failed']} of {r['total']} hidden checks failed" in md, (student, task)
            assert f"First failing check: {md_text(r['check'])}" in md, (student, task, r["check"])
            if not r["hint"]:
                no_hint.append(f"{task} {entry.name}: {r['check'][:80]}")
    assert not no_hint, f"failing checks without a hint: {no_hint}"
