"""The instructor's term, typed as the manual types it: every command below is read from the
docs (a command the docs no longer show fails here) and run in bash, exactly as written, in a
scratch copy of the kit (tests/docs/scratch.py) with HOME in the scratch folder, so
`~/a1-subs` is a small class of a1 submissions:

- s01: a macOS Finder zip (one folder, `.DS_Store`, `__MACOSX/` AppleDouble files), on time;
- s02: tasks 1.6 and 1.7 left as the released stubs; regraded after request #7;
- `José García`: an accented name (the id is José_García);
- s04: late by the time `make submit` wrote (two days begun: 20 %);
- doejane_1234: from a Canvas bulk download (three dragged-in files, one uploaded twice),
  late by the LMS's time in submission_times.csv (10 %);
- s06: on the roster, nothing handed in.

One ordered test walks the term (docs/instructors/term.md, lms.md, index.md, grading.md):
release, hand out, the LMS download, grade, term, regrade, similarity, report, export in every
format `make export` takes, the Gradescope zip; the other tests run the rest of the
instructors' commands that need no GPU, LMS or Gradescope server. RUN lists every command
these tests run; tests/docs/test_commands_covered.py holds every documented command to it or
to a marker. Deep tier: about five minutes on 2 busy cores.
"""
from __future__ import annotations

import csv
import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from autograder.term.export import FORMATS
from tests.docs import scratch
from tests.docs.commands import documented
from vitlab.course import load_course

pytestmark = pytest.mark.slow

RELEASE = "make release"
HAND_OUT = "cd assignments && zip -r ../a1_numpy_layers.zip a1_numpy_layers"
UNZIP = "unzip -q submissions.zip -d ~/a1-download"
LMS_SCRIPT = "python lms_to_submissions.py ~/a1-download ~/a1-subs"
GRADE = "make grade ASSIGNMENT=a1 SUBMISSIONS=~/a1-subs OUT=grading/a1"
TERM = "make term ASSIGNMENT=a1 OUT=grading/a1"
REGRADE = 'make regrade ASSIGNMENT=a1 SUBMISSIONS=~/a1-subs OUT=grading/a1 STUDENT=s02 REASON="request #7" WHO=kim'
SIMILARITY = "make similarity ASSIGNMENT=a1 SUBMISSIONS=~/a1-subs OUT=grading/a1"
REPORT = "make report ASSIGNMENT=a1 OUT=grading/a1"
EXPORT = "make export ASSIGNMENT=a1 OUT=grading/a1 FORMAT=canvas"     # its comment names the other formats
GRADESCOPE = "make gradescope ASSIGNMENT=a1"
EXAMPLES = "make grade"
GRADE_CHECK = "make grade-check ASSIGNMENT=a1"
HELP = ".venv/bin/python -m autograder grade --help"
NBGRADER_COURSE = "make nbgrader-course"

# Every documented command these tests run as typed.
RUN = (RELEASE, HAND_OUT, UNZIP, LMS_SCRIPT, GRADE, TERM, REGRADE, SIMILARITY, REPORT, EXPORT, GRADESCOPE,
       EXAMPLES, GRADE_CHECK, HELP, NBGRADER_COURSE)
SHOWN = {c.text for c in documented()}


def doc(command: str) -> str:
    """The command, as long as the manual still shows it."""
    assert command in SHOWN, f"the docs no longer show {command!r}: update RUN in {Path(__file__).name}"
    return command


class Kit:
    """The scratch kit and the instructor's shell in it."""

    def __init__(self, root: Path):
        self.root, self.path, self.home = root, scratch.copy_kit(root / "kit"), root / "home"
        self.env = scratch.shell_env(self.path, self.home)

    def run(self, command: str, ok: bool = True):
        proc = scratch.sh(doc(command), self.path, self.env)
        if ok:
            assert proc.returncode == 0, scratch.tail(proc)
        return proc


@pytest.fixture(scope="module")
def kit():
    root = scratch.scratch_root()
    try:
        k = Kit(root)
        if not scratch.setup_stamp(k.path).exists():
            pytest.skip(f"the kit's .venv is not set up for this requirements.lock ({scratch.setup_stamp(k.path).name}"
                        " missing): run make setup")
        scratch.course_files(k.path)
        yield k
    finally:
        shutil.rmtree(root, ignore_errors=True)


