"""Nothing lost: per-student atomic results, resume after a kill, skip unchanged
submissions, --force, identical results.json on re-grading, zips and nbgrader's layout."""
import fcntl
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from grading_helpers import FIXTURE, by_student, grade_tiny, make_submission, tiny_source

ROOT = Path(__file__).resolve().parents[2]


def _class(subs: Path, n: int) -> None:
    for i in range(n):
        stub = {"1.2"} if i % 2 else set()
        make_submission(subs, f"s{i:02d}", {"tiny.py": tiny_source(stub)})


def _cmd(subs: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "autograder", "grade", "-a", "a1", "-s", str(subs), "-o", str(out), "-q",
            "--course-root", str(FIXTURE), "--graders-root", str(FIXTURE / "graders"),
            "--harness", str(FIXTURE / "harness"), *extra]


def _cli(subs: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(_cmd(subs, out, *extra), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name in ("results.json", "feedback.md", "gradebook.csv")}


def test_kill_and_resume_gives_the_same_gradebook(tmp_path):
    subs, out, clean = tmp_path / "subs", tmp_path / "out", tmp_path / "clean"
    _class(subs, 5)
    p = _cli(subs, out, "-j", "1")
    deadline = time.monotonic() + 120
    while len(list(out.glob("*/results.json"))) < 2 and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.05)
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    done_before = len(list(out.glob("*/results.json")))
    assert 2 <= done_before < 5, "the run should have been killed part-way"
    assert not (out / "gradebook.csv").exists()

    again = _cli(subs, out)
    log, _ = again.communicate(timeout=300)
    assert again.returncode == 0, log
    assert f"{5 - done_before} graded, {done_before} unchanged" in log
    grade_tiny(subs, clean, force=True)          # one uninterrupted run
    assert _files(out) == _files(clean)
    assert len(list(out.rglob(".*.tmp"))) == 0   # no half-written files left behind


def test_unchanged_skipped_force_regrades_and_results_are_identical(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    _class(subs, 2)
    first = grade_tiny(subs, out)
    before = _files(out)
    assert first.graded == 2
    second = grade_tiny(subs, out)
    assert second.graded == 0 and _files(out) == before
    third = grade_tiny(subs, out, force=True)
    assert third.graded == 2 and _files(out) == before        # same submission, same bytes
    (subs / "s00" / "tiny.py").write_text(tiny_source({"1.3"}))
    fourth = grade_tiny(subs, out)
    assert [o.student for o in fourth.outcomes if o.graded] == ["s00"]
    assert by_student(fourth)["s00"]["1.3"]["status"] == "not_implemented"


def test_zip_and_nbgrader_layout(tmp_path):
    folder = make_submission(tmp_path / "src", "ref", {"tiny.py": tiny_source()})
    subs = tmp_path / "subs"
    subs.mkdir()
    with zipfile.ZipFile(subs / "zipped.zip", "w") as z:        # a zip holding the folder
        z.write(folder / "tiny.py", "a1_tiny/tiny.py")
        z.writestr("../escape.py", "print('never extracted')")
    (subs / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    nb = tmp_path / "course" / "submitted"
    make_submission(nb / "carol", "a1_tiny", {"tiny.py": tiny_source({"1.1"})})
    got = by_student(grade_tiny(subs, tmp_path / "out"))
    assert {t["status"] for t in got["zipped"].values()} == {"passed"}
    assert {t["status"] for t in got["broken"].values()} == {"missing"}
    assert "not a readable zip" in got["broken"]["1.1"]["message"]
    assert not (tmp_path / "escape.py").exists()
    got = by_student(grade_tiny(tmp_path / "course", tmp_path / "out2"))
    assert got["carol"]["1.1"]["status"] == "not_implemented" and got["carol"]["1.2"]["status"] == "passed"


def test_a_killed_runs_half_written_files_are_swept_and_nothing_else(tmp_path):
    """SIGKILL between writing a temporary and renaming it leaves `.<name>.<random>.tmp`;
    the next run into that folder removes every such file and keeps everything else."""
    subs, out = tmp_path / "subs", tmp_path / "out"
    _class(subs, 1)
    debris = [out / "s00" / ".submitted.json._12uijvj.tmp", out / ".gradebook.csv.x8k2.tmp",
              out / "s00" / "feedback" / ".a1.html.q0q0q0.tmp"]
    kept = [out / "notes.tmp", out / "s00" / ".keep", out / "mine.json"]
    for p in debris + kept:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("half")
    grade_tiny(subs, out)
    assert [p for p in debris if p.exists()] == []
    assert all(p.read_text() == "half" for p in kept)


def test_a_second_run_into_a_busy_folder_is_refused_by_name(tmp_path):
    from autograder.engine.outdir import LOCK_NAME, OutDirBusy
    subs, out = tmp_path / "subs", tmp_path / "out"
    _class(subs, 1)
    out.mkdir()
    half = out / "s00" / ".results.json.abc.tmp"     # the busy run's own write in progress
    half.parent.mkdir()
    half.write_text("{")
    with open(out / LOCK_NAME, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(OutDirBusy, match=str(out)):
            grade_tiny(subs, out)
        assert half.exists(), "another run's temporary must not be touched while it holds the folder"
        log = subprocess.run(_cmd(subs, out), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert log.returncode == 2 and "another grading run" in log.stderr, log.stderr
    assert grade_tiny(subs, out).graded == 1 and not half.exists()


def test_a_lock_that_is_not_a_plain_file_is_refused_by_name(tmp_path):
    from autograder.engine.outdir import LOCK_NAME, OutDirError
    subs, out = tmp_path / "subs", tmp_path / "out"
    _class(subs, 1)
    out.mkdir()
    victim = tmp_path / "victim.txt"
    (out / LOCK_NAME).symlink_to(victim)
    with pytest.raises(OutDirError, match=LOCK_NAME):
        grade_tiny(subs, out)
    assert not victim.exists()
