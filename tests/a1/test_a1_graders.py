"""Assignment 1's hidden graders, run through the grading engine: the reference scores
full marks, and typical student bugs (made by small edits of the reference) lose the
points of the tests they should fail, and only those, in their own task only.

Each submission carries one bug per task, so every task is graded in isolation on exactly
one bug and one grading run covers eight bugs.
"""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
A1 = ROOT / "solutions" / "a1_numpy_layers"
MODULES = ("layers.py", "conv.py", "gradcheck.py")

# task -> (file, reference text, buggy text, tests that must still pass, tests that must fail)
BUGS_A = {
    "1.1": ("layers.py", "db = dout2.sum(axis=0)  # (M,)", "db = dout.sum(axis=0)  # (M,)",
            ["test_linear_forward_on_random_shapes", "test_linear_batch_of_one_single_feature"],
            ["test_linear_matches_torch_autograd", "test_linear_gradients_match_numerical_gradients"]),
    "1.2": ("layers.py", "    dphi += phi\n    dx = dout * dphi", "    dx = dout * phi",
            ["test_relu_matches_reference", "test_gelu_forward_matches_reference", "test_relu_matches_torch_autograd"],
            ["test_gelu_matches_torch_autograd[none]", "test_gelu_matches_torch_autograd[tanh]",
             "test_gelu_gradient_matches_numerical_gradient[none]"]),
    # softmax over the wrong axis: the last axis, whatever `axis` says
    "1.3": ("layers.py", "    out = x - x.max(axis=axis, keepdims=True)\n    np.exp(out, out=out)\n"
            "    out *= 1.0 / _sum(out, axis)",
            "    out = x - x.max(axis=-1, keepdims=True)\n    np.exp(out, out=out)\n    out *= 1.0 / _sum(out, -1)",
            ["test_softmax_default_axis_is_last", "test_softmax_matches_torch_and_numerical_gradient[-1]",
             "test_cross_entropy_matches_torch[0.0]", "test_cross_entropy_huge_logits_finite[0.1]"],
            ["test_softmax_matches_torch_and_numerical_gradient[1]", "test_softmax_forward_along_every_axis"]),
    # LayerNorm backward without the two mean terms
    "1.4": ("layers.py", "    dx = dxhat - _sum(dxhat, -1) / D\n    dx -= xhat * (_sum(dxhat, -1, xhat) / D)\n",
            "    dx = dxhat.copy()\n",
            ["test_layernorm_forward_on_random_shapes", "test_layernorm_forward_is_stable[tiny variance]"],
            ["test_layernorm_gradients_match_numerical_gradients", "test_layernorm_matches_torch_autograd[1e-05]",
             "test_layernorm_tiny_variance"]),
    "1.5": ("layers.py", "            mask *= 1.0 / (1.0 - p)\n", "",
            ["test_dropout_identity[eval]", "test_dropout_identity[p=0]"],
            ["test_dropout_mask_statistics[0.5]", "test_dropout_backward_uses_the_same_mask"]),
    # conv backward with the wrong padding: crops the top-left corner instead of the centre
    "1.6": ("conv.py", "dx = np.ascontiguousarray(dxp[:, :, P:P + H, P:P + W]) if P else dxp",
            "dx = np.ascontiguousarray(dxp[:, :, :H, :W])",
            ["test_conv_forward_on_random_shapes", "test_conv_defaults_and_1x1_kernel"],
            ["test_conv_matches_torch_autograd", "test_conv_gradients_match_numerical_gradients",
             "test_conv_keeps_float32"]),
    # maxpool backward assigns instead of adding: wrong only where windows overlap
    "1.7": ("conv.py", "dx[:, :, i:i + s * OH:s, j:j + s * OW:s] += dout * (argmax == i * k + j)",
            "dx[:, :, i:i + s * OH:s, j:j + s * OW:s] = dout * (argmax == i * k + j)",
            ["test_maxpool_forward_on_random_shapes", "test_maxpool_default_arguments"],
            ["test_maxpool_matches_torch_autograd", "test_maxpool_matches_reference_on_random_shapes"]),
    # numerical gradient that never restores x
    "1.8": ("gradcheck.py", "        fxmh = float(f(x))\n        x[ix] = old\n", "        fxmh = float(f(x))\n",
            ["test_rel_error[zeros]", "test_numerical_gradient_array_through_closure"],
            ["test_numerical_gradient_is_centred_and_in_place[shape0]", "test_numerical_gradient_default_step"]),
}

