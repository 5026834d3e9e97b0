"""Round trip through the hidden graders: for every task, the reference gets full marks and
the released stubs get zero with status not_implemented (not an import error or crash).

The capstone is graded on submitted checkpoints, which the reference does not ship; its
graders are exercised in tests/a4 instead.
"""
import os
import subprocess
import sys

import pytest

from vitlab.course import load_course

from .conftest import ROOT

COURSE = load_course(ROOT)
CAPSTONE = {str(s["task"]) for s in COURSE.settings.get("capstone", {}).get("checkpoints", {}).values()}
ASSIGNMENTS = [a.id for a in COURSE.assignments if not CAPSTONE & {t.id for t in a.tasks}]


# the first assignment in the fast tier, every other one in the deep tier
@pytest.mark.parametrize("assignment", [pytest.param(a, marks=[pytest.mark.slow] if i else [])
                                        for i, a in enumerate(ASSIGNMENTS)])
def test_reference_full_marks_and_stubs_not_implemented(assignment):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTHONPATH")}
    env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{ROOT / 'datasets'}"
    proc = subprocess.run([sys.executable, "-m", "autograder", "check", assignment], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
