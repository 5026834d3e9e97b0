"""The report's capstone section: measured test accuracy per checkpoint, read from the
review notes the trusted capstone grader writes, over the course's thresholds."""
from __future__ import annotations

import random
import shutil
from pathlib import Path

from autograder.engine import report
from autograder.term import final, report_html
from vitlab.course import load_course

ROOT = Path(__file__).resolve().parents[2]


def test_capstone_accuracy_distribution(tmp_path):
    course_root = tmp_path / "course"
    course_root.mkdir()
    shutil.copy(ROOT / "course.toml", course_root / "course.toml")
    (course_root / "solutions").symlink_to(ROOT / "solutions")
    course = load_course(course_root)
    a = course.assignment("a4")
    out = tmp_path / "out"
    rng = random.Random(4)
    ids = [f"st{i:02d}" for i in range(12)]
    for sid in ids:
        tasks = [{"task": t.id, "title": t.title, "max_score": t.points, "score": t.points, "status": "passed",
                  "message": "", "hint": None, "passed": 3, "total": 3, "output": "", "output_bytes": 0, "tests": []}
                 for t in a.tasks]
        res = report.results_json(sid, a.folder, tasks, {"content_hash": "x", "grader_hash": "x", "complete": True,
                                                          "sandbox": "bubblewrap", "sandbox_problem": None})
        log = "".join(f"{name}: measured test {rng.uniform(96.5, 99.4):.2f}%, train slice 99.00%; provenance ...\n"
                      for name in ("vit_mnist", "convit_mnist"))
        log += "vit_cifar10: measured test 71.30%; provenance ...\n"
        report.write_student(out, sid, res, "# feedback\n", log, {})
    (out / "students.csv").write_text("student,submission,note\n" + "".join(f"{s},{s},\n" for s in ids))
    term = final.compute(course, a, out)
    page = report_html.page(term, course.settings)
    section = page[page.index("<h2>Capstone accuracy</h2>"):]
    assert "capstone accuracy distribution" in section and "data:image/png;base64," in section
    assert "<td>vit_mnist</td><td>12</td>" in section
    if "vit_cifar10" in course.settings["capstone"]["checkpoints"]:          # the kit
        assert "<td>vit_cifar10</td><td>12</td><td>71.30</td>" in section
        assert "<td>convit_cifar10</td><td>0</td>" in section
    else:                   # a course without CIFAR-10: a note on a checkpoint it lacks is not counted
        assert "cifar10" not in section
