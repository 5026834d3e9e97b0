"""A whole assignment through nbgrader's own commands, typed as docs/instructors/nbgrader.md
types them, on a scratch course with a local exchange: make nbgrader-course, generate,
release, fetch and submit as students, collect, autograde, generate_feedback, export; and
make grade on the collected folder for what nbgrader does not score.

RUN holds the documented commands this test runs exactly as typed (tests/docs checks that
each is in the docs); a command is run by its text, so an edit on the page reaches the test."""
import csv
import os
import pwd
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
A1, A2 = "a1_numpy_layers", "a2_numpy_vit"
NOISE = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache"}
WARNING = re.compile(r"\[\w+App \| WARNING\] (.*)")
RUN = ("make nbgrader-course", "nbgrader generate_assignment a2_numpy_vit --force",
       "nbgrader release_assignment a2_numpy_vit", "nbgrader fetch_assignment a2_numpy_vit",
       "nbgrader submit a2_numpy_vit", "nbgrader collect a2_numpy_vit", "nbgrader autograde a2_numpy_vit",
       "nbgrader generate_feedback a2_numpy_vit", "nbgrader export")
ME = pwd.getpwuid(os.getuid())[0]          # who `nbgrader submit` hands in as


def run(course: Path, cmd: list[str], cwd: Path = ROOT) -> str:
    """One command as a user types it; stdout and stderr together."""
    env = {**os.environ, "VITLAB_NBGRADER_COURSE": str(course), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
           "MPLBACKEND": "Agg"}
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, (cmd, proc.stdout[-3000:], proc.stderr[-3000:])
    return proc.stdout + proc.stderr


def typed(course: Path, text: str, cwd: Path = ROOT, folder: str = A2, extra: tuple[str, ...] = ()) -> str:
    """A command of RUN, run as the page types it; `folder` stands in for a2_numpy_vit where the
    same command is run for another assignment, `extra` adds what only the test needs."""
    assert text in RUN, text
    words = [w.replace(A2, folder) for w in shlex.split(text)] + list(extra)
    if text.startswith("make "):
        words[1:1] = ["--no-print-directory"]
    return run(course, words, cwd)


def student_home(course: Path, home: Path) -> Path:
    """The folder a student works in, with the nbgrader_config.py the page tells them to write."""
    home.mkdir()
    (home / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.Exchange.root = {str(course / 'exchange')!r}\n"
        "c.CourseDirectory.course_id = \"vitlab\"\n", encoding="utf-8")
    return home


def files_of(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")
            if p.is_file() and not NOISE & set(p.relative_to(folder).parts)}


