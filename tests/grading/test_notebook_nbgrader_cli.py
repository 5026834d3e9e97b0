"""nbgrader's own commands on the course (nbgrader_config.py): the kit's course holds every
student folder and releases exactly what `make release` does, with no solution or hidden
test; on a course of one notebook, release -> submit -> collect -> autograde -> feedback ->
export keeps the student's own `.py` files and renders student markdown safely."""
import csv
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from notebook_helpers import SOURCE

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
HOSTILE_ANSWER = ("<script>alert('answer')</script> [c](javascript:alert(1)) <img src=x onerror=alert(3)> "
                  "<svg onload=alert(4)></svg> <a href=x onmouseover=alert(5)>m</a> never negative")
# a live payload: a script element, a javascript: link, or an on* event attribute of a tag
SCRIPT = re.compile(r"<script[^>]*>\s*alert|href=\"javascript:|<[a-z]+[^<>]*\son[a-z]+\s*=\s*[\"']?alert\(", re.I)
STUDENT_PY = "# the student's own models.py\ndef double(x):\n    return 2 * x\n"


def nbgrader(course: Path, *args: str, cwd: Path = ROOT) -> str:
    env = {**os.environ, "VITLAB_NBGRADER_COURSE": str(course), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([str(BIN / "nbgrader"), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, (args, proc.stdout[-2000:], proc.stderr[-3000:])
    return proc.stderr


def test_course_tree_is_the_released_student_folders(tmp_path):
    from autograder.engine.notebooks import course as nbcourse
    from vitlab.course import load_course
    from vitlab.release.leaks import scan

    course = load_course(ROOT)
    done = nbcourse.build(course, tmp_path)
    assert len(done) == len(course.assignments), done
    for a in course.assignments:
        if "left out" in next(line for line in done if line.startswith(f"{a.folder}:")):
            continue
        committed = ROOT / "assignments" / a.folder
        want = {str(p.relative_to(committed)) for p in committed.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
        for stage in ("source", "release"):
            have = {str(p.relative_to(tmp_path / stage / a.folder)) for p in (tmp_path / stage / a.folder).rglob("*")
                    if p.is_file()}
            assert have == want, (stage, a.folder, have ^ want)
        for p in (tmp_path / "release" / a.folder).rglob("*.ipynb"):
            text = p.read_text(encoding="utf-8")
            assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, p
    assert not scan(course, tmp_path / "release"), [str(leak) for leak in scan(course, tmp_path / "release")]


def _answer(folder: Path) -> None:
    nb = json.loads((folder / "tiny.ipynb").read_text())
    for cell in nb["cells"]:
        gid = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if gid == "task2_1_impl":
            cell["source"] = "from models import double\n"
        elif gid == "task2_2_impl":
            cell["source"] = "def square(x):\n    return x * x\n"
        elif gid == "task2_2_explain":
            cell["source"] = HOSTILE_ANSWER
    nb["cells"].append({"cell_type": "raw", "id": "raw-cell", "metadata": {},
                        "source": "<script>alert('raw')</script>"})
    (folder / "tiny.ipynb").write_text(json.dumps(nb))
    (folder / "models.py").write_text(STUDENT_PY)


@pytest.mark.slow
def test_nbgrader_workflow_keeps_the_students_files(tmp_path):
    from autograder.engine.notebooks import prepare as notebooks

    course = tmp_path / "course"
    notebooks.generate("a2_nb", {"tiny.ipynb": SOURCE}, course)
    nbgrader(course, "generate_assignment", "a2_nb", "--force")
    nbgrader(course, "release_assignment", "a2_nb", "--force")
    assert sorted(p.name for p in (course / "release" / "a2_nb").iterdir()) == ["tiny.ipynb"]

    home = tmp_path / "ada"
    home.mkdir()
    student = ["--Exchange.root=" + str(course / "exchange"), "--CourseDirectory.course_id=vitlab"]
    nbgrader(course, "fetch_assignment", "a2_nb", *student, cwd=home)
    _answer(home / "a2_nb")
    nbgrader(course, "submit", "a2_nb", "--student=ada", *student, cwd=home)

    nbgrader(course, "collect", "a2_nb")
    nbgrader(course, "autograde", "a2_nb", "--force")
    nbgrader(course, "generate_feedback", "a2_nb", "--force")
    for stage in ("submitted", "autograded", "feedback"):
        assert (course / stage / "ada" / "a2_nb" / "models.py").read_text() == STUDENT_PY, stage
    assert not list((course / "release").rglob("*.py")) and not list((course / "source").rglob("*.py"))
    page = (course / "feedback" / "ada" / "a2_nb" / "tiny.html").read_text(encoding="utf-8")
    assert "never negative" in page and not SCRIPT.search(page)     # nbgrader_config.py's markdown filter
    assert not SCRIPT.search(formgrade_page(course / "autograded" / "ada" / "a2_nb" / "tiny.ipynb"))

    out = tmp_path / "grades.csv"
    nbgrader(course, "export", "--to", str(out))
    rows = list(csv.DictReader(out.open()))
    assert [(r["student_id"], float(r["raw_score"]), float(r["max_score"])) for r in rows] == [("ada", 5.0, 6.0)]


def formgrade_page(notebook: Path) -> str:
    """What formgrader shows for a submission, with nbgrader_config.py's settings."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    resources = {"assignment_id": "a2_nb", "notebook_id": "tiny", "submission_id": "x", "index": 0, "total": 1,
                 "base_url": "/", "my_path": "", "student": "ada", "last_name": "", "first_name": "",
                 "notebook_path": "/tiny.ipynb"}
    html, _ = HTMLExporter(config=config).from_filename(str(notebook), resources=resources)
    assert "never negative" in html
    return html
