"""A whole assignment through nbgrader's own commands, typed as docs/instructors/nbgrader.md
types them, on a scratch course with a local exchange: make nbgrader-course, generate,
release, fetch and submit as students, collect, autograde, generate_feedback, export; and
make grade on the collected folder for what nbgrader does not score."""
import csv
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from notebook_helpers import page_text

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
A1, A2 = "a1_numpy_layers", "a2_numpy_vit"
NOISE = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache"}
WARNING = re.compile(r"\[\w+App \| WARNING\] (.*)")


def run(course: Path, cmd: list[str], cwd: Path = ROOT, student: bool = False) -> str:
    """One command as a user types it; stdout and stderr together."""
    env = {**os.environ, "VITLAB_NBGRADER_COURSE": str(course), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
           "MPLBACKEND": "Agg"}
    env.pop("PYTHONPATH", None)
    if student:     # a student's own nbgrader: the course's exchange, nothing of the kit's config
        cmd = cmd + [f"--Exchange.root={course / 'exchange'}", "--CourseDirectory.course_id=vitlab"]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, (cmd, proc.stdout[-3000:], proc.stderr[-3000:])
    return proc.stdout + proc.stderr


def nbgrader(course: Path, *args: str, cwd: Path = ROOT, student: bool = False) -> str:
    return run(course, [str(BIN / "nbgrader"), *args], cwd, student)


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
    from vitlab.course import load_course
    from vitlab.release.leaks import scan

    course = load_course(ROOT)
    folders = [a.folder for a in course.assignments]
    if A2 not in folders or A1 not in folders:
        pytest.skip("this course has no a1_numpy_layers or a2_numpy_vit")
    nbc = tmp_path / "course"
    run(nbc, ["make", "--no-print-directory", "nbgrader-course"])
    for folder in folders:          # the source folder is the whole student folder, so the release is too
        assert files_of(nbc / "release" / folder) == files_of(ROOT / "assignments" / folder), folder
    for folder in (A1, A2):         # nbgrader's own generate_assignment gives the same release
        nbgrader(nbc, "generate_assignment", folder, "--force")
        assert files_of(nbc / "release" / folder) == files_of(ROOT / "assignments" / folder), folder
        nbgrader(nbc, "release_assignment", folder)

    homes = {name: tmp_path / name for name in ("ada", "bob")}
    for name, home in homes.items():
        home.mkdir()
        for folder in (A1, A2) if name == "ada" else (A2,):
            nbgrader(nbc, "fetch_assignment", folder, cwd=home, student=True)
            assert files_of(home / folder) == files_of(ROOT / "assignments" / folder), (name, folder)
        assert not scan(course, home), [str(leak) for leak in scan(course, home)]   # no solution, no hidden test
    for folder in (A1, A2):
        complete_from_reference(course, homes["ada"] / folder)
        for name, home in homes.items():        # bob hands a2 in untouched
            if (home / folder).is_dir():
                nbgrader(nbc, "submit", folder, f"--student={name}", cwd=home, student=True)
        nbgrader(nbc, "collect", folder)

    log = nbgrader(nbc, "autograde", A2)
    assert not WARNING.findall(log), WARNING.findall(log)      # no checksum (or other) warning
    for name in homes:          # the hidden tests ran: autograde restored them from the source
        graded = (nbc / "autograded" / name / A2 / f"{A2}.ipynb").read_text(encoding="utf-8")
        assert "### BEGIN HIDDEN TESTS" in graded, name
    assert (nbc / "autograded" / "ada" / A2 / "models.py").read_text() == (course.assignment(A2).source_dir
                                                                           / "models.py").read_text()
    nbgrader(nbc, "generate_feedback", A2)
    secret = hidden_test_lines(course, A2)
    assert secret
    for name in homes:
        page = " ".join(page_text(nbc / "feedback" / name / A2 / f"{A2}.html").split())
        assert not [line for line in secret if line in page], name

    out = tmp_path / "grades.csv"
    nbgrader(nbc, "export", "--to", str(out))
    rows = {(r["assignment"], r["student_id"]): r for r in csv.DictReader(out.open())}
    auto = sum(c.metadata["nbgrader"]["points"] for c in nbformat.read(
        course.assignment(A2).source_dir / f"{A2}.ipynb", as_version=4).cells
        if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code")
    assert float(rows[(A2, "ada")]["raw_score"]) == auto         # every autograded point; the written
    assert float(rows[(A2, "bob")]["raw_score"]) == 0            # answer waits for formgrader

    grading = tmp_path / "grading"          # the .py tasks: make grade on the collected folder
    run(nbc, ["make", "--no-print-directory", "grade", "ASSIGNMENT=a1", f"SUBMISSIONS={nbc}", f"OUT={grading}"])
    totals: dict[str, float] = {}
    for r in csv.DictReader((grading / "gradebook.csv").open()):
        totals[r["student"]] = totals.get(r["student"], 0.0) + float(r["score"])
    assert totals["ada"] == sum(t.points for t in course.assignment(A1).tasks) and totals.get("bob", 0.0) == 0.0