def complete_from_reference(course, folder: Path) -> None:
    """A student who writes the reference: every task module, every solution cell."""
    a = course.assignment(folder.name)
    for task in a.tasks:
        for rel in task.files:
            if rel.endswith(".py"):
                shutil.copyfile(a.source_dir / rel, folder / rel)
    reference = {c.metadata["nbgrader"]["grade_id"]: c.source
                 for nb in a.source_dir.glob("*.ipynb") for c in nbformat.read(nb, as_version=4).cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    for path in folder.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if cell.metadata.get("nbgrader", {}).get("solution") and gid in reference:
                cell.source = reference[gid]
        nbformat.write(nb, path)


def hidden_test_lines(course, folder: str) -> set[str]:
    """Every line of 20 characters or more inside the notebooks' hidden test regions."""
    found = set()
    for nb in course.assignment(folder).source_dir.glob("*.ipynb"):
        for cell in nbformat.read(nb, as_version=4).cells:
            for region in re.findall(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", cell.source, re.S):
                found |= {" ".join(ln.split()) for ln in region.splitlines() if len(ln.strip()) >= 20}
    return found


@pytest.mark.slow
def test_a_whole_assignment_runs_through_nbgrader(tmp_path):
    from notebook_helpers import page_text    # tests/grading's helper; imported here so tests/docs can read RUN
    from vitlab.course import load_course
    from vitlab.release.leaks import scan

    course = load_course(ROOT)
    folders = [a.folder for a in course.assignments]
    if A2 not in folders or A1 not in folders:
        pytest.skip("this course has no a1_numpy_layers or a2_numpy_vit")
    nbc = tmp_path / "course"
    typed(nbc, "make nbgrader-course")
    for folder in folders:          # the source folder is the whole student folder, so the release is too
        assert files_of(nbc / "release" / folder) == files_of(ROOT / "assignments" / folder), folder
    for folder in (A1, A2):         # nbgrader's own generate_assignment gives the same release
        typed(nbc, "nbgrader generate_assignment a2_numpy_vit --force", folder=folder)
        assert files_of(nbc / "release" / folder) == files_of(ROOT / "assignments" / folder), folder
        typed(nbc, "nbgrader release_assignment a2_numpy_vit", folder=folder)

    # ME writes the reference and hands in as themself; bob hands a2 in untouched (nbgrader's
    # --student stands in for a second account)
    homes = {name: student_home(nbc, tmp_path / name) for name in (ME, "bob")}
    for name, home in homes.items():
        for folder in (A1, A2) if name == ME else (A2,):
            typed(nbc, "nbgrader fetch_assignment a2_numpy_vit", cwd=home, folder=folder)
            assert files_of(home / folder) == files_of(ROOT / "assignments" / folder), (name, folder)
        assert not scan(course, home), [str(leak) for leak in scan(course, home)]   # no solution, no hidden test
    for folder in (A1, A2):
        complete_from_reference(course, homes[ME] / folder)
        for name, home in homes.items():
            if (home / folder).is_dir():
                typed(nbc, "nbgrader submit a2_numpy_vit", cwd=home, folder=folder,
                      extra=() if name == ME else (f"--student={name}",))
        typed(nbc, "nbgrader collect a2_numpy_vit", folder=folder)

    log = typed(nbc, "nbgrader autograde a2_numpy_vit")
    assert not WARNING.findall(log), WARNING.findall(log)      # no checksum (or other) warning
    for name in homes:          # the hidden tests ran: autograde restored them from the source
        graded = (nbc / "autograded" / name / A2 / f"{A2}.ipynb").read_text(encoding="utf-8")
        assert "### BEGIN HIDDEN TESTS" in graded, name
    assert (nbc / "autograded" / ME / A2 / "models.py").read_text() == (course.assignment(A2).source_dir
                                                                          / "models.py").read_text()
    typed(nbc, "nbgrader generate_feedback a2_numpy_vit")
    secret = hidden_test_lines(course, A2)
    assert secret
    for name in homes:
        page = " ".join(page_text(nbc / "feedback" / name / A2 / f"{A2}.html").split())
        assert not [line for line in secret if line in page], name

    stray = ROOT / "grades.csv"
    before = stray.stat().st_mtime_ns if stray.exists() else None
    typed(nbc, "nbgrader export")       # a student record: beside the gradebook, not at the kit's root
    assert (stray.stat().st_mtime_ns if stray.exists() else None) == before
    rows = {(r["assignment"], r["student_id"]): r for r in csv.DictReader((nbc / "grades.csv").open())}
    auto = sum(c.metadata["nbgrader"]["points"] for c in nbformat.read(
        course.assignment(A2).source_dir / f"{A2}.ipynb", as_version=4).cells
        if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code")
    assert float(rows[(A2, ME)]["raw_score"]) == auto           # every autograded point; the written
    assert float(rows[(A2, "bob")]["raw_score"]) == 0           # answer waits for formgrader

    grading = tmp_path / "grading"          # the .py tasks: make grade on the collected folder
    run(nbc, ["make", "--no-print-directory", "grade", "ASSIGNMENT=a1", f"SUBMISSIONS={nbc}", f"OUT={grading}"])
    totals: dict[str, float] = {}
    for r in csv.DictReader((grading / "gradebook.csv").open()):
        totals[r["student"]] = totals.get(r["student"], 0.0) + float(r["score"])
    assert totals[ME] == sum(t.points for t in course.assignment(A1).tasks) and totals.get("bob", 0.0) == 0.0
