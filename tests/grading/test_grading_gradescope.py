"""make gradescope: the zip has setup.sh and run_autograder, and run_autograder grades
/autograder/submission with the same engine into /autograder/results/results.json."""
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.engine import examples, gradescope
from vitlab.course import load_course


def first_assignment():
    """The course's first assignment (what `make gradescope` builds without ASSIGNMENT=), passing
    over the capstone (whose tasks course.toml [capstone.checkpoints] names): it is graded on
    trained checkpoints, and its released code is given code that really trains, so its stubs
    do not score a quick zero. tests/a4 grades it."""
    course = load_course()
    capstone = {str(s["task"]) for s in course.settings.get("capstone", {}).get("checkpoints", {}).values()}
    a = next((a for a in course.assignments if not capstone & {t.id for t in a.tasks}), None)
    if a is None:
        pytest.skip("this course has only the capstone")
    return a


def test_zip_layout_and_run_autograder(tmp_path):
    a = first_assignment()
    z = gradescope.build(a.id, tmp_path / "autograder.zip")
    root = tmp_path / "autograder"
    with zipfile.ZipFile(z) as zf:
        names = set(zf.namelist())
        zf.extractall(root / "source_zip")
    assert {"setup.sh", "run_autograder", "source/autograder/engine/worker.py",
            "source/course.toml"} <= names
    assert any(n.startswith(f"source/autograder/graders/{a.folder}/") for n in names)
    assert not any("/graders/" in n and a.folder not in n for n in names)   # other assignments' graders stay out
    mode = zipfile.ZipFile(z).getinfo("run_autograder").external_attr >> 16
    assert mode & stat.S_IXUSR
    # no namespace sandbox in the container: student code runs as nobody, the source is private
    assert "chmod -R go-rwx /autograder/source" in zipfile.ZipFile(z).read("setup.sh").decode()
    assert "--unsafe-no-sandbox" in zipfile.ZipFile(z).read("run_autograder").decode()

    # lay it out as Gradescope does: /autograder/{source,submission,results}
    (root / "source_zip" / "source").rename(root / "source")
    examples.write_base(a, root / "submission", "release")
    (root / "results").mkdir()
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), PYTHON=sys.executable)
    r = subprocess.run(["bash", str(root / "source_zip" / "run_autograder")], env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    res = json.loads((root / "results" / "results.json").read_text())
    assert res["score"] == 0 and len(res["tests"]) == len(a.tasks)
    assert {t["extra_data"]["status"] for t in res["tests"]} == {"not_implemented"}
    assert all({"name", "number", "score", "max_score", "output", "visibility"} <= set(t) for t in res["tests"])
