"""What grading an assignment needs besides the submissions, checked before anyone is graded.

A grader that finds its data missing fails inside every student's run, and each of them gets
"internal grader error". So `python -m autograder grade` checks the course's declarations
first and stops with one line naming what is missing and the command that makes it, before
any student's results are written.

What is declared, and so required:
- the capstone's checkpoint graders evaluate on the dataset of each of the assignment's
  [capstone.checkpoints.*] tables in course.toml: either the arrays in [capstone]
  `testset_dir` (`<dataset>_test.npz`, and `<dataset>_train.npz` when `holdout_train_images` > 0),
  or, with testset_dir = "", the vitdata cache, looked up exactly as a4_eval.load_split does.

Not required: a2's graders train on an MNIST subset but fall back to synthetic digits when
MNIST is not cached (a2util.mnist_subset), and a3's graders use no dataset. The `datasets`
key of a2/a3's assignment.toml is what the student's `make datasets` fetches by default,
not a grading need.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from autograder.engine.gradescope.data import checkpoint_datasets
from vitlab.course import CourseError

ROOT = Path(__file__).resolve().parents[2]


class GradingInputMissing(CourseError):
    """Something the course declares its graders read is absent; nothing was graded. A
    CourseError, so every command that grades (grade, the term's regrade) reports it in one line."""


def check(course, a) -> None:
    """Raise GradingInputMissing naming every missing input of assignment `a` and its fix."""
    problems = missing(course, a)
    if problems:
        raise GradingInputMissing(f"{a.folder} was not graded (no student results written): {'; '.join(problems)}")


def missing(course, a) -> list[str]:
    """One phrase per missing input (what, where, and the command that makes it)."""
    names = checkpoint_datasets(course, a)
    if not names:
        return []
    cap = course.settings.get("capstone", {})
    if cap.get("testset_dir"):
        return _missing_arrays(course.root, cap, names)
    return _missing_cached(course.root, names)


def _missing_arrays(root: Path, cap: dict, names: list[str]) -> list[str]:
    """[capstone] testset_dir holds the instructor's own arrays: no command makes them."""
    folder = root / cap["testset_dir"]
    splits = ["test", "train"] if int(cap.get("holdout_train_images", 0)) > 0 else ["test"]
    return [f"{folder / f'{name}_{split}.npz'} does not exist (course.toml [capstone] testset_dir = "
            f"{cap['testset_dir']!r}; put the {name} {split} arrays there, or set testset_dir = \"\" "
            f"to grade on the cached official data)"
            for name in names for split in splits if not (folder / f"{name}_{split}.npz").is_file()]


def _missing_cached(root: Path, names: list[str]) -> list[str]:
    vitdata = _vitdata()
    out = []
    for name in names:
        try:   # the graders' own call: the cache's meta.json, or an import from VITLAB_MIRROR
            vitdata.info(name, grading_data_dir(root))
        except (vitdata.DatasetMissingError, vitdata.DatasetCorruptError) as e:
            out.append(str(e))
    return out


def grading_data_dir(root: Path) -> Path | None:
    """The cache the capstone graders read (a4_eval.load_split): the course's datasets/data
    when it exists and VITLAB_DATA is unset, else vitdata's default (VITLAB_DATA, ...)."""
    if not os.environ.get("VITLAB_DATA") and (root / "datasets" / "data").is_dir():
        return root / "datasets" / "data"
    return None


def _vitdata():
    """vitdata as the graders import it. `make grade` runs without PYTHONPATH, so the kit's
    datasets/ folder goes at the end of sys.path (the graders find it through solutions/)."""
    try:
        import vitdata
    except ImportError:
        sys.path.append(str(ROOT / "datasets"))
        import vitdata
    return vitdata
