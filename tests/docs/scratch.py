"""A scratch copy of the kit for running the manual's commands as typed, and a small class
of a1 submissions to run them on.

The copy lives under the kit's build/ (the grading sandbox mounts a fresh /tmp, which would
hide a course and its .venv there), holds the working tree's files (not the instructor's
student records, outputs, data or caches) and a `.venv` that links to the one running the
tests, set up already, so `make` installs nothing. Commands run in bash with the
copy as the working directory and HOME in the scratch folder, so `~/a1-subs` is the
scratch class; the venv's bin/ leads PATH, as in a shell where it is activated.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Never copied: what is not the kit's source (environments, outputs, data, caches) and the
# instructor's records of students.
SKIP_TOP = {".git", ".venv", "build", "grading", "runs", ".carry", ".whl", "site", "roster.csv", "extensions.csv",
            "overrides.csv", "submission_times.csv", "grades.csv", "gradebook.db", "lms_to_submissions.py",
            "submissions.zip", "a1_numpy_layers.zip"}
SKIP_PATHS = {"datasets/data", "datasets/mirror", "bench/results"}
SKIP_NAMES = {"__pycache__", ".pytest_cache", ".hypothesis", ".ipynb_checkpoints", ".venv", ".mypy_cache",
              ".ruff_cache", "runs", "checkpoints", "submission.zip", "nbgrader-courses"}
# make reads the environment as variables: none that a documented command sets may come from it
MAKE_VARS = ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "ASSIGNMENT", "SUBMISSIONS", "OUT", "FORMAT", "DEST", "STUDENT",
             "REASON", "WHO", "FORCE", "WORKERS", "TASK", "CONFIG", "NAME", "ARGS", "OPTS", "NO_INPUT", "AREA",
             "JOBS", "DATASET", "MIRROR", "KIND", "MARGIN", "DRY", "ALLOW_OPEN_GIVEN", "UNSAFE_NO_SANDBOX")


def scratch_root() -> Path:
    root = ROOT / "build" / "docs-tests" / uuid.uuid4().hex[:8]
    root.mkdir(parents=True)
    return root


def _ignore(src: str, names: list[str]) -> set[str]:
    rel = Path(src).relative_to(ROOT).as_posix()
    skipped = {n for n in names if n in SKIP_NAMES or (rel == "." and n in SKIP_TOP)
               or (f"{n}" if rel == "." else f"{rel}/{n}") in SKIP_PATHS}
    return skipped | {n for n in names if n.endswith((".pyc", ".tmp"))}


def copy_kit(dest: Path) -> Path:
    """The kit's working tree at `dest`, its `.venv` a link to the kit's (as `make new-course
    SHARE_VENV=1` makes one: the grading sandbox binds the venv's real folders)."""
    shutil.copytree(ROOT, dest, symlinks=True, ignore=_ignore)
    (dest / ".venv").symlink_to(Path(sys.prefix).resolve(), target_is_directory=True)
    return dest


def setup_stamp(kit: Path) -> Path:
    """The stamp `make` checks before every target (Makefile's STAMP): when the kit's venv
    lacks it, every documented command would first run `make setup`."""
    digest = hashlib.sha256((kit / "requirements.lock").read_bytes()).hexdigest()[:16]
    return kit / ".venv" / f".stamp-{digest}"


def shell_env(kit: Path, home: Path) -> dict[str, str]:
    """An instructor's shell: HOME in the scratch folder, the kit's venv activated, nothing of
    pytest's, make's or the test run's own variables."""
    env = {k: v for k, v in os.environ.items()
           if k not in MAKE_VARS and k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith(("PYTEST_", "COV_"))}
    home.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), VIRTUAL_ENV=str(kit / ".venv"), MPLBACKEND="Agg", OMP_NUM_THREADS="1",
               PATH=os.pathsep.join([str(kit / ".venv" / "bin"), env.get("PATH", "")]))
    return env


