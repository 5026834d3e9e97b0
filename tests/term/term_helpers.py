"""A simulated term: the tiny fixture course with deadlines, a roster of 30, extensions,
overrides, submission times from every source, a planted copy, and results for 26 of the
students synthesised (the other 4 are graded for real by `make grade`'s engine)."""
from __future__ import annotations

import ast
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

from near_copy import disguise
from vitlab.release.fences import render

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "grading" / "fixtures" / "course"
SIMILAR = Path(__file__).resolve().parent / "fixtures" / "similarity"
TINY = FIXTURE / "solutions" / "a1_tiny" / "tiny.py"
N = 30
REAL = ("s01", "s02", "s03", "s04")      # graded for real
MISSING = ("s28", "s29", "s30")          # on the roster, nothing submitted
COPY = ("s09", "s10")                    # s10 hands in a disguised copy of s09's work

TERM_TOML = """
[gradebook]
similarity_threshold = 0.5

[gradebook.late]
grace_minutes = 15
percent_per_day = 10
max_percent = 30

[gradebook.deadlines.a1_tiny]
due = 2026-10-09T23:59:00Z
no_credit_after = 2026-10-16T23:59:00Z
canvas_column = "Tiny assignment (4242)"
"""
# student -> (file, content): how each of the real four recorded its submission time
REAL_TIMES = {
    "s01": ("submitted_at.txt", "2026-10-09T20:00:00Z\n"),     # on time, in a zip as make submit writes it
    "s02": ("timestamp.txt", "2026-10-10 00:10:00.000000 UTC\n"),                             # grace
    "s03": ("submission_metadata.json", json.dumps({"created_at": "2026-10-11T10:00:00-07:00"})),  # 2 days
    "s04": ("submitted_at.txt", "2026-10-13T00:05:00Z\n"),                                    # extension
}
SYNTH_TIMES = {"s06": "2026-10-14T23:00:00Z",   # 5 days: 50 % capped at 30 %
               "s11": "2026-10-20T09:00:00Z",   # claims a time after grading collected it: unused
               "s07": "2026-10-18T09:00:00Z",   # after the last date for credit
               "s08": "2026-10-12T12:00:00Z"}   # late by its file, on time by submission_times.csv
EXTENSIONS = "student,assignment,due,days,reason\ns04,a1_tiny,2026-10-12T23:59:00Z,,medical note\ns05,a1,,3,family emergency\n"
OVERRIDES = ("student,task,score,adjustment,reason,who\n"
             "s01,1.3,,-1,shared code for task 1.3 (admitted),prof. lee\n"
             "s02,1.2,3,,grader rejected a correct float64 answer,ta kim\n")
TIMES_CSV = "student,submitted_at\ns08,2026-10-09T22:00:00Z\n"


def roster_csv() -> str:
    lines = ["student,name,email,lms_id,sis_id,login,section"]
    for i in range(1, N + 1):
        lines.append(f"s{i:02d},\"Last{i}, First{i}\",s{i:02d}@uni.example,{1000 + i},U{i:05d},s{i:02d},"
                     f"{'A' if i % 2 else 'B'}")
    return "\n".join(lines) + "\n"


def make_course(tmp: Path) -> Path:
    course = tmp / "course"
    shutil.copytree(FIXTURE, course)
    with open(course / "course.toml", "a", encoding="utf-8") as f:
        f.write(TERM_TOML)
    (course / "roster.csv").write_text(roster_csv(), encoding="utf-8")
    (course / "extensions.csv").write_text(EXTENSIONS, encoding="utf-8")
    (course / "overrides.csv").write_text(OVERRIDES, encoding="utf-8")
    (course / "submission_times.csv").write_text(TIMES_CSV, encoding="utf-8")
    released = course / "assignments" / "a1_tiny"
    released.mkdir(parents=True)
    (released / "tiny.py").write_text(render(TINY.read_text(), "tiny.py", stub_tasks=None), encoding="utf-8")
    return course


