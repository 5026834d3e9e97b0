"""Feedback that points at the cause: the count of failed checks, the first failing
check's name and docstring, and a hint (the check's own, else its `hint` marker), with
student text escaped and no expected value."""
from __future__ import annotations

from types import SimpleNamespace

from autograder.engine import report
from autograder.engine.scoring import check_text, score_task
from autograder.engine.session import TestRecord as Record


def _stable():
    """Variance far below eps; or mean 1e4
    with spread 1e-2 and eps 1e-12.

    Details nobody needs in feedback."""


def test_check_text_names_the_check_and_its_parameters():
    assert check_text("test_layernorm_forward_is_stable[large offset]", _stable, {"case": "large offset"}) == \
        "layernorm forward is stable [case=large offset]: Variance far below eps; or mean 1e4 with spread 1e-2 " \
        "and eps 1e-12."
    import numpy as np
    assert check_text("test_x[float32]", None, {"dtype": np.float32}) == "x [dtype=float32]"
    assert check_text("test_x[0-2]") == "x [0-2]"
    assert len(check_text("test_" + "y" * 500)) == 240


def _task():
    return SimpleNamespace(id="1.4", title="LayerNorm", points=15.0)


def _rec(name, status="passed", message="", hint=None, check=""):
    return Record(name, name, "1.4", 1.0, "passed" if status == "passed" else "failed", status, message, hint,
                      check=check or name)


def test_scoring_counts_failures_and_keeps_the_first_check():
    recs = [_rec("a"), _rec("b", "failed", "out: 3 of 8 entries are off", "two passes", "layernorm stable: mean 1e4"),
            _rec("c", "failed", "dx: off"), _rec("d")]
    res = score_task(_task(), recs, [])
    assert (res.status, res.passed, res.failed, res.total) == ("partial", 2, 2, 4)
    assert (res.check, res.message, res.hint) == ("layernorm stable: mean 1e4", "out: 3 of 8 entries are off",
                                                  "two passes")


def _as_dict(res) -> dict:
    return {k: v for k, v in res.to_dict().items() if k != "tests"}


def test_feedback_md_and_gradescope_output_say_how_many_failed_and_which_first():
    recs = [_rec("a"), _rec("b", "failed", "out: 3 of 8 entries are off", "two passes: *not* E[x^2]",
                             "layernorm forward is stable [case=large offset]: mean 1e4, spread 1e-2")]
    t = _as_dict(score_task(_task(), recs, []))
    md = report.feedback_md("eve", "a1", [t], True)
    assert "1 of 2 hidden checks failed; score 7.5 / 15." in md
    assert "First failing check: layernorm forward is stable \\[case=large offset\\]: mean 1e4, spread 1e-2" in md
    assert "\n```text\nout: 3 of 8 entries are off\n```\n" in md
    assert "Hint: ` two passes: *not* E[x^2] `" in md
    text = report.task_output(t)
    assert text.splitlines()[:3] == ["partly passed: 1 of 2 checks failed",
                                     "First failing check: layernorm forward is stable [case=large offset]: "
                                     "mean 1e4, spread 1e-2", "out: 3 of 8 entries are off"]
    passed = _as_dict(score_task(_task(), [_rec("a"), _rec("b")], []))
    assert "2 of 2 hidden checks passed" in report.feedback_md("eve", "a1", [passed], True)
    assert "First failing check" not in report.feedback_md("eve", "a1", [passed], True)


def test_older_results_without_the_new_fields_still_render():
    t = {"task": "1.1", "title": "Linear", "max_score": 10.0, "score": 0.0, "status": "error",
         "message": "SyntaxError", "hint": None, "passed": 0, "total": 6, "output": "", "output_bytes": 0}
    md = report.feedback_md("eve", "a1", [t], True)
    assert "6 of 6 hidden checks failed" in md and "First failing check:\n\n```text\nSyntaxError\n```" in md
