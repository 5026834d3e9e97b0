"""Feedback that names the failing case: a conv that pads only one side fails every case
with padding >= 1 and passes every case with padding 0, and its feedback says so (the
parameter, the values that fail and those that pass, the first failing case's settings),
with a hint about padding (not the stride) and no expected value.

One submission (conv.py only: the other tasks are `missing` at no cost), one worker."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from a1_mutation_table import BUGS
from tests.mutation_helpers import apply

ROOT = Path(__file__).resolve().parents[2]
A1 = ROOT / "solutions" / "a1_numpy_layers"
ONE_SIDE = "pads only one side (top and left, by 2 padding)"


def _section(md: str, task: str) -> str:
    start = md.index(f"## Task {task}:")
    end = md.find("\n## Task ", start + 1)
    return md[start:] if end < 0 else md[start:end]


@pytest.fixture(scope="module")
def conv_feedback(tmp_path_factory):
    from autograder.engine.grade import grade_all

    tmp = tmp_path_factory.mktemp("a1_case_feedback")
    (bug,) = [b for b in BUGS if b.name == ONE_SIDE]
    texts = {"conv.py": (A1 / "conv.py").read_text(encoding="utf-8")}
    apply(texts, bug)
    folder = tmp / "subs" / "one_side"
    folder.mkdir(parents=True)
    (folder / "conv.py").write_text(texts["conv.py"], encoding="utf-8")
    summary = grade_all("a1", tmp / "subs", tmp / "out", workers=1)
    (res,) = summary.results
    tasks = {t["task"]: t for t in res["extra_data"]["tasks"]}
    md = (tmp / "out" / "one_side" / "feedback.md").read_text(encoding="utf-8")
    return tasks, md


def test_one_sided_padding_feedback_names_padding_with_failing_and_passing_values(conv_feedback):
    tasks, md = conv_feedback
    t = tasks["1.6"]
    assert t["status"] == "partial", t
    section = _section(md, "1.6")
    # the pattern: which padding values fail, which pass
    assert "fails for padding=1, 2; passes for padding=0" in t["message"], t["message"]
    assert "fails for padding=1, 2; passes for padding=0" in section
    # the first failing case is named by its settings
    assert re.search(r"first failing case: .*padding=[12]", t["message"]), t["message"]
    # a hint about padding, consistent with the pattern: nothing about the stride
    assert t["hint"] and "padding" in t["hint"] and "stride" not in t["hint"], t["hint"]
    assert tasks["1.7"]["status"] == "passed"   # maxpool, graded alongside, loses nothing


def test_one_sided_padding_feedback_shows_no_expected_values(conv_feedback):
    tasks, md = conv_feedback
    msg = tasks["1.6"]["message"]
    assert len(msg) <= 600
    assert not re.search(r"(?<!\w)array\(|\[\[|expected value", msg), msg
    # numbers in the message are sizes, indices, counts, settings and the error's size only
    text = re.sub(r"max relative error \S+|rtol=\S+|atol=\S+|\([\d, ]*\)", "", msg)
    assert not re.search(r"\d\.\d|\de[-+]?\d", text), msg


# ---- checks.sweep on its own (no grading run) -----------------------------------------------
def _grid():
    return [{"x": (2, 3, 7, 9), "stride": s, "padding": p} for p in (0, 1, 2) for s in (1, 2, 3)]


def _sweep(fails, cases=None, **kw):
    from autograder.engine.checks import GradingFailure, sweep

    def check(case):
        if fails(case):
            raise GradingFailure("conv2d_forward out: 3 of 8 entries are off", kw.pop("own", None))
    try:
        sweep(cases or _grid(), check, vary=("stride", "padding"), **kw)
    except GradingFailure as e:
        return e
    return None


HINTS = {"padding": "pad both sides", "stride": "step by the stride"}


def test_sweep_names_the_parameter_the_failures_follow_and_its_hint():
    e = _sweep(lambda c: c["padding"] >= 1, hints=HINTS, hint="general")
    assert e.message.splitlines() == ["fails for padding=1, 2; passes for padding=0 (6 of 9 cases failed)",
                                      "first failing case: x=(2, 3, 7, 9), stride=1, padding=1",
                                      "conv2d_forward out: 3 of 8 entries are off"]
    assert e.hint == "pad both sides" and e.credit == pytest.approx(3 / 9)
    e = _sweep(lambda c: c["stride"] == 3, hints=HINTS)
    assert e.message.startswith("fails for stride=3; passes for stride=1, 2 (3 of 9 cases failed)")
    assert e.hint == "step by the stride"
    # no hint for that parameter: one that names it, never another parameter's
    e = _sweep(lambda c: c["padding"] == 0, hints={"stride": "step by the stride"})
    assert "padding=0" in e.hint and "stride" not in e.hint
    assert _sweep(lambda c: False) is None


def test_sweep_without_a_single_parameter_lists_cases_or_says_every_case():
    e = _sweep(lambda c: c["padding"] == 2 and c["stride"] == 3, hints=HINTS, hint="general")
    assert e.message.startswith("fails for (stride=3, padding=2); passes for the other 8 (1 of 9 cases failed)")
    assert e.hint == "general"
    # one sided padding that a stride of 3 never reaches: padding 0 passes, most other cases fail
    e = _sweep(lambda c: c["padding"] >= 1 and (c["stride"], c["padding"]) != (3, 1), hints=HINTS)
    assert e.message.startswith("fails only for padding=1, 2 (5 of their 6 cases); passes for padding=0")
    assert e.hint == "pad both sides"
    # two parameters bound the failures: the cases say it
    e = _sweep(lambda c: c["padding"] >= 1 and c["stride"] == 1, hints=HINTS, hint="general")
    assert e.message.startswith("fails for (stride=1, padding=1), (stride=1, padding=2); passes for the other 7")
    e = _sweep(lambda c: True, hint="general")
    assert e.message.startswith("fails for every case (stride=1, 2, 3; padding=0, 1, 2) (9 of 9 cases failed)")
    assert e.hint == "general" and e.credit == 0


def test_sweep_message_is_bounded():
    from autograder.engine.checks import SWEEP_MESSAGE, GradingFailure, sweep

    cases = [{"x": tuple(range(i, i + 8)), "mode": "m" * 60 + str(i)} for i in range(50)]

    def check(case):
        raise GradingFailure("out: " + "y" * 5000)
    with pytest.raises(GradingFailure) as e:
        sweep(cases[:25] + [{"x": (1,), "mode": "ok"}], lambda c: c["mode"] != "ok" and check(c))
    assert len(e.value.message) <= SWEEP_MESSAGE


def test_sweep_student_errors_count_as_failing_cases_unless_every_case_raised():
    from autograder.engine.checks import GradingFailure, sweep
    from autograder.engine.student import StudentError

    def check(case):
        if case["padding"]:
            raise StudentError("ValueError", "could not broadcast", traceback='  File "conv.py", line 63, in f\n'
                               "    cols[:] = xp[...]\n", target="conv.conv2d_forward")
    with pytest.raises(GradingFailure) as e:
        sweep(_grid(), check, vary=("stride", "padding"))
    assert "fails for padding=1, 2; passes for padding=0" in e.value.message
    assert 'ValueError in conv.conv2d_forward: could not broadcast ("conv.py", line 63, in f)' in e.value.message
    assert "xp[...]" not in e.value.message        # the student's source line is not quoted out of its traceback

    def always(case):
        raise StudentError("NameError", "name 'q' is not defined")
    with pytest.raises(StudentError):
        sweep(_grid(), always)

    def todo(case):
        raise StudentError("NotImplementedError", "Task 1.6", kind="not_implemented")
    calls = []
    with pytest.raises(StudentError):
        sweep(_grid(), lambda c: calls.append(c) or todo(c))
    assert len(calls) == 1


def test_a_failed_sweep_keeps_the_share_of_its_cases_that_passed():
    from types import SimpleNamespace

    from autograder.engine.scoring import score_task
    from autograder.engine.session import TestRecord

    task = SimpleNamespace(id="1.6", title="Conv2d", points=20.0)
    recs = [TestRecord("a", "a", "1.6", 1.0, "passed", "passed"),
            TestRecord("b", "b", "1.6", 3.0, "failed", "failed", "fails for padding=1, 2", credit=1 / 3),
            TestRecord("c", "c", "1.6", 1.0, "failed", "error", "ValueError", credit=0.5)]
    res = score_task(task, recs, [])
    assert res.status == "partial" and res.score == pytest.approx(20 * 2 / 5) and res.failed == 2
