"""The sandbox finds its Python wherever the course lives, /tmp included.

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
