"""Assignment 2's hidden graders through the grading engine: the reference scores full
marks on every .py task, and typical bugs lose points, only in their own task. Each buggy
submission is the reference with one small edit per bug (two bugs never share a task
within one submission, since tasks are graded in isolation)."""
from __future__ import annotations

from pathlib import Path

import pytest

from autograder.engine.examples import write_base
from vitlab.course import load_course

A2 = load_course().assignment("a2")

# (file, reference text, buggy text, task that must lose points)
BUGS = {
    "softmax over the queries": (
        "attention.py", "attn, sm_cache = layers.softmax_forward(scores, axis=-1)",
        "attn, sm_cache = layers.softmax_forward(scores, axis=-2)", "2.3"),
    "no 1/sqrt(d) scaling": (
        "attention.py", "scale = 1.0 / float(np.sqrt(q.shape[-1]))", "scale = 1.0", "2.3"),
    "AdamW with coupled weight decay": (
        "optim.py", "            p *= 1 - self.lr * self.weight_decay\n        return g",
        "            return g + self.weight_decay * p\n        return g", "2.6"),
    "CLS gradient dropped (token)": (
        "tokens.py", "dcls = dout[:, :1].sum(axis=0, keepdims=True)", "dcls = 0 * dout[:1, :1]", "2.2"),
    "CLS gradient dropped (model)": (
        "models.py", 'dtok, grads["cls"] = tokens.cls_backward(dtok, c_cls)',
        'dtok, grads["cls"] = tokens.cls_backward(dtok, c_cls)[0], 0 * self.params["cls"]', "2.5"),
}
# Two submissions, so that two bugs never share a task within one of them.
SUBMISSIONS = {
    "bugs_a": ["softmax over the queries", "AdamW with coupled weight decay", "CLS gradient dropped (token)"],
    "bugs_b": ["no 1/sqrt(d) scaling", "CLS gradient dropped (model)"],
}


def _make(root: Path, name: str, bugs: list[str]) -> None:
    dest = root / name
    write_base(A2, dest, "reference")
    notebook = dest / "a2_numpy_vit.ipynb"
    if bugs:  # task 2.10 runs the notebook in a kernel: only the reference pays for that
        notebook.unlink(missing_ok=True)
    else:  # the solved notebook, as a student who finished it would hand it in
        notebook.write_bytes((A2.source_dir / "a2_numpy_vit.ipynb").read_bytes())
    for bug in bugs:
        rel, good, bad, _ = BUGS[bug]
        path = dest / rel
        text = path.read_text(encoding="utf-8")
        assert text.count(good) == 1, f"the reference {rel} changed: cannot plant the bug {bug!r}"
        path.write_text(text.replace(good, bad), encoding="utf-8")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from autograder.engine.grade import grade_all
    root = tmp_path_factory.mktemp("a2_bugs")
    for name, bugs in {"reference": [], **SUBMISSIONS}.items():
        _make(root / "subs", name, bugs)
    summary = grade_all("a2", root / "subs", root / "out", workers=2, force=True)
    return {r["extra_data"]["student"]: {t["task"]: t for t in r["extra_data"]["tasks"]} for r in summary.results}


@pytest.mark.slow
def test_reference_gets_full_marks(graded):
    for task_id, t in graded["reference"].items():  # 2.10 from the notebook's nbgrader cells
        assert t["score"] == t["max_score"], f"reference task {task_id}: {t['status']}: {t['message'][:500]}"


@pytest.mark.slow
@pytest.mark.parametrize("student", list(SUBMISSIONS))
def test_each_bug_loses_points_in_its_task_only(graded, student):
    tasks = graded[student]
    buggy = {BUGS[b][3] for b in SUBMISSIONS[student]}
    for bug in SUBMISSIONS[student]:
        t = tasks[BUGS[bug][3]]
        assert t["score"] < t["max_score"], f"{student}: the bug {bug!r} did not lose points in task {t['task']}"
        assert t["message"], f"{student}: task {t['task']} lost points without saying why"
    for task_id, t in tasks.items():
        if task_id not in buggy and task_id != "2.10":  # no notebook handed in
            assert t["score"] == t["max_score"], (
                f"{student}: task {task_id} has no planted bug but scored {t['score']}/{t['max_score']} "
                f"({t['status']}: {t['message'][:300]})")