def sh(command: str, cwd: Path, env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess:
    """`command` typed into bash at `cwd`."""
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def tail(proc: subprocess.CompletedProcess, n: int = 3000) -> str:
    return f"{proc.args[-1]!r}: exit {proc.returncode}\n--- stdout\n{proc.stdout[-n:]}\n--- stderr\n{proc.stderr[-n:]}"


# --- the class ---------------------------------------------------------------------------

DUE, NO_CREDIT = "2025-10-09T23:59:00Z", "2025-10-16T23:59:00Z"
TERM_TOML = f"""
# the term of the docs' tests (tests/docs/scratch.py)
[gradebook]
similarity_threshold = 0.5

[gradebook.late]
grace_minutes = 15
percent_per_day = 10
max_percent = 30

[gradebook.deadlines.a1_numpy_layers]
due = {DUE}
no_credit_after = {NO_CREDIT}
canvas_column = "Assignment 1 (1234)"
"""
ON_TIME = "2025-10-09T21:14:03Z\n"
LATE = "2025-10-11T10:00:00Z\n"          # 1 day 10 h late: two days begun, 20 %
ACCENTED = "José García"                  # grading makes the id José_García
CANVAS_LATE_AT = "2025-10-10T12:00:00Z"   # the LMS's time for the Canvas student: 10 %
ROSTER = ("student,name,email,lms_id,sis_id,login,section\n"
          "s01,\"One, Sam\",s01@uni.example,1001,U01,s01,A\n"
          "s02,\"Two, Kim\",s02@uni.example,1002,U02,s02,A\n"
          "José_García,\"García, José\",jose@uni.example,1003,U03,jgarcia,B\n"
          "s04,\"Four, Ada\",s04@uni.example,1004,U04,s04,B\n"
          "doejane_1234,\"Doe, Jane\",jane@uni.example,1234,U05,jdoe,A\n"
          "s06,\"Six, Bo\",s06@uni.example,1006,U06,s06,B\n")      # s06 hands in nothing
STUDENTS = ("s01", "s02", "José_García", "s04", "doejane_1234")
MISSING = "s06"


def course_files(kit: Path) -> None:
    """Deadlines and the late policy in course.toml; the roster and the LMS's submission
    times beside it, as docs/instructors/term.md describes them."""
    with open(kit / "course.toml", "a", encoding="utf-8") as f:
        f.write(TERM_TOML)
    (kit / "roster.csv").write_text(ROSTER, encoding="utf-8")
    (kit / "submission_times.csv").write_text(f"student,submitted_at\ndoejane_1234,{CANVAS_LATE_AT}\n",
                                              encoding="utf-8")


def solved_folder(kit: Path, dest: Path, stub_tasks: set[str] = frozenset()) -> Path:
    """A student's a1 folder: the handed-out release with every task solved but `stub_tasks`."""
    from autograder.engine.examples import write_base
    from vitlab.course import load_course

    write_base(load_course(kit).assignment("a1"), dest, "reference", set(stub_tasks))
    return dest


def _macos_zip(folder: Path, zip_path: Path) -> None:
    """The folder zipped by macOS's Finder: inside one folder, with .DS_Store and __MACOSX/
    AppleDouble files beside it."""
    top = "a1_numpy_layers"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                rel = p.relative_to(folder).as_posix()
                z.write(p, f"{top}/{rel}")
                z.writestr(f"__MACOSX/{top}/._{rel}", b"\x00\x05\x16\x07Mac OS X        ")
        z.writestr(f"{top}/.DS_Store", b"\x00\x00\x00\x01Bud1")
        z.writestr(f"__MACOSX/._{top}", b"\x00\x05\x16\x07")
    shutil.rmtree(folder)


# s01's own helper in layers.py, which s04 hands in too: the one passage the class does not share
OWN_HELPER = '''

def describe_arrays(arrays, names):
    """Each array's shape, dtype and largest magnitude, one line each, then a total."""
    lines = []
    for array, name in zip(arrays, names):
        biggest = float(abs(array).max()) if array.size else 0.0
        lines.append(f"{name}: shape {array.shape}, dtype {array.dtype}, max |x| {biggest:.3g}")
    total = sum(array.size for array in arrays)
    lines.append(f"{len(arrays)} arrays, {total} entries in all")
    return "\\n".join(lines)
'''


def _with_helper(folder: Path) -> Path:
    with open(folder / "layers.py", "a", encoding="utf-8") as f:
        f.write(OWN_HELPER)
    return folder


def write_class(kit: Path, subs: Path, work: Path) -> None:
    """~/a1-subs as handed in: s01 a macOS zip, s02 with two tasks (1.6, 1.7) left as stubs,
    an accented name, s04 late by its make-submit time file and with s01's own helper."""
    subs.mkdir(parents=True)
    _with_helper(solved_folder(kit, work / "s01"))
    (work / "s01" / "submitted_at.txt").write_text(ON_TIME, encoding="utf-8")
    _macos_zip(work / "s01", subs / "s01.zip")
    (solved_folder(kit, subs / "s02", {"1.6", "1.7"}) / "submitted_at.txt").write_text(ON_TIME, encoding="utf-8")
    (solved_folder(kit, subs / ACCENTED) / "submitted_at.txt").write_text(ON_TIME, encoding="utf-8")
    (_with_helper(solved_folder(kit, subs / "s04")) / "submitted_at.txt").write_text(LATE, encoding="utf-8")


def canvas_download(kit: Path, zip_path: Path, work: Path) -> None:
    """Canvas's bulk download (docs/instructors/lms.md): one student, late, who dragged in her
    three files, gradcheck.py twice (Canvas renames the second gradcheck-1.py)."""
    folder = solved_folder(kit, work / "jane")
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, saved in (("layers.py", "layers.py"), ("conv.py", "conv.py"), ("gradcheck.py", "gradcheck-1.py")):
            z.write(folder / name, f"doejane_LATE_1234_5678_{saved}")
