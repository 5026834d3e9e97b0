"""The term's inputs, one rule at a time: times, the late policy, course.toml and the
instructor's CSV files (every bad value named with its file and line)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from autograder.term import config, deadlines, overrides, roster, times
from autograder.term.errors import TermError

UTC = timezone.utc


def t(s: str) -> datetime:
    return times.parse_time(s, "test")


def test_times_parse_every_source_format():
    assert t("2026-10-09T23:59:00Z") == datetime(2026, 10, 9, 23, 59, tzinfo=UTC)
    assert t("2026-10-10T01:59:00+02:00") == datetime(2026, 10, 9, 23, 59, tzinfo=UTC)
    assert t("2026-10-10 00:10:00.123456 UTC") == datetime(2026, 10, 10, 0, 10, 0, 123456, tzinfo=UTC)
    assert t("2026-10-11T10:00:00.5-07:00") == datetime(2026, 10, 11, 17, 0, 0, 500000, tzinfo=UTC)
    for bad, why in (("2026-10-09T23:59:00", "no time zone"), ("yesterday", "not a time"),
                     ("1999-12-31T23:00:00Z", "before the year 2000"), ("2026-10-10 00:10:00 PST", "not a time")):
        with pytest.raises(TermError, match=why):
            t(bad)


def test_submission_time_sources_in_order_and_bad_files_recorded(tmp_path):
    (tmp_path / "submitted_at.txt").write_text("2026-10-09T10:00:00Z\n")
    assert times.from_submission(tmp_path)["source"] == "make submit"
    (tmp_path / "timestamp.txt").write_text("2026-10-09 11:00:00.000000 UTC")
    assert times.from_submission(tmp_path)["submitted_at"] == "2026-10-09T11:00:00Z"
    (tmp_path / "submission_metadata.json").write_text(json.dumps({"created_at": "not a time"}))
    info = times.from_submission(tmp_path)        # a bad file: the next source, and the problem kept
    assert info["source"] == "nbgrader" and "submission_metadata.json" in info["problem"]
    (tmp_path / "timestamp.txt").write_text("x" * 10000)
    assert "larger than" in times.from_submission(tmp_path)["problem"]
    inner = tmp_path / "nested" / "a1"
    inner.mkdir(parents=True)
    (inner / "submitted_at.txt").write_text("2026-10-09T12:00:00Z")
    assert times.from_submission(tmp_path / "nested")["submitted_at"] == "2026-10-09T12:00:00Z"
    assert times.from_submission(inner.parent.parent / "nested" / "a1")["source"] == "make submit"


def test_late_policy_grace_days_cap_and_no_credit():
    due = t("2026-10-09T23:59:00Z")
    p = config.Policy(due, grace_minutes=15, percent_per_day=10, max_percent=30,
                      no_credit_after=due + timedelta(days=7))
    late = lambda minutes, ext=None: deadlines.lateness(p, ext, due + timedelta(minutes=minutes), "x").percent
    assert late(-1) == 0 and late(15) == 0 and late(16) == 10 and late(24 * 60) == 10 and late(24 * 60 + 1) == 20
    assert late(5 * 24 * 60) == 30                            # the cap
    assert late(7 * 24 * 60 + 1) == 100                       # after the last date for credit
    ext = deadlines.Extension(days=3, reason="ill")
    assert late(3 * 24 * 60, ext) == 0 and late(10 * 24 * 60 + 1, ext) == 100 and late(9 * 24 * 60, ext) == 30
    assert deadlines.lateness(p, None, None, "").percent == 0  # unknown time: not penalised, said so
    assert "unknown" in deadlines.lateness(p, None, None, "").reason


def _course(term: dict, tmp_path):
    a = SimpleNamespace(folder="a1_tiny", id="a1")
    return SimpleNamespace(settings={"gradebook": term}, root=tmp_path, assignments=[a])


@pytest.mark.parametrize("term, match", [
    ({"late": {"percent_per_day": 150}}, "percent_per_day = 150"),
    ({"late": {"speed": 1}}, "unknown key 'speed'"),
    ({"deadlines": {"a1_tiny": {"due": datetime(2026, 10, 9)}}}, "has no time zone"),
    ({"deadlines": {"a1_tiny": {"due": "2026-10-09T23:59:00Z", "no_credit_after": "2026-10-01T00:00:00Z"}}},
     "before the due time"),
    ({"deadlines": {"a1_tiny": {"no_credit_after": "2026-10-01T00:00:00Z"}}}, "no due time"),
    ({"deadlines": {"a7": {"due": "2026-10-09T23:59:00Z"}}}, "'a7' is no assignment"),
    ({"similarity_threshold": 2}, "similarity_threshold"),
])
def test_course_toml_errors_name_key_and_value(term, match, tmp_path):
    with pytest.raises(TermError, match=match):
        config.load(_course(term, tmp_path))


def test_csv_files_stop_at_the_first_bad_row(tmp_path):
    def load(text: str, fn):
        p = tmp_path / "f.csv"
        p.write_bytes(text if isinstance(text, bytes) else text.encode())
        with pytest.raises(TermError) as e:
            fn(p)
        return str(e.value)

    r = lambda p: roster.load(p)
    assert "f.csv:1: no column 'student'" in load("name,email\nA,a@x.org\n", r)
    assert "appears twice" in load("student,email,email\n", r)
    assert "not UTF-8" in load(b"student\n\xff\xfe\n", r)
    assert "f.csv:3: column 'student'" in load("student,email\na1,a@x.org\nA1,b@x.org\n", r)  # same id, case
    assert "f.csv:2: 3 cells" in load("student,email\na,a@x.org,extra\n", r)
    assert "f.csv:2: column 'lms_id': value '12a'" in load("student,lms_id\na,12a\n", r)
    tasks = {"1.1": 4.0}
    o = lambda p: overrides.load(p, tasks, {"a"})
    head = "student,task,score,adjustment,reason,who\n"
    assert "exactly one of score or adjustment" in load(head + "a,1.1,2,1,r,w\n", o)
    assert "column 'task': value '9.9'" in load(head + "a,9.9,2,,r,w\n", o)
    assert "column 'student': value 'zed'" in load(head + "zed,1.1,2,,r,w\n", o)
    assert "column 'adjustment': value 'nan'" in load(head + "a,1.1,,nan,r,w\n", o)
    assert "column 'who'" in load(head + "a,1.1,,1,r,\n", o)
    assert "first on line 2" in load(head + "a,1.1,,1,r,w\na,1.1,,2,r,w\n", o)
    e = lambda p: deadlines.load_extensions(p, {"a1": "a1_tiny", "a1_tiny": "a1_tiny"}, None)
    assert "column 'days': value '-2'" in load("student,assignment,days\na,a1,-2\n", e)
    assert "column 'assignment': value 'a3'" in load("student,assignment,days\na,a3,2\n", e)
    assert "f.csv:2: column 'due'" in load("student,assignment,due\na,a1,2026-10-01\n", e)


def test_roster_matching_by_id_case_and_email():
    people = [roster.Student("Ann.Lee", email="ann@uni.example"), roster.Student("bo", email="bo@uni.example")]
    matched, unknown = roster.match(people, ["ann.lee", "bo_uni.example", "visitor", "Bo"])
    assert matched["ann.lee"].student == "Ann.Lee" and matched["bo_uni.example"].student == "bo"
    assert ("visitor", "not on the roster") in unknown
    assert unknown[-1][0] == "Bo" and "second submission for bo" in unknown[-1][1]
