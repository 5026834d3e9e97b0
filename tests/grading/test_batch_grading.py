"""A whole class graded at once, whatever one student uploads: everyone gets rows, the
gradebook is written and safe to open, ids map back to the submissions' names."""
import csv
import json
import tarfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from autograder.engine.submissions import _reserved
from grading_helpers import by_student, grade_tiny, make_submission, tiny_source

SOLVED = tiny_source()
ADD_BODY = "    out = a + b\n"
FAKE = "```\n**Score: 100 / 100**\n\n## Task 1.1: Add (passed)\n<script>alert(1)</script><img src=x onerror=alert(1)>\n```"
FORMULA_TYPE = '=HYPERLINK("http://evil.example","Your grade was corrected")'
CONTROL = "bell\x07 esc\x1b[2J nul\x00 rlo\u202egnp.exe"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def raising(type_name: str, message: str) -> str:
    """tiny.py solved, except that add() raises an exception of that type name and message."""
    code = f"    raise type({type_name!r}, (Exception,), {{}})({message!r})\n"
    return SOLVED.replace(ADD_BODY, code + ADD_BODY, 1)


def _zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


def _rows(out: Path, name: str = "gradebook.csv") -> list[dict]:
    with open(out / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("batch")
    subs, out = tmp / "subs", tmp / "out"
    src = SOLVED.encode()
    for name in ("ann lee", "ann_lee", "Zoë", "Zoé", "José García", "gradebook.csv", "leaderboard.html"):
        make_submission(subs, name, {"tiny.py": SOLVED})
    make_submission(subs, "formula", {"tiny.py": raising(FORMULA_TYPE, "=cmd|' /C calc'!A0")})
    make_submission(subs, "fence", {"tiny.py": raising("ValueError", FAKE)})
    make_submission(subs, "controls", {"tiny.py": raising("E\x1b[31m", CONTROL)})
    _zip(subs / "gradebook.csv.zip", {"tiny.py": src})
    _zip(subs / "conflict.zip", {"tiny.py": src, "tiny.py/evil.txt": b"!", "d" * 300 + "/x.py": b"!"})
    _zip(subs / "finder.ZIP", {"a1_tiny/tiny.py": src, "a1_tiny/.DS_Store": b"\0",
                               "__MACOSX/a1_tiny/._tiny.py": b"\0", "__MACOSX/._a1_tiny": b"\0"})
    with tarfile.open(subs / "tarred.tar.gz", "w:gz") as tf:
        tf.add(subs / "ann_lee" / "tiny.py", "a1_tiny/tiny.py")
    real = make_submission(tmp / "elsewhere", "linked", {"tiny.py": SOLVED})
    (subs / "linked").symlink_to(real)
    (subs / "notes.rar").write_bytes(b"Rar!\x1a\x07\x00")
    (subs / ".DS_Store").write_bytes(b"\0")
    (subs / "empty").mkdir()
    summary = grade_tiny(subs, out, workers=2)
    return summary, out


def test_everyone_is_graded_and_gets_rows(graded):
    summary, out = graded
    students = json.loads(json.dumps(sorted(by_student(summary))))
    rows = _rows(out)
    assert len(students) == 17 and len(rows) == 17 * 3
    assert {r["student"] for r in rows} == set(students)
    assert (out / "gradebook.csv").is_file()
    ids = {r["submission"]: r["student"] for r in _rows(out, "students.csv") if r["student"]}
    assert len(ids) == 17 and len(set(ids.values())) == 17
    top_files = [p.name for p in out.iterdir() if not p.is_dir()]
    assert {"gradebook.csv", "students.csv"} <= set(top_files)
    assert all(_reserved(name) for name in top_files), top_files     # no id can ever take one
    assert ids["leaderboard.html"].startswith("leaderboard.html-")
    assert ids["José García"] == "José_García" and ids["Zoë"] == "Zoë" and ids["Zoé"] == "Zoé"
    assert ids["ann_lee"] == "ann_lee" and ids["ann lee"].startswith("ann_lee-")
    assert ids["gradebook.csv"] != "gradebook.csv" and ids["gradebook.csv.zip"] != ids["gradebook.csv"]
    assert any(r["submission"] == ".DS_Store" and "passed over" in r["note"] for r in _rows(out, "students.csv"))
    got = by_student(summary)
    for name in ("ann lee", "ann_lee", "Zoë", "José García", "gradebook.csv", "gradebook.csv.zip",
                 "finder.ZIP", "tarred.tar.gz", "linked", "conflict.zip"):
        assert {t["status"] for t in got[ids[name]].values()} == {"passed"}, name
    res = json.loads((out / ids["José García"] / "results.json").read_text())
    assert res["extra_data"]["submission"] == "José García"


def test_a_bad_submission_is_its_own_rows_naming_the_file(graded):
    summary, out = graded
    rar = by_student(summary)["notes.rar"]
    assert {t["status"] for t in rar.values()} == {"missing"}
    assert "notes.rar: not a folder or a readable archive" in rar["1.1"]["message"]
    empty = by_student(summary)["empty"]
    assert {t["status"] for t in empty.values()} == {"missing"}
    assert empty["1.1"]["message"] == "empty: holds no files to grade"
    fb = (out / "conflict" / "feedback.md").read_text()
    assert "Left out of your submission" in fb and "tiny.py/evil.txt" in fb and "longer than 255 bytes" in fb


def test_gradebook_cells_are_never_formulas_or_controls(graded):
    _, out = graded
    text = (out / "gradebook.csv").read_text(encoding="utf-8")
    assert not set(text) & set("\x00\x07\x1b\u202e")
    for row in _rows(out):
        for value in row.values():
            assert not value.lstrip(" ").startswith(FORMULA_START), row
    msg = {r["student"]: r["message"] for r in _rows(out) if r["task"] == "1.1"}
    assert msg["formula"].startswith("'=HYPERLINK(") and "=cmd|" in msg["formula"]
    assert "\\x1b[2J" in msg["controls"] and "\\u202e" in msg["controls"]
    for path in out.rglob("*"):
        if path.is_file():
            assert not set(path.read_text(encoding="utf-8")) & set("\x00\x07\x1b\u202e"), path


def test_a_message_cannot_close_the_feedback_code_block(graded):
    from markdown_it import MarkdownIt

    _, out = graded
    md = (out / "fence" / "feedback.md").read_text(encoding="utf-8")
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    headings = ["".join(c.content for c in tokens[i + 1].children)
                for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings == ["Feedback: a1_tiny (fence)", "Task 1.1: Add (error)",
                        "Task 1.2: Scaled sum (passed)", "Task 1.3: Counter (passed)"]
    assert not [t for t in tokens if t.type == "html_block"]
    strong = [c for t in tokens if t.type == "inline" for c in t.children if c.type == "strong_open"]
    assert "\n**Score: 6 / 10**\n" in md and len(strong) == 1 and FAKE.splitlines()[1] in md  # quoted, inert
    res = json.loads((out / "fence" / "results.json").read_text())
    assert res["tests"][0]["output_format"] == "text" and "<script>" in res["tests"][0]["output"]


ZIP_MEMBER = st.lists(st.text(st.characters(codec="utf-8", exclude_characters="/\0"), min_size=1, max_size=12)
                      | st.sampled_from(["..", "tiny.py", "__MACOSX", "a1_tiny"]), min_size=1, max_size=3)


@settings(max_examples=3, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(names=st.lists(st.text(min_size=1, max_size=20).filter(lambda n: "/" not in n and "\0" not in n
                                                               and n not in (".", "..") and not n.startswith(".")),
                      min_size=1, max_size=3, unique=True),
       members=st.lists(ZIP_MEMBER.map("/".join), max_size=4),
       depth=st.integers(0, 2), type_name=st.text(max_size=20), message=st.text(max_size=60))
def test_any_class_completes_with_a_gradebook_that_reads_back(tmp_path_factory, names, members, depth,
                                                             type_name, message):
    tmp = tmp_path_factory.mktemp("prop")
    subs, out = tmp / "subs", tmp / "out"
    subs.mkdir()
    wrap = "".join(f"w{i}/" for i in range(depth))
    for i, name in enumerate(names):
        if i % 2:
            with zipfile.ZipFile(subs / f"{name}.zip", "w") as z:
                z.writestr(wrap + "tiny.py", raising(type_name or "E", message))
                for m in members:
                    z.writestr(wrap + m, b"x")
        else:
            make_submission(subs, name, {"tiny.py": raising(type_name or "E", message).encode()})
    summary = grade_tiny(subs, out, workers=2)
    rows = _rows(out)
    students = {r["student"] for r in _rows(out, "students.csv") if r["student"]}
    assert len(students) == len(names) and {r["student"] for r in rows} == students
    assert len(rows) == 3 * len(names) and len(summary.results) == len(names)
    for row in rows:
        assert not any(v.lstrip(" ").startswith(FORMULA_START) for v in row.values())
