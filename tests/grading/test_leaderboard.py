"""The capstone leaderboard (autograder/engine/leaderboard.py): Gradescope entries from the
trusted side's measurements only, bad values dropped, a sorted CSV and a self-contained,
escaped HTML page, names shown or hidden as course.toml says."""
import dataclasses
import math
import types

import pytest

from autograder.engine import leaderboard as lb
from vitlab.course import CourseError, load_course

COURSE = load_course()
NAMES = ["vit_mnist", "vit_cifar10"]


def result(student, score, board):
    return {"score": score, "extra_data": {"student": student}, "leaderboard": lb.entries(board, NAMES)}


def test_record_and_entries():
    session = types.SimpleNamespace()
    lb.record(session, "vit_mnist", 98.765, 123456)
    assert session.leaderboard == {"vit_mnist": {"test_acc": 98.765, "params": 123456}}
    assert lb.entries(session.leaderboard, NAMES) == [
        {"name": "vit_mnist test accuracy (%)", "value": 98.77},
        {"name": "vit_mnist parameters", "value": 123456, "order": "asc"}]


@pytest.mark.parametrize("bad", [
    {"test_acc": math.nan, "params": 10}, {"test_acc": 101.0, "params": 10}, {"test_acc": -1, "params": 10},
    {"test_acc": True, "params": True}, {"test_acc": "99", "params": "10"}, {"test_acc": 50.0, "params": 0},
    {"test_acc": 50.0, "params": 10 ** 11}, {"test_acc": 50.0, "params": 1.5}, [], None, "x",
])
def test_bad_values_are_dropped(bad):
    got = lb.entries({"vit_mnist": bad, "not_a_checkpoint": {"test_acc": 99.0, "params": 10}}, NAMES)
    assert all(e["name"].startswith("vit_mnist") for e in got)
    assert all(type(e["value"]) in (int, float) for e in got)
    assert len(got) <= 1


def test_sorted_hidden_and_shown():
    results = [result("bob", 30.0, {"vit_mnist": {"test_acc": 97.0, "params": 5000}}),
               result("amy", 45.0, {"vit_mnist": {"test_acc": 99.0, "params": 9000},
                                    "vit_cifar10": {"test_acc": 80.0, "params": 9000}}),
               result("cat", 30.0, {"vit_mnist": {"test_acc": 98.0, "params": 7000}}),
               result("dan", 0.0, {})]
    cols, rows = lb.table(results, NAMES, "shown")
    assert [r["student"] for r in rows] == ["amy", "cat", "bob", "dan"]
    assert cols[:3] == ["rank", "student", "score"] and "vit_cifar10 parameters" in cols
    _, hidden = lb.table(results, NAMES, "hidden")
    assert [r["student"] for r in hidden] == ["student 1", "student 2", "student 3", "student 4"]
    text = lb.to_csv(cols, rows)
    assert text.splitlines()[1].startswith("1,amy,45,99,9000,80,9000")
    assert text.splitlines()[4] == "4,dan,0,,,,"


def test_page_is_escaped_and_self_contained():
    evil = '<script>alert(1)</script>"&'
    cols, rows = lb.table([result(evil, 1.0, {"vit_mnist": {"test_acc": 50.0, "params": 10}}),
                           result("=HYPERLINK(1)", 0.5, {})], NAMES, "shown")
    page = lb.to_html("course <b>", cols, rows)
    assert "<script" not in page and "&lt;script&gt;" in page and "course &lt;b&gt;" in page
    assert "http" not in page.replace('http-equiv', '') and "src=" not in page
    assert "default-src 'none'" in page
    assert "\n=HYPERLINK" not in lb.to_csv(cols, rows) and ",=HYPERLINK" not in lb.to_csv(cols, rows)


def test_write_is_atomic_and_only_for_the_capstone(tmp_path):
    capstone = [a for a in COURSE.assignments if lb.checkpoints(COURSE, a)]
    others = [a for a in COURSE.assignments if not lb.checkpoints(COURSE, a)]
    for a in others:
        assert lb.write(tmp_path / a.id, [], COURSE, a) == []
    if not capstone:
        pytest.skip("this course has no capstone")
    a = capstone[0]
    name = lb.checkpoints(COURSE, a)[0]
    res = {"score": 15.0, "extra_data": {"student": "amy"},
           "leaderboard": lb.entries({name: {"test_acc": 99.5, "params": 1800000}}, [name])}
    paths = lb.write(tmp_path, [res], COURSE, a)
    assert sorted(p.name for p in paths) == ["leaderboard.csv", "leaderboard.html"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["leaderboard.csv", "leaderboard.html"]   # no temp files
    mode = lb.names_mode(COURSE)
    assert ("amy" in paths[0].read_text()) == (mode == "shown")


def test_a_bad_names_setting_is_one_clear_line():
    course = dataclasses.replace(COURSE, settings={**COURSE.settings, "capstone": {"leaderboard_names": "maybe"}})
    with pytest.raises(CourseError, match=r"leaderboard_names = 'maybe' must be one of 'hidden', 'shown'"):
        lb.names_mode(course)