def rows(path: Path, key: str) -> dict[str, dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return {r[key]: r for r in csv.DictReader(f)}


def lms_script() -> str:
    """The conversion script of docs/instructors/lms.md, as an instructor saves it."""
    text = (scratch.ROOT / "docs" / "instructors" / "lms.md").read_text(encoding="utf-8")
    (script,) = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "lms_to_submissions.py" in b]
    return script


def test_the_term_by_make(kit):
    k, home, out = kit.path, kit.home, kit.path / "grading" / "a1"

    # release, and hand out a1 alone
    proc = kit.run(RELEASE)
    assert "a1_numpy_layers: 8 tasks" in proc.stdout
    proc = kit.run(HAND_OUT)
    with zipfile.ZipFile(k / "a1_numpy_layers.zip") as z:
        names = z.namelist()
        assert "a1_numpy_layers/layers.py" in names and "a1_numpy_layers/Makefile" in names
        assert all(n.startswith("a1_numpy_layers/") for n in names)
        layers = z.read("a1_numpy_layers/layers.py").decode()
    assert 'NotImplementedError("Task 1.1' in layers and "BEGIN SOLUTION" not in layers

    # the students hand in; a Canvas download joins the class through the manual's script
    scratch.write_class(k, home / "a1-subs", kit.root / "work")
    scratch.canvas_download(k, k / "submissions.zip", kit.root / "work")
    (k / "lms_to_submissions.py").write_text(lms_script(), encoding="utf-8")
    kit.run(UNZIP)
    assert len(list((home / "a1-download").iterdir())) == 3
    proc = kit.run(LMS_SCRIPT)
    assert f"5 students in {home / 'a1-subs'}" in proc.stdout
    assert sorted(p.name for p in (home / "a1-subs" / "doejane_1234").iterdir()) == ["conv.py", "gradcheck.py",
                                                                                     "layers.py"]

    # grade
    proc = kit.run(GRADE)
    assert "grade: 5 graded" in proc.stdout and "gradebook: grading/a1/gradebook.csv" in proc.stdout
    ids = rows(out / "students.csv", "student")
    assert ids["José_García"]["submission"] == scratch.ACCENTED and ids["s01"]["submission"] == "s01.zip"
    assert set(ids) == set(scratch.STUDENTS)
    with open(out / "gradebook.csv", encoding="utf-8", newline="") as f:
        book = {(r["student"], r["task"]): r for r in csv.DictReader(f)}
    assert {book["s02", t]["status"] for t in ("1.6", "1.7")} == {"not_implemented"}
    raw = {s: sum(float(r["score"]) for (who, _), r in book.items() if who == s) for s in scratch.STUDENTS}
    assert raw["s02"] == pytest.approx(raw["s01"] - 30)          # the two stubs' 20 + 10 points
    assert raw["s01"] == raw["José_García"] == raw["s04"] == raw["doejane_1234"] > 0
    assert (out / "s01" / "feedback.md").is_file() and (out / "José_García" / "results.json").is_file()

    # the final gradebook: late work, the roster, feedback to hand out
    proc = kit.run(TERM)
    assert "6 students: 5 graded, 1 missing; 2 late" in proc.stdout
    totals = rows(out / "_term" / "totals.csv", "student")
    assert (totals["s04"]["late_percent"], totals["s04"]["time_source"]) == ("20", "make submit")
    assert (totals["doejane_1234"]["late_percent"], totals["doejane_1234"]["time_source"]) == ("10",
                                                                                             "submission_times.csv")
    assert float(totals["s04"]["final_score"]) == pytest.approx(0.8 * raw["s04"], abs=1e-3)
    assert totals["s01"]["final_score"] == totals["José_García"]["final_score"]
    assert totals[scratch.MISSING]["status"] == "missing"
    assert "-20%" in (out / "_term" / "feedback" / "s04.md").read_text(encoding="utf-8")

    # request #7: s02's conv.py, handed in on time by email, is accepted; one student again
    solved = scratch.solved_folder(k, kit.root / "work" / "s02-fixed")
    shutil.copy(solved / "conv.py", home / "a1-subs" / "s02" / "conv.py")
    proc = kit.run(REGRADE)
    assert proc.stdout.startswith("regrade: s02: 2 task(s) changed"), proc.stdout
    (last,) = (out / "_term" / "history.jsonl").read_text(encoding="utf-8").splitlines()[-1:]
    record = json.loads(last)
    assert (record["student"], record["who"], record["reason"]) == ("s02", "kim", "request #7")
    assert {c["task"] for c in record["changes"]} == {"1.6", "1.7"}
    assert record["after"]["final_total"] == pytest.approx(record["before"]["final_total"] + 30)

    # copying check, report
    proc = kit.run(SIMILARITY)
    assert proc.stdout.startswith("similarity: 5 submissions")
    pairs = list(csv.DictReader(open(out / "_term" / "similarity" / "pairs.csv", encoding="utf-8", newline="")))
    flagged = {frozenset((p["student_a"], p["student_b"])) for p in pairs if p["flagged"] == "yes"}
    assert frozenset(("s01", "s04")) in flagged                   # the same solution, handed in twice
    assert (out / "_term" / "similarity" / "report.html").is_file()
    proc = kit.run(REPORT)
    page = (out / "_term" / "report.html").read_text(encoding="utf-8")
    assert "report: grading/a1/_term/report.html" in proc.stdout
    assert "data:image/png;base64," in page and not re.search(r"""(src|href)=["']https?:""", page)

    # the LMS import file, in every format make export takes (the command's comment names them)
    shown = next(c for c in documented() if c.text == EXPORT)
    line = (scratch.ROOT / shown.file).read_text(encoding="utf-8").splitlines()[shown.line - 1]
    assert all(fmt in line for fmt in FORMATS), f"{shown.file}:{shown.line} does not name every format {FORMATS}"
    totals = rows(out / "_term" / "totals.csv", "student")
    assert float(totals["s02"]["final_score"]) == pytest.approx(record["after"]["final_total"])
    title = load_course(k).assignment("a1").title
    where = {"canvas": ("ID", "lms_id", "Assignment 1 (1234)"), "moodle": ("Email address", "email", title),
             "csv": ("student", "student", "final_score")}
    for fmt in FORMATS:
        proc = scratch.sh(doc(EXPORT).replace("FORMAT=canvas", f"FORMAT={fmt}"), k, kit.env)
        assert proc.returncode == 0, scratch.tail(proc)
        assert f"export: {fmt}: grading/a1/_term/export-{fmt}.csv" in proc.stdout
        assert f"no submission, exported as 0: {scratch.MISSING}" in proc.stderr
        key, field, column = where[fmt]
        exported = rows(out / "_term" / f"export-{fmt}.csv", key)
        assert len(exported) == len(totals) == 6
        for sid, t in totals.items():                    # every row is the student's final score
            assert float(exported[t[field]][column]) == pytest.approx(float(t["final_score"]), abs=1e-3), (fmt, sid)

    # the Gradescope autograder
    proc = kit.run(GRADESCOPE)
    zip_path = k / "build" / "gradescope" / "a1_numpy_layers" / "autograder.zip"
    assert f"gradescope: wrote {zip_path}" in proc.stdout
    with zipfile.ZipFile(zip_path) as z:
        assert {"setup.sh", "run_autograder", "requirements.txt"} <= set(z.namelist())


