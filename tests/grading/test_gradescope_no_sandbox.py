"""run_autograder where bubblewrap cannot run (a container without user namespaces): student
code runs only as nobody and only once setup.sh has made the source private; otherwise no
student code runs, the student gets a zero that says grading failed, and staff see why."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograder.engine import examples
from autograder.engine.gradescope import build as gradescope
from autograder.engine.sandbox import python_prefixes, reachable_by_others
from gradescope_helpers import submit, unpack
from vitlab.course import load_course

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="running student code as nobody needs root")


@pytest.fixture
def root(monkeypatch):
    """A world-traversable /autograder stand-in (pytest's tmp_path is private to root, which
    would make everything in it unreadable to nobody whatever setup.sh does)."""
    monkeypatch.setenv("VITLAB_NO_SANDBOX", "1")
    base = Path(tempfile.mkdtemp(prefix="vitlab-gs-nobwrap-"))
    os.chmod(base, 0o755)
    yield base / "autograder"
    shutil.rmtree(base, ignore_errors=True)


def probe_submission(a, probe: Path):
    def make(dest: Path) -> None:
        examples.write_base(a, dest, "reference")
        first = sorted({f for t in a.tasks for f in t.files if f.endswith(".py")})[0]
        text = (dest / first).read_text()
        (dest / first).write_text(f"open({str(probe)!r}, 'w').write('ran')\n" + text)
    return make


def test_no_sandbox_source_readable_no_student_code(root, tmp_path):
    course = load_course()
    if "a1" not in [x.id for x in course.assignments]:
        pytest.skip("this course has no a1")
    a = course.assignment("a1")
    unpack(gradescope.build(a.id, tmp_path / "autograder.zip"), root)
    probe = Path(tempfile.gettempdir()) / f"vitlab-gs-probe-{os.getpid()}"
    probe.unlink(missing_ok=True)
    res = submit(root, probe_submission(a, probe))
    assert not probe.exists(), "student code ran"
    assert res["score"] == 0 and res["tests"] == [] and "failed before grading" in res["output"]
    assert res["stdout_visibility"] == "hidden"
    staff = (root / "results" / "stdout").read_text()
    assert "--unsafe-no-sandbox:" in staff   # the reason, for staff only
    assert "unsafe" not in json.dumps(res)


def test_no_sandbox_source_private_runs_as_nobody(root, tmp_path):
    course = load_course()
    if "a1" not in [x.id for x in course.assignments]:
        pytest.skip("this course has no a1")
    a = course.assignment("a1")
    py_ok = all(reachable_by_others(Path(p)) for p in (os.path.realpath(sys.executable), *python_prefixes()))
    if not py_ok:
        pytest.skip("this machine's Python is private to root, so nobody cannot run it")
    unpack(gradescope.build(a.id, tmp_path / "autograder.zip"), root)
    probe = Path(tempfile.gettempdir()) / f"vitlab-gs-probe-{os.getpid()}"
    subprocess.run(["chmod", "-R", "go-rwx", str(root / "source")], check=True)   # what setup.sh does last
    res = submit(root, probe_submission(a, probe))
    probe.unlink(missing_ok=True)
    assert res["score"] == pytest.approx(a.points)
    assert "sandbox: NONE" in (root / "results" / "stdout").read_text()
