"""End to end on the tiny fixture course: scores, statuses, isolation, files written."""
import csv
import json

from grading_helpers import by_student, grade_tiny, make_submission, tiny_source


def test_reference_release_and_isolation(tmp_path):
    subs = tmp_path / "subs"
    make_submission(subs, "ref", {"tiny.py": tiny_source()})
    make_submission(subs, "release", {"tiny.py": tiny_source(None)})
    make_submission(subs, "wrong_add", {"tiny.py": tiny_source().replace("out = a + b", "out = a - b")})
    make_submission(subs, "half", {"tiny.py": tiny_source({"1.2", "1.3"})})
    summary = grade_tiny(subs, tmp_path / "out", workers=2)
    got = by_student(summary)

    assert {t: r["status"] for t, r in got["ref"].items()} == {"1.1": "passed", "1.2": "passed", "1.3": "passed"}
    assert sum(r["score"] for r in got["ref"].values()) == 10
    assert {r["status"] for r in got["release"].values()} == {"not_implemented"}
    assert sum(r["score"] for r in got["release"].values()) == 0
    # task 1.2 calls add(); its sandbox gets the harness's stand-in add (never the solution),
    # and so does the reference it is compared with: a wrong add costs only 1.1
    assert got["wrong_add"]["1.1"]["status"] == "failed"
    assert "max relative error" in got["wrong_add"]["1.1"]["message"]
    assert got["wrong_add"]["1.2"]["status"] == "passed"
    assert [got["half"][t]["status"] for t in ("1.1", "1.2", "1.3")] == ["passed", "not_implemented", "not_implemented"]

    rows = list(csv.DictReader(open(tmp_path / "out" / "gradebook.csv")))
    assert len(rows) == 4 * 3
    assert list(rows[0]) == ["student", "assignment", "task", "score", "max_score", "status", "message"]
    res = json.loads((tmp_path / "out" / "ref" / "results.json").read_text())
    assert res["score"] == 10 and len(res["tests"]) == 3
    assert set(res["tests"][0]) >= {"name", "number", "score", "max_score", "output", "visibility"}
    fb = (tmp_path / "out" / "wrong_add" / "feedback.md").read_text()
    assert "Task 1.1" in fb and "max relative error" in fb