BUGS_B = {
    "1.2": ("layers.py", "dx = dout * (x > 0)", "dx = dout * (x >= 0)",
            ["test_gelu_matches_torch_autograd[none]"],
            ["test_relu_matches_reference", "test_relu_matches_torch_autograd"]),
    # cross-entropy without the max shift: fine on small logits, NaN at 1e4
    "1.3": ("layers.py", "z = logits - logits.max(axis=1, keepdims=True)  # (N, C), max is 0", "z = logits",
            ["test_cross_entropy_matches_reference", "test_cross_entropy_matches_torch[0.2]"],
            ["test_cross_entropy_huge_logits_finite[0.0]", "test_cross_entropy_huge_logits_finite[0.1]"]),
    # variance as E[x^2] - E[x]^2
    "1.4": ("layers.py", "    var = _sum(xhat, -1, xhat) / D  # (..., 1)",
            "    var = _sum(x, -1, x) / D - (_sum(x, -1) / D) ** 2",
            ["test_layernorm_forward_on_random_shapes", "test_layernorm_matches_torch_autograd[1e-05]"],
            ["test_layernorm_forward_is_stable[large offset]", "test_layernorm_large_offset_small_spread"]),
    # a float64 scale turns a float32 mask into float64
    "1.5": ("layers.py", "            mask *= 1.0 / (1.0 - p)\n", "            mask = mask / np.float64(1.0 - p)\n",
            ["test_dropout_mask_statistics[0.1]", "test_dropout_seeding"], ["test_dropout_keeps_float32"]),
    # col2im ignores the stride
    "1.6": ("conv.py", "            dxp[:, :, i:i + s * OH:s, j:j + s * OW:s] += dcols[:, :, i, j]",
            "            dxp[:, :, i:i + OH, j:j + OW] += dcols[:, :, i, j]",
            ["test_conv_forward_on_random_shapes", "test_conv_defaults_and_1x1_kernel"],
            ["test_conv_matches_torch_autograd", "test_conv_matches_reference_on_random_shapes"]),
    # ties go to the last maximum instead of the first
    "1.7": ("conv.py", "np.putmask(argmax, win > out, i * k + j)", "np.putmask(argmax, win >= out, i * k + j)",
            ["test_maxpool_matches_torch_autograd", "test_maxpool_forward_on_random_shapes"],
            ["test_maxpool_ties_go_to_the_first_maximum"]),
}


def _submission(root: Path, name: str, bugs: dict) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    texts = {m: (A1 / m).read_text(encoding="utf-8") for m in MODULES}
    for task, (module, old, new, _, _) in bugs.items():
        assert texts[module].count(old) == 1, f"bug for task {task}: the reference no longer contains {old!r}"
        texts[module] = texts[module].replace(old, new)
    for m, text in texts.items():
        (folder / m).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from autograder.engine.grade import grade_all

    tmp = tmp_path_factory.mktemp("a1_grading")
    subs = tmp / "subs"
    subs.mkdir()
    (subs / "reference").mkdir()
    for m in MODULES:
        (subs / "reference" / m).write_text((A1 / m).read_text(encoding="utf-8"), encoding="utf-8")
    _submission(subs, "bugs_a", BUGS_A)
    _submission(subs, "bugs_b", BUGS_B)
    summary = grade_all("a1", subs, tmp / "out", workers=2)
    graded = {r["extra_data"]["student"]: {t["task"]: t for t in r["extra_data"]["tasks"]} for r in summary.results}
    for student, tasks in graded.items():
        for task, status, name in _log_rows(tmp / "out" / student / "grader.log"):
            tasks[task].setdefault("tests", []).append({"name": name, "status": status})
    return graded


def _log_rows(log: Path):
    """Per-test outcomes from the instructor-only grader.log (results.json keeps only counts)."""
    for line in log.read_text(encoding="utf-8").splitlines():
        parts = line.split(maxsplit=3)
        if len(parts) == 4 and parts[2].startswith("w=") and parts[0][:1].isdigit():
            yield parts[0], parts[1], parts[3]


def test_reference_scores_full_marks(graded):
    tasks = graded["reference"]
    assert set(tasks) == {f"1.{i}" for i in range(1, 9)}
    not_full = {t: (r["status"], r["message"][:300]) for t, r in tasks.items() if r["score"] != r["max_score"]}
    assert not not_full, not_full
    assert sum(r["score"] for r in tasks.values()) == 100


@pytest.mark.parametrize("student,bugs", [("bugs_a", BUGS_A), ("bugs_b", BUGS_B)])
def test_bugs_lose_the_points_they_should(graded, student, bugs):
    tasks = graded[student]
    for task, (_, _, _, must_pass, must_fail) in bugs.items():
        r = tasks[task]
        status = {t["name"]: t["status"] for t in r["tests"]}
        missing = [n for n in must_pass + must_fail if n not in status]
        assert not missing, f"task {task}: no such tests {missing}; have {sorted(status)}"
        assert all(status[n] == "passed" for n in must_pass), (task, {n: status[n] for n in must_pass})
        assert all(status[n] == "failed" for n in must_fail), (task, {n: status[n] for n in must_fail})
        assert r["status"] == "partial" and 0 < r["score"] < r["max_score"], (task, r["status"], r["score"])
        assert r["message"], f"task {task}: a failing task should say why"
    # a bug costs points in its own task only
    clean = {t: r for t, r in tasks.items() if t not in bugs}
    assert all(r["score"] == r["max_score"] for r in clean.values()), {t: r["message"] for t, r in clean.items()}


def test_failure_messages_do_not_leak_expected_values(graded):
    """A message names shapes, dtypes and error sizes, never the expected numbers."""
    for student in ("bugs_a", "bugs_b"):
        for task, r in graded[student].items():
            msg = r["message"]
            assert "array(" not in msg and "[[" not in msg, (student, task, msg)
