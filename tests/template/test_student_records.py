"""The instructor's student records in the kit (the term's CSV files, nbgrader's grades) stay
out of a baked course, and the course's .gitignore keeps them out of its first `git add .`."""
import hashlib
import shutil
import sys
from pathlib import Path

from .conftest import KIT, make, ok, run

RECORDS = ("roster.csv", "extensions.csv", "overrides.csv", "submission_times.csv", "grades.csv", "gradebook.db")
NOT_COPIED = {".git", ".venv", "build", "grading", "runs", "checkpoints", "__pycache__", ".pytest_cache", ".hypothesis"}


def _kit_copy(dest: Path) -> Path:
    """The kit as an instructor's checkout holding records, with a .venv of links to the one
    running the tests and its own set-up stamp (nothing is installed)."""
    def ignore(folder, names):
        rel = Path(folder).relative_to(KIT).as_posix()
        return [n for n in names if n in NOT_COPIED or f"{rel}/{n}" in ("datasets/data", "datasets/mirror")]

    shutil.copytree(KIT, dest, ignore=ignore, symlinks=True)
    (dest / ".venv").mkdir()
    for name in ("bin", "lib", "lib64", "include", "pyvenv.cfg"):
        if (Path(sys.prefix) / name).exists():
            (dest / ".venv" / name).symlink_to(Path(sys.prefix) / name)
    digest = hashlib.sha256((dest / "requirements.lock").read_bytes()).hexdigest()[:16]
    (dest / ".venv" / f".stamp-{digest}").touch()
    for name in RECORDS:
        (dest / name).write_text("student,name\nJosé_García,\"García, José\"\n", encoding="utf-8")
    return dest


def test_student_records_are_not_baked_and_never_committed(tmp_path):
    kit = _kit_copy(tmp_path / "kit")
    (tmp_path / "courses").mkdir()
    out = ok(make(kit, "new-course", "NO_INPUT=1", f"DEST={tmp_path / 'courses'}", "SHARE_VENV=1",
                  "OPTS=course_id=records assignments=a1 gpu=no dataset=mnist"))
    course = tmp_path / "courses" / "records"
    assert not [n for n in RECORDS if (course / n).exists()]
    assert "not copied (student records): extensions.csv, grades.csv, overrides.csv, roster.csv" in out, out
    ignored = (course / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert all(f"/{n}" in ignored or n in ignored for n in RECORDS)
    for name in RECORDS:                    # the instructor brings the roster over, then commits
        shutil.copy(kit / name, course / name)
    ok(run(["git", "init", "-q"], course))
    ok(run(["git", "add", "."], course))
    staged = ok(run(["git", "ls-files"], course)).splitlines()
    assert "course.toml" in staged and not set(RECORDS) & set(staged)
