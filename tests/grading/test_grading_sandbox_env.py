"""Where the sandbox runs and what it may use: its Python wherever the course lives (/tmp
included), and its share of the cores when students are graded in parallel.

The sandbox mounts a fresh tmpfs on /tmp; a course baked under /tmp (its .venv a link to the
kit's) runs Python from a path under /tmp, which must be bound on top of that tmpfs, not
hidden by it."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograder.engine.sandbox import probe_bwrap

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import subprocess, sys
from pathlib import Path
from autograder.engine.sandbox import Limits, Sandbox
box = Sandbox(Path(sys.argv[1]), Limits())
argv, cwd = box.command(Path(sys.argv[1]), 3)
cut = argv.index(box.python)
r = subprocess.run(argv[:cut + 1] + ["-c", "import sys; print('inside', sys.prefix)"], cwd=cwd,
                   capture_output=True, text=True, timeout=60)
print(r.returncode, r.stdout.strip(), r.stderr.strip()[-300:])
"""


@pytest.mark.skipif(probe_bwrap() is not None, reason=f"no sandbox here: {probe_bwrap()}")
def test_a_python_under_tmp_runs_in_the_sandbox():
    where = Path(tempfile.mkdtemp(prefix="vitlab-course-", dir="/tmp"))
    try:
        (where / ".venv").symlink_to(Path(sys.prefix).resolve(), target_is_directory=True)
        python = where / ".venv" / "bin" / "python"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.run([str(python), "-c", SCRIPT, str(where)], capture_output=True, text=True,
                              env=env, cwd=ROOT, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert proc.stdout.startswith(f"0 inside {where / '.venv'}"), proc.stdout
    finally:
        shutil.rmtree(where, ignore_errors=True)


def test_students_graded_in_parallel_share_the_cores():
    from autograder.engine.grade import cpu_share
    assert [cpu_share(w, cores=2) for w in (1, 2, 3)] == [2, 1, 1]
    assert cpu_share(2, cores=16) == 8 and cpu_share(0, cores=4) == 4


def test_the_share_reaches_the_sandbox_and_caps_the_capstone_evaluation(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from autograder.engine.sandbox import Limits, Sandbox
    monkeypatch.setattr("autograder.engine.sandbox.bwrap_path", lambda: "/usr/bin/bwrap")
    assert "VITLAB_CPU_SHARE" not in Sandbox(tmp_path, Limits()).env()
    box = Sandbox(tmp_path, Limits(cpu_share=1))
    assert box.env()["VITLAB_CPU_SHARE"] == "1"
    argv, _ = box.command(tmp_path, 3)
    i = argv.index("VITLAB_CPU_SHARE")
    assert argv[i - 1:i + 2] == ["--setenv", "VITLAB_CPU_SHARE", "1"]
    # the capstone evaluates checkpoints on the trusted side, held to the same share
    monkeypatch.syspath_prepend(str(ROOT / "autograder" / "graders" / "a4_capstone"))
    from a4_model import threads_for
    job = lambda share: SimpleNamespace(limits=Limits(cpu_share=share))  # noqa: E731
    assert [threads_for({"eval_threads": 2}, job(s)) for s in (1, 0, 4)] == [1, 2, 2]


ZYGOTE = """
import sys
from pathlib import Path
from autograder.engine.sandbox import Limits, Sandbox, stage_grader_lib
lib = stage_grader_lib(Path(sys.argv[1]) / "lib", Path(sys.argv[2]))
box = Sandbox(lib, Limits())
sub = Path(sys.argv[1]) / "sub"
sub.mkdir()
pids, zygotes = [], []
for _ in range(3):   # the second and third fork empty /tmp around the venv's mount point
    w = box.start(sub)
    pids.append(w.pid)
    zygotes.append(box._zygote)
    w.close()
box.close()
print("SPAWNED", len(pids), "ZYGOTES", len({id(z) for z in zygotes}))
"""


@pytest.mark.skipif(probe_bwrap() is not None, reason=f"no sandbox here: {probe_bwrap()}")
def test_a_python_under_tmp_keeps_its_mount_point_across_tasks():
    """The folders bubblewrap makes on the tmpfs for a bind under /tmp are not scratch: emptying
    /tmp between tasks keeps them, and the zygote is not replaced for them."""
    where = Path(tempfile.mkdtemp(prefix="vitlab-course-", dir="/tmp"))
    try:
        (where / ".venv").symlink_to(Path(sys.prefix).resolve(), target_is_directory=True)
        python = where / ".venv" / "bin" / "python"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.run([str(python), "-c", ZYGOTE, str(where), str(ROOT / "autograder" / "harness")],
                              capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "SPAWNED 3 ZYGOTES 1" in proc.stdout, proc.stdout + proc.stderr[-1000:]
    finally:
        shutil.rmtree(where, ignore_errors=True)
