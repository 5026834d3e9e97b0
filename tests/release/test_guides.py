"""Generated blocks in an assignment guide: the capstone guide follows course.toml."""
from __future__ import annotations

from pathlib import Path

import pytest

from vitlab.course import CourseError, load_course
from vitlab.release.__main__ import main as release_main
from vitlab.release.guides import render

GOLDEN = Path(__file__).parent / "golden"
CAPSTONE = """
[capstone]
max_params = 5_000_000
holdout_train_images = 1000
holdout_shifted_images = 500
holdout_margin = 4.0

[capstone.checkpoints.vit_cifar10]
task = "4.1"
dataset = "cifar10"
models = ["vit"]
thresholds = [45.0, 50.0]
budget_s = 600
reference = "61.0 % on 2 cores"

[capstone.checkpoints.convit_cifar10]
task = "4.2"
dataset = "cifar10"
models = ["convit", "convit_hybrid"]
thresholds = [45.0, 50.0, 55.0]
budget_s = 600
shifted_margin = 9.0

"""
TASKS = "".join(f'\n[[tasks]]\nid = "{i}"\ntitle = "{t}"\npoints = {p}\n' for i, t, p in [
    ("4.1", "CIFAR-10 ViT checkpoint (checkpoints/vit_cifar10)", 15),
    ("4.2", "CIFAR-10 ConViT checkpoint (checkpoints/convit_cifar10)", 15),
    ("4.3", "Explain the GPSA gates", 5)])
GUIDE = """# Capstone

<!-- generated:capstone-tasks -->
stale text
<!-- /generated:capstone-tasks -->

Hand-written text stays as it is.

<!-- generated:capstone-review -->
<!-- /generated:capstone-review -->

<!-- generated:capstone-thresholds -->
<!-- /generated:capstone-thresholds -->
"""


@pytest.fixture
def capstone_course(tmp_path: Path) -> Path:
    root = tmp_path / "course"
    a4 = root / "solutions" / "a4_capstone"
    a4.mkdir(parents=True)
    (root / "course.toml").write_text('name = "C"\nid = "c"\nassignments = ["a4_capstone"]\n' + CAPSTONE)
    (a4 / "assignment.toml").write_text('id = "a4"\ntitle = "Capstone"\n' + TASKS)
    (a4 / "README.md").write_text(GUIDE)
    return root


def test_blocks_follow_course_toml(capstone_course):
    course = load_course(capstone_course)
    out = render(course, course.assignment("a4"), GUIDE)
    assert out == (GOLDEN / "capstone_guide.md").read_text(encoding="utf-8")


def test_release_refreshes_the_guide_and_check_reports_a_stale_one(capstone_course, capsys):
    guide = capstone_course / "solutions/a4_capstone/README.md"
    assert release_main(["--root", str(capstone_course)]) == 0
    assert guide.read_text() == (GOLDEN / "capstone_guide.md").read_text(encoding="utf-8")
    released = (capstone_course / "assignments/a4_capstone/README.md").read_text()
    assert released.endswith(guide.read_text()) and "| 4.3 | Explain the GPSA gates | 5 |" in released
    assert release_main(["--root", str(capstone_course), "--check"]) == 0
    toml = capstone_course / "course.toml"
    toml.write_text(toml.read_text().replace("thresholds = [45.0, 50.0]", "thresholds = [40.0, 50.0]"))
    capsys.readouterr()
    assert release_main(["--root", str(capstone_course), "--check"]) == 1
    assert "solutions/a4_capstone/README.md (generated blocks)" in capsys.readouterr().out


def test_an_unknown_block_names_the_guide(capstone_course, capsys):
    guide = capstone_course / "solutions/a4_capstone/README.md"
    guide.write_text(GUIDE + "<!-- generated:capstone-typo -->\n<!-- /generated:capstone-typo -->\n")
    course = load_course(capstone_course)
    with pytest.raises(CourseError, match=r"README\.md: unknown generated block 'capstone-typo'"):
        render(course, course.assignment("a4"), guide.read_text(), str(guide))
    assert release_main(["--root", str(capstone_course)]) == 2
    assert "capstone-typo" in capsys.readouterr().err and not (capstone_course / "assignments/a4_capstone").exists()


def test_a_guide_without_capstone_settings_is_an_error(capstone_course):
    toml = capstone_course / "course.toml"
    toml.write_text(toml.read_text().split("[capstone]")[0])
    course = load_course(capstone_course)
    with pytest.raises(CourseError, match=r"course\.toml: the capstone guide needs a \[capstone\] section"):
        render(course, course.assignment("a4"), GUIDE)


def test_a_retrain_table_is_refused(capstone_course):
    """The capstone grades checkpoints only: a course.toml still carrying the old re-training
    check is told so, rather than getting a guide that promises a task nothing grades."""
    toml = capstone_course / "course.toml"
    toml.write_text(toml.read_text() + '\n[capstone.retrain]\ntask = "4.3"\n')
    course = load_course(capstone_course)
    with pytest.raises(CourseError, match=r"\[capstone\.retrain\] is not graded any more"):
        render(course, course.assignment("a4"), GUIDE)


@pytest.mark.parametrize("old", ["train_slice = 1000", "review_train_gap = 5.0"])
def test_an_old_training_slice_setting_is_refused(capstone_course, old):
    """The fixed training slice gave way to images drawn at grading time: a course.toml that still
    sets it is told so, rather than getting a guide that describes a check nothing runs."""
    toml = capstone_course / "course.toml"
    toml.write_text(toml.read_text().replace("[capstone]\n", f"[capstone]\n{old}\n"))
    course = load_course(capstone_course)
    with pytest.raises(CourseError, match=rf"{old.split()[0]} is not used any more"):
        render(course, course.assignment("a4"), GUIDE)


def test_the_guide_describes_the_held_out_check(capstone_course):
    course = load_course(capstone_course)
    text = " ".join(render(course, course.assignment("a4"), GUIDE).split())
    assert "1,000 random images of the official training set and 500 random test images" in text
    assert "`vit_cifar10` 4 and 5 points; `convit_cifar10` 4 and 9 points" in text
    assert "first 1,000 images" not in text and "`review`" in text
