"""`make term` as an instructor types it: each student's feedback shows one final score,
the one totals.csv has, and an extension is named wherever it applied (on time included)."""
from __future__ import annotations

import re

import pytest

import term_helpers as th


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = th.graded_course(tmp_path_factory.mktemp("make-term"))
    with open(course / "extensions.csv", "a", encoding="utf-8") as f:
        f.write("s29,a1,,2,travel\n")                  # granted, and nothing came
    r = th.make(course, "term", "ASSIGNMENT=a1")
    assert r.returncode == 0, r.stderr[-2000:]
    return course


SCORE = re.compile(r"\*\*(?:Final s|S)core: ([-\d.]+) / ([\d.]+)\*\*")
TASK_ROW = re.compile(r"^\| \S+ .* \| ([-\d.]+) / [\d.]+ \|$", re.M)


def test_feedback_shows_one_final_score(course):
    totals = th.totals(course)
    assert totals["s07"]["final_score"] == "0" and float(totals["s07"]["raw_score"]) > 0   # after no_credit_after
    for sid, t in totals.items():
        page = (course / "grading" / "a1_tiny" / "_term" / "feedback" / f"{sid}.md").read_text(encoding="utf-8")
        scores = SCORE.findall(page)
        assert len(scores) == (2 if t["status"] == "graded" else 1), (sid, scores)
        assert {s for s, _ in scores} == {t["final_score"]}, (sid, scores, t["final_score"])
        tasks = [float(x) for x in TASK_ROW.findall(page)]
        if tasks:
            assert sum(tasks) == pytest.approx(float(t["final_score"])), (sid, tasks)


def test_an_extension_is_named_wherever_it_applied(course):
    totals = th.totals(course)
    for sid, why in (("s04", "medical note"), ("s05", "family emergency")):
        assert totals[sid]["late_percent"] == "0" and why in totals[sid]["reason"], totals[sid]
        page = (course / "grading" / "a1_tiny" / "_term" / "feedback" / f"{sid}.md").read_text(encoding="utf-8")
        assert why in page
    assert "extended" not in totals["s06"]["reason"]              # no extension, not named
    assert totals["s29"]["status"] == "missing" and "(extended: travel)" in totals["s29"]["reason"]


