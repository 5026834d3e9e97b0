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
from collections import defaultdict
from pathlib import Path

import pytest

from a1_mutation_table import BUGS
from a1_rewrite_table import REWRITES

ROOT = Path(__file__).resolve().parents[2]
A1 = ROOT / "solutions" / "a1_numpy_layers"
MODULES = ("layers.py", "conv.py", "gradcheck.py")
TASKS = [f"1.{i}" for i in range(1, 9)]
BEGIN = re.compile(r"^[ \t]*### BEGIN SOLUTION Task (\S+?):.*$", re.M)
END = re.compile(r"^[ \t]*### END SOLUTION[ \t]*$", re.M)


def _fences(text: str) -> list[tuple[int, int, str, int]]:
    """(start of body, end of body, task, start of BEGIN line) for every fence in text."""
    out = []
    for m in BEGIN.finditer(text):
        end = END.search(text, m.end())
        out.append((m.end() + 1, end.start(), m.group(1), m.start()))
    return out


def _apply_bug(texts: dict[str, str], bug) -> None:
    text = texts[bug.file]
    for old, new in bug.edits:
        assert text.count(old) == 1, f"bug {bug.name!r}: the reference {bug.file} no longer holds {old!r} once"
        at = text.index(old)
        inside = [task for s, e, task, _ in _fences(text) if s <= at and at + len(old) <= e]
        assert inside == [bug.task], f"bug {bug.name!r}: the edit is not inside a Task {bug.task} fence"
        text = text.replace(old, new)
    texts[bug.file] = text


def _apply_rewrite(texts: dict[str, str], rewrite) -> None:
    for file, begin, body in rewrite.fences:
        text = texts[file]
        hits = [(s, e, task) for s, e, task, b in _fences(text) if text[b:].lstrip().startswith(begin)]
        assert len(hits) == 1 and hits[0][2] == rewrite.task, f"rewrite {rewrite.name!r}: no single fence {begin!r}"
        s, e, _ = hits[0]
        texts[file] = text[:s] + body + text[e:]


def plan_rounds() -> list[dict[str, tuple[str, object]]]:
    """Submissions as {task: ("bug" | "rewrite", entry)}: at most one entry per task each.
    Bugs fill the rounds task by task; rewrites go where their task has no bug."""
    by_task = defaultdict(list)
    for bug in BUGS:
        by_task[bug.task].append(("bug", bug))
    n = max(len(v) for v in by_task.values())
    rounds = [{} for _ in range(n)]
    for task, entries in by_task.items():
        for i, entry in enumerate(entries):
            rounds[i][task] = entry
    for rw in REWRITES:
        free = next((r for r in reversed(rounds) if rw.task not in r), None)
        if free is None:
            free = {}
            rounds.append(free)
        free[rw.task] = ("rewrite", rw)
    return rounds


def _write(folder: Path, entries: dict) -> None:
    texts = {m: (A1 / m).read_text(encoding="utf-8") for m in MODULES}
    for kind, entry in entries.values():
        (_apply_bug if kind == "bug" else _apply_rewrite)(texts, entry)
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
    tasks = {r["extra_data"]["student"]: {t["task"]: t for t in r["extra_data"]["tasks"]} for r in summary.results}
    return rounds, tasks, tmp / "out"


def test_table_is_large_and_well_formed():
    """About 40 realistic bugs or more, spread over every task, names unique."""
    names = [b.name for b in BUGS]
    assert len(BUGS) >= 40 and len(set(zip(names, (b.task for b in BUGS)))) == len(BUGS)
    assert {b.task for b in BUGS} == set(TASKS) and {r.task for r in REWRITES} >= {"1.1", "1.3", "1.4", "1.6"}
    for i, entries in enumerate(plan_rounds()):  # every edit applies, inside its own task's fences
        texts = {m: (A1 / m).read_text(encoding="utf-8") for m in MODULES}
        for kind, entry in entries.values():
            (_apply_bug if kind == "bug" else _apply_rewrite)(texts, entry)


@pytest.mark.slow
def test_reference_scores_full_marks(graded):
    _, tasks, _ = graded
    not_full = {t: r["message"][:300] for t, r in tasks["reference"].items() if r["score"] != r["max_score"]}
    assert not not_full, not_full


@pytest.mark.slow
def test_every_bug_loses_points_in_its_own_task_only(graded):
    rounds, tasks, _ = graded
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
                what = entry.name if entry else "clean"
                leaks.append(f"{task} ({what}) lost points in round {i}: {r['message'][:200]}")
    killed = len(BUGS) - len(survivors)
    print(f"a1 mutation table: {killed}/{len(BUGS)} bugs lose points; {len(REWRITES)} rewrites")
    assert not survivors, f"{len(survivors)} bugs keep full marks: {survivors}"
    assert not leaks, leaks
    assert not silent, f"bugs that lose points without a message: {silent}"


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