def _plan(n: int) -> list[frozenset]:
    """Per student, one (function, author) pick of the 35, no two students alike: their
    own extra code, written independently."""
    items = [(j, k) for j in range(7) for k in range(1, 6)]
    random.Random(5).shuffle(items)
    return [frozenset([items[i]]) for i in range(n)]


PLAN = _plan(N + 1)


def _helpers(i: int) -> str:
    """The student's own extra code, from the independent authors of the similarity
    fixture, docstrings dropped (they are that fixture's stub, not this course's)."""
    out = []
    for j, k in sorted(PLAN[i]):
        tree = ast.parse((SIMILAR / f"author{k}.py").read_text())
        fn = [n for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")][j]
        if isinstance(fn.body[0], ast.Expr) and isinstance(getattr(fn.body[0], "value", None), ast.Constant):
            fn.body = fn.body[1:]
        out.append(ast.unparse(fn))
    return "\n\n\n".join(out) + "\n"


def tiny_code(sid: str, stub_tasks=frozenset()) -> str:
    i = int(sid[1:]) if sid[1:].isdigit() else 0
    return render(TINY.read_text(), "tiny.py", stub_tasks=set(stub_tasks)) + "\n\n" + _helpers(i)


def make_submissions(tmp: Path) -> Path:
    subs = tmp / "subs"
    ids = [f"s{i:02d}" for i in range(1, N + 1) if f"s{i:02d}" not in MISSING] + ["visitor"]
    stubs = {"s02": {"1.2", "1.3"}, "s03": {"1.1", "1.2", "1.3"}}
    for sid in ids:
        d = subs / sid
        d.mkdir(parents=True)
        (d / "tiny.py").write_text(tiny_code(sid, stubs.get(sid, ())), encoding="utf-8")
        if sid in REAL_TIMES:
            name, text = REAL_TIMES[sid]
            (d / name).write_text(text, encoding="utf-8")
    (subs / COPY[1] / "tiny.py").write_text(disguise((subs / COPY[0] / "tiny.py").read_text(), 7), encoding="utf-8")
    _as_handin_zip(subs / "s01")
    return subs


def _as_handin_zip(folder: Path) -> None:
    """The folder as `make submit` hands it in: submission files and submitted_at.txt at the top."""
    import zipfile
    with zipfile.ZipFile(folder.with_suffix(".zip"), "w") as z:
        for p in sorted(folder.iterdir()):
            z.write(p, p.name)
    shutil.rmtree(folder)


STATUSES = (("passed", 1.0), ("partial", 0.5), ("failed", 0.0), ("not_implemented", 0.0))
FAILS = {"1.1": ("add(a, b): values differ from the expected ones at 3 of 12 places", "mind the broadcasting"),
         "1.2": ("scale_sum(a, b, 2.5): values differ", "scale the sum, not one operand"),
         "1.3": ("count after bump(2), bump(3): got 3, expected 5", "keep the count between calls")}


def synthesise(out: Path, assignment, ids: list[str]) -> None:
    """results.json, feedback.md, submitted.json and timing.json as grading writes them."""
    from autograder.engine import report
    from vitlab.io import atomic_write_json

    rng = random.Random(19)
    for sid in ids:
        tasks = []
        for t in assignment.tasks:
            status, frac = rng.choices(STATUSES, weights=(6, 2, 2, 1))[0]
            msg, hint = FAILS[t.id] if status in ("partial", "failed") else ("", None)
            if status == "not_implemented":
                msg = f"not implemented yet: Task {t.id}"
            tasks.append({"task": t.id, "title": t.title, "max_score": t.points, "score": t.points * frac,
                          "status": status, "message": msg, "hint": hint, "passed": int(frac * 4), "total": 4,
                          "output": "", "output_bytes": 0, "tests": []})
        meta = {"content_hash": "synthetic", "grader_hash": "synthetic", "complete": True, "sandbox": "bubblewrap",
                "sandbox_problem": None, "submission": sid, "left_out": []}
        res = report.results_json(sid, assignment.folder, tasks, meta)
        report.write_student(out, sid, res, report.feedback_md(sid, assignment.folder, tasks, True), "synthetic\n", {})
        when = SYNTH_TIMES.get(sid, f"2026-10-0{rng.randint(5, 9)}T1{rng.randint(0, 9)}:00:00Z")
        atomic_write_json(out / sid / "submitted.json", {"submitted_at": when, "source": "make submit", "problem": None,
                                                         "collected_by": "2026-10-19T08:00:00Z"})
        atomic_write_json(out / sid / "timing.json", {t.id: round(rng.uniform(0.05, 0.6), 3) for t in assignment.tasks})


def runnable(course: Path) -> Path:
    """The course as an instructor's checkout that `make` runs in: the kit's Makefile, mk/
    and tooling copied in (the term's commands take the course they live in), and a .venv of
    links to the one running the tests, with its own set-up stamp so nothing is installed."""
    for d in ("mk", "autograder", "vitlab"):
        shutil.copytree(ROOT / d, course / d, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    for f in ("Makefile", "requirements.lock"):
        shutil.copy(ROOT / f, course / f)
    venv = course / ".venv"
    venv.mkdir()
    for name in ("bin", "lib", "lib64", "include", "pyvenv.cfg"):
        if (Path(sys.prefix) / name).exists():
            (venv / name).symlink_to(Path(sys.prefix) / name)
    digest = hashlib.sha256((course / "requirements.lock").read_bytes()).hexdigest()[:16]
    (venv / f".stamp-{digest}").touch()
    return course


# make reads the environment as variables: none of the ones a test passes may come from it
MAKE_ENV_DROP = ("PYTHONPATH", "MAKEFLAGS", "MAKELEVEL", "MFLAGS", "PYTEST_ADDOPTS", "ASSIGNMENT", "FORMAT", "OUT",
                 "DEST", "SUBMISSIONS")


def make(course: Path, *args: str) -> subprocess.CompletedProcess:
    """`make <args>` typed in the course folder."""
    env = {k: v for k, v in os.environ.items() if k not in MAKE_ENV_DROP}
    return subprocess.run(["make", "--no-print-directory", *args], cwd=course, env=env, capture_output=True,
                          text=True, timeout=300)


def graded(course: Path, subs: Path, ids: list[str]) -> Path:
    """Results for `ids` where plain `make grade` puts them (grading/<folder>/), as grading
    writes them, and students.csv naming each id's entry in `subs`."""
    from autograder.engine.submissions import student_name
    from vitlab.course import load_course

    a = load_course(course).assignment("a1")
    out = course / "grading" / a.folder
    synthesise(out, a, ids)
    names = {student_name(p.name.removesuffix(".zip")): p.name for p in subs.iterdir()}
    (out / "students.csv").write_text("student,submission,note\n" + "".join(f"{s},{names.get(s, s)},\n" for s in ids),
                                      encoding="utf-8")
    return out


def graded_course(tmp: Path) -> Path:
    """The simulated term's course, runnable by make, every submission on the roster graded
    where plain `make grade` puts it (the visitor left out)."""
    course = runnable(make_course(tmp))
    subs = make_submissions(tmp)
    shutil.rmtree(subs / "visitor")
    graded(course, subs, sorted(p.name.removesuffix(".zip") for p in subs.iterdir()))
    return course


def csv_rows(path: Path, key: str) -> dict[str, dict]:
    import csv
    with open(path, encoding="utf-8", newline="") as f:
        return {r[key]: r for r in csv.DictReader(f)}


def totals(course: Path) -> dict[str, dict]:
    return csv_rows(course / "grading" / "a1_tiny" / "_term" / "totals.csv", "student")
