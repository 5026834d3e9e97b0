"""Every released folder that trains (a2's solver.py, a3's and the capstone's train.py) says in
its README how training behaves on a CPU: the thread default, how to change it, and what
progress looks like off a terminal; the folder that trains nothing says nothing of it."""
from __future__ import annotations

import pytest

from tests.release.student_copies import ROOT
from vitlab.course import load_course

FOLDERS = load_course().assignments


@pytest.mark.parametrize("a", FOLDERS, ids=lambda a: a.id)
def test_the_readme_says_how_training_runs_on_a_cpu(a):
    readme = (ROOT / "assignments" / a.folder / "README.md").read_text(encoding="utf-8")
    trains = any((a.source_dir / name).is_file() for name in ("solver.py", "train.py"))
    assert ("## Train on a CPU" in readme) == trains
    if trains:
        section = readme.split("## Train on a CPU", 1)[1]
        for words in ("threads", "log_every", "images/s", "progress bar"):
            assert words in section, words
        assert ("threads=2" if a.id == "a2" else "--set threads=2") in section
