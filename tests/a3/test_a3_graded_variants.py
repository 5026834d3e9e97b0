"""Typical Assignment 3 bugs, and library attention, lose points when graded through the
engine, each in its own task only. Every submission is the reference with small edits."""
from __future__ import annotations

from pathlib import Path

import pytest

from autograder.engine.examples import write_base
from vitlab.course import load_course

A3 = load_course().assignment("a3")
NOTEBOOK_TASK = "3.11"   # graded by nbgrader from the released notebook, not by these edits

# name -> (file, reference text, edited text, task that must lose points, expected status)
EDITS = {
    "attention without 1/sqrt(d)": (
        "modules.py", "attn = (q * self.scale) @ k.transpose(-2, -1)", "attn = q @ k.transpose(-2, -1)",
        "3.2", "failed"),
    "softmax over the queries (mask/axis error)": (
        "modules.py", "attn = attn.softmax(dim=-1)", "attn = attn.softmax(dim=-2)", "3.2", "failed"),
    "GPSA gate not applied": (
        "convit.py", "attn = (1.0 - gate) * content + gate * position",
        "attn = 0.5 * content + 0.5 * position", "3.5", "failed"),
    "class token before the GPSA blocks": (
        "convit.py", "if i == self.local_layers and self.cls_token is not None:",
        "if i == 0 and self.cls_token is not None:", "3.6", "failed"),
    "AdamW decays biases and norms": (
        "optim.py", 'if param.ndim < 2 or qualname.split(".")[-1] in skip:', 'if qualname.split(".")[-1] in skip:',
        "3.7", "failed"),
    "AdamW without bias correction": (
        "optim.py", "bias1 = 1.0 - beta1 ** t", "bias1 = 1.0", "3.7", "failed"),
    "gradients never zeroed": (
        "train.py", "optimizer.zero_grad(set_to_none=True)", "pass", "3.8", "failed"),
    "checkpoint without its config": (
        "checkpoint.py", "save_file(tensors, partial, metadata=metadata)", "save_file(tensors, partial)",
        "3.9", "failed"),
    "rollout without the residual path": (
        "attention_viz.py", "a = 0.5 * a + 0.5 * eye", "a = a + 0 * eye", "3.10", "failed"),
    "F.scaled_dot_product_attention in Attention": (
        "modules.py", "x = attn @ v                                     # (B, h, N, d)",
        "x = F.scaled_dot_product_attention(q, k, v)", "3.2", "banned"),
    "library attention hidden behind a computed name in GPSA": (
        "convit.py", "content = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1)   # (B, h, N, N)",
        'content = getattr(torch.nn.functional, "scaled_dot_" + "product_attention")'
        '(q, k, torch.eye(N).expand(B, self.num_heads, N, N))', "3.5", "banned"),
}
# Three submissions, so that two edits never share a task within one of them.
SUBMISSIONS = {
    "bugs_a": ["attention without 1/sqrt(d)", "GPSA gate not applied", "AdamW decays biases and norms",
               "gradients never zeroed", "rollout without the residual path"],
    "bugs_b": ["softmax over the queries (mask/axis error)", "class token before the GPSA blocks",
               "AdamW without bias correction", "checkpoint without its config"],
    "banned": ["F.scaled_dot_product_attention in Attention",
               "library attention hidden behind a computed name in GPSA"],
}


def _make(root: Path, name: str, edits: list[str]) -> None:
    dest = root / name
    write_base(A3, dest, "reference")
    for edit in edits:
        rel, good, bad, _, _ = EDITS[edit]
        path = dest / rel
        text = path.read_text(encoding="utf-8")
        assert text.count(good) == 1, f"the reference {rel} changed: cannot plant {edit!r}"
        path.write_text(text.replace(good, bad), encoding="utf-8")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from autograder.engine.grade import grade_all
    root = tmp_path_factory.mktemp("a3_variants")
    for name, edits in SUBMISSIONS.items():
        _make(root / "subs", name, edits)
    summary = grade_all("a3", root / "subs", root / "out", workers=2, force=True)
    return {r["extra_data"]["student"]: {t["task"]: t for t in r["extra_data"]["tasks"]} for r in summary.results}


@pytest.mark.slow
@pytest.mark.parametrize("student", list(SUBMISSIONS))
def test_each_edit_loses_points_in_its_task_only(graded, student):
    tasks = graded[student]
    for edit in SUBMISSIONS[student]:
        _, _, _, task, status = EDITS[edit]
        t = tasks[task]
        assert t["score"] < t["max_score"], f"{student}: {edit!r} did not lose points in task {task}"
        assert t["status"] in (status, "partial") if status == "failed" else t["status"] == status, \
            f"{student}: {edit!r} gave task {task} status {t['status']} ({t['message'][:300]})"
        assert t["message"], f"{student}: task {task} lost points without saying why"
    edited = {EDITS[e][3] for e in SUBMISSIONS[student]}
    for task_id, t in tasks.items():
        if task_id not in edited and task_id != NOTEBOOK_TASK:
            assert t["score"] == t["max_score"], (
                f"{student}: task {task_id} has no edit but scored {t['score']}/{t['max_score']} "
                f"({t['status']}: {t['message'][:300]})")


@pytest.mark.slow
def test_banned_calls_are_named_and_score_zero(graded):
    tasks = graded["banned"]
    static, runtime = tasks["3.2"], tasks["3.5"]
    assert static["score"] == 0 and runtime["score"] == 0
    assert "F.scaled_dot_product_attention" in static["message"] and "modules.py:" in static["message"]
    assert "computed name" in runtime["message"] and "not allowed" in runtime["message"]