def test_plain_make_grade_grades_the_examples(kit):
    proc = kit.run(EXAMPLES)
    page = (scratch.ROOT / "docs" / "instructors" / "grading.md").read_text(encoding="utf-8")
    first = "grade: 5 example submissions of a1_numpy_layers rebuilt in build/examples/a1_numpy_layers"
    assert first in page and first in proc.stdout, proc.stdout[-2000:]
    book = rows(kit.path / "grading" / "examples" / "students.csv", "student")
    assert set(book) == {"forger", "half_done", "reference", "syntax_error", "untouched"}
    assert "gradebook: grading/examples/gradebook.csv" in proc.stdout


def test_grade_check_and_the_options(kit):
    proc = kit.run(GRADE_CHECK)                          # exit 0: the reference full marks, the release zero
    assert "check a1_numpy_layers" in proc.stdout
    proc = kit.run(HELP)
    assert all(opt in proc.stdout for opt in ("--force", "--unsafe-no-sandbox", "-j"))


def test_nbgrader_course(kit):
    proc = kit.run(NBGRADER_COURSE)
    course = kit.path / "build" / "nbgrader"
    assert (course / "gradebook.db").is_file() and "nbgrader_config.py points there" in proc.stdout
    assert (course / "source" / "a2_numpy_vit" / "a2_numpy_vit.ipynb").is_file()
    assert (course / "release" / "a2_numpy_vit" / "a2_numpy_vit.ipynb").is_file()
