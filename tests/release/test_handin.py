"""`make submit` (handin.py, shipped in every folder): warnings on what scores zero, a zip in
the layout the grader accepts, and the real engine grading the zips it builds."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.engine.inside import staging
from tests.release.student_copies import ROOT, student_copy
from vitlab.course import load_course
from vitlab.release import handin

A1_POINTS = {"1.1": 10, "1.2": 10, "1.4": 15}


def _env() -> dict:
    """The student's shell: this Python first on PATH, nothing of the kit's PYTHONPATH."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    return env


def _submit(folder: Path, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "handin.py", *flags], cwd=folder, env=_env(), capture_output=True,
                          text=True, timeout=600)


def test_limits_are_the_graders():
    assert (handin.MAX_FILE, handin.MAX_TOTAL, handin.MAX_FILES) == (staging.MAX_FILE, staging.MAX_TOTAL, staging.MAX_FILES)


def test_every_released_folder_ships_the_same_handin():
    source = (ROOT / "vitlab" / "release" / "handin.py").read_bytes()
    folders = [p for p in (ROOT / "assignments").iterdir() if (p / "assignment.toml").is_file()]
    assert folders
    for folder in folders:
        assert (folder / "handin.py").read_bytes() == source, folder.name
        assert "\nsubmit:" in (folder / "Makefile").read_text() and "handin.py" in (folder / "Makefile").read_text()


def test_warnings_name_stubs_missing_checkpoints_and_oversized_files(tmp_path):
    a4 = student_copy(tmp_path / "a4", "a4", done=None)
    proc = _submit(a4, "--skip-tests", "--skip-notebooks")
    assert proc.returncode == 0, proc.stderr
    course = load_course(ROOT)                          # the kit: Task 4.1 (15 points), vit_mnist
    name, spec = next(iter(course.settings["capstone"]["checkpoints"].items()))
    task = course.assignment("a4").task(str(spec["task"]))
    assert f"Task {task.id} ({task.points:g} points): checkpoints/{name}/checkpoint.safetensors is missing" \
        in proc.stdout
    a1 = student_copy(tmp_path / "a1", "a1", done=set(A1_POINTS))
    big = a1 / "notes" / "big.bin"
    big.parent.mkdir()
    with open(big, "wb") as f:          # sparse: the size counts, not the disk
        f.truncate(staging.MAX_FILE + 1)
    (a1 / ".venv" / "lib").mkdir(parents=True)
    (a1 / ".venv" / "lib" / "x.py").write_text("x = 1\n")
    proc = _submit(a1, "--skip-tests", "--skip-notebooks")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for task in ("1.3", "1.5", "1.6", "1.7", "1.8"):
        assert f"WARNING: Task {task} (" in out and "still raises NotImplementedError" in out
    for task in A1_POINTS:
        assert f"Task {task} (" not in out
    assert "notes/big.bin: 64.0 MB is over the grader's 64 MB limit" in out
    names = zipfile.ZipFile(a1 / "submission.zip").namelist()
    assert "layers.py" in names and "assignment.toml" in names     # the folder's files at the top
    assert not any(n.startswith((".venv", "notes/big")) or "__pycache__" in n for n in names)
    stamp = zipfile.ZipFile(a1 / "submission.zip").read("submitted_at.txt").decode()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n", stamp)


@pytest.mark.slow
def test_the_zips_it_builds_are_graded_by_the_engine(tmp_path):
    """The reference and a half-done copy (1.1, 1.2, 1.4 done), each packed by `make submit`
    (public tests and the notebook included), graded as zips and as Gradescope unpacks them."""
    from autograder.engine.grade import grade_all

    ref = student_copy(tmp_path / "ref", "a1", done=None)
    half = student_copy(tmp_path / "half", "a1", done=set(A1_POINTS))
    env = _env()
    proc = subprocess.run(["make", "-s", "submit"], cwd=ref, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no warnings" in proc.stdout, proc.stdout[-3000:]
    proc = subprocess.run(["make", "-s", "submit"], cwd=half, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "some public tests fail" in proc.stdout and "Task 1.8 (10 points): still raises" in proc.stdout
    subs = tmp_path / "subs"
    subs.mkdir()
    (ref / "submission.zip").rename(subs / "ref.zip")
    (half / "submission.zip").rename(subs / "half.zip")
    with zipfile.ZipFile(subs / "half.zip") as z:   # Gradescope unpacks the upload into a folder
        z.extractall(subs / "half_gradescope")
    summary = grade_all("a1", subs, tmp_path / "out", workers=2)
    scores = {r["extra_data"]["student"]: {t["task"]: t["score"] for t in r["extra_data"]["tasks"]}
              for r in summary.results}
    assert set(scores) == {"ref", "half", "half_gradescope"}
    assert all(s > 0 for s in scores["ref"].values()), scores["ref"]
    assert sum(scores["ref"].values()) == 100, scores["ref"]
    for student in ("half", "half_gradescope"):
        assert {t: s for t, s in scores[student].items() if s} == A1_POINTS, scores[student]


def test_the_shipped_script_passes_every_static_scan_of_the_graders(tmp_path):
    """handin.py travels in every submission.zip: no grader's scan may count it against a task
    (a3's ban scans every .py file, and a finding in a file no task owns costs every task)."""
    from autograder.engine.scan import autograd_imports, sourceless

    script = ROOT / "vitlab" / "release" / "handin.py"
    if "a3_torch_vit" in {a.folder for a in load_course(ROOT).assignments}:   # a course may have no a3
        sys.path.insert(0, str(ROOT / "autograder" / "graders" / "a3_torch_vit"))
        try:
            from a3_ban import scan_file
        finally:
            sys.path.pop(0)
        assert scan_file(script, "handin.py", None) == []
    (tmp_path / "handin.py").write_bytes(script.read_bytes())
    assert autograd_imports(tmp_path) == {} and sourceless(tmp_path) == []
