"""The capstone guide's course-specific text, from course.toml `[capstone]`.

Which checkpoints are graded, their thresholds and budgets, and the limits and review rules
of the grader differ per course (a baked course may keep one dataset, or CPU thresholds). These
functions write that text; `guides.py` puts it into solutions/a4_capstone/README.md.
"""
from __future__ import annotations

import textwrap

from vitlab.course import Assignment, Course, CourseError

DATASET_NAMES = {"mnist": "MNIST", "cifar10": "CIFAR-10"}
FAMILIES = {"vit": "ViT", "convit": "ConViT", "convit_hybrid": "hybrid ConViT"}


def _capstone(course: Course) -> dict:
    cap = course.settings.get("capstone")
    if not isinstance(cap, dict):
        raise CourseError(f"{course.root / 'course.toml'}: the capstone guide needs a [capstone] section")
    if "retrain" in cap:
        raise CourseError(f"{course.root / 'course.toml'}: [capstone.retrain] is not graded any more (the "
                          "capstone grades checkpoints only); remove the table and its task")
    for old in ("train_slice", "review_train_gap"):
        if old in cap:
            raise CourseError(f"{course.root / 'course.toml'}: [capstone] {old} is not used any more: images drawn "
                              "at grading time decide (holdout_train_images, holdout_shifted_images, "
                              "holdout_margin, shifted_margin; docs/capstone.md)")
    return cap


def _checkpoints(course: Course, a: Assignment) -> dict[str, dict]:
    """name -> spec for the checkpoints whose task `a` grades, in task order."""
    ids = [t.id for t in a.tasks]
    specs = {n: s for n, s in _capstone(course).get("checkpoints", {}).items() if str(s.get("task")) in ids}
    return dict(sorted(specs.items(), key=lambda kv: ids.index(str(kv[1]["task"]))))


def _models(models: list[str]) -> str:
    """["convit", "convit_hybrid"] -> 'a ConViT (`convit` or `convit_hybrid`)'."""
    first = FAMILIES.get(models[0], models[0])
    alts = f" (`{'` or `'.join(models)}`)" if len(models) > 1 else ""
    return f"a {first}{alts}"


def _pct(v: float) -> str:
    return f"{float(v):g} %"


def tasks_table(course: Course, a: Assignment) -> str:
    """One row per task: what it grades and its points."""
    ckpt = {str(s["task"]): (n, s) for n, s in _checkpoints(course, a).items()}
    rows = ["| task | graded on | points |", "| --- | --- | --- |"]
    for t in a.tasks:
        if t.id in ckpt:
            name, spec = ckpt[t.id]
            what = (f"`checkpoints/{name}/`: {_models(list(spec.get('models', ['vit'])))} trained on "
                    f"{DATASET_NAMES.get(spec['dataset'], spec['dataset'])}")
        else:
            what = t.title
        rows.append(f"| {t.id} | {what} | {t.points:g} |")
    return "\n".join(rows)


def thresholds_table(course: Course, a: Assignment) -> str:
    """One row per graded checkpoint: thresholds, evaluation budget, measured reference."""
    rows = ["| checkpoint | task | thresholds (each earns an equal share of the points) | evaluation budget "
            "| measured reference |", "| --- | --- | --- | ---: | --- |"]
    for name, spec in _checkpoints(course, a).items():
        limits = ", ".join(_pct(v) for v in spec.get("thresholds", []))
        rows.append(f"| `{name}` | {spec['task']} | {limits} | {float(spec.get('budget_s', 0)):g} s "
                    f"| {spec.get('reference', 'not yet measured')} |")
    return "\n".join(rows)


def _margins(course: Course, a: Assignment) -> str:
    """'`vit_mnist` 2 and 5 points, ...': each checkpoint's two margins (its own, else the course's)."""
    cap = _capstone(course)
    parts = []
    for name, spec in _checkpoints(course, a).items():
        train = float(spec.get("holdout_margin", cap.get("holdout_margin", 3.0)))
        shifted = float(spec.get("shifted_margin", cap.get("shifted_margin", 5.0)))
        parts.append(f"`{name}` {train:g} and {shifted:g} points")
    return "; ".join(parts)


def _holdout_text(course: Course, a: Assignment) -> str:
    """What the held-out check measures, and what happens when a checkpoint fails it."""
    cap = _capstone(course)
    n_train, n_shift = int(cap.get("holdout_train_images", 0)), int(cap.get("holdout_shifted_images", 0))
    sets = []
    if n_train > 0:
        sets.append(f"{n_train:,} random images of the official training set")
    if n_shift > 0:
        sets.append(f"{n_shift:,} random test images, each shifted by up to "
                    f"{int(cap.get('holdout_max_shift', 2))} pixels")
    if not sets:
        return ""
    return (f"Before a checkpoint is scored, the grader measures it on images drawn afresh at every grading "
            f"({' and '.join(sets)}), so nobody can know them in advance. When its test accuracy is "
            "higher than its accuracy there by more than the checkpoint's margins (training images, "
            f"then shifted images: {_margins(course, a)}), its status is `review`: 0 points until "
            "your instructor has looked at it. A model that learned the task stays well inside the "
            "margins; one fitted to the test set does not. ")


def review_text(course: Course, a: Assignment) -> str:
    """The paragraph on the grader's limits and what it reports to the instructor."""
    cap = _capstone(course)
    params = int(cap.get("max_params", 10_000_000))
    size = int(cap.get("max_checkpoint_mb", 64))
    text = (f"A graded model has at most {params:,} parameters and its checkpoint file at most {size} MB. "
            + _holdout_text(course, a)
            + "The grader also compares the test accuracy it measures with the one `submit.py export` "
            f"recorded in provenance.json: a gap of more than {float(cap.get('review_gap', 3.0)):g} points "
            "is reported to your instructor and does not change the score.")
    return textwrap.fill(text, width=92, break_on_hyphens=False)
