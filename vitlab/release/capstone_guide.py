"""The capstone guide's course-specific text, from course.toml `[capstone]`.

Which checkpoints are graded, their thresholds and budgets, and what the re-training check
runs differ per course (a baked course may keep one dataset, or CPU thresholds). These
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
    retrain = str(_capstone(course).get("retrain", {}).get("task", ""))
    rows = ["| task | graded on | points |", "| --- | --- | --- |"]
    for t in a.tasks:
        if t.id in ckpt:
            name, spec = ckpt[t.id]
            what = (f"`checkpoints/{name}/`: {_models(list(spec.get('models', ['vit'])))} trained on "
                    f"{DATASET_NAMES.get(spec['dataset'], spec['dataset'])}")
        elif t.id == retrain:
            what = "re-training check: your `train.train()` learns (the grader re-runs it briefly)"
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


def retrain_text(course: Course, a: Assignment) -> str:
    """The paragraph on the re-training check: what runs, on what, and the bar to pass."""
    r = _capstone(course).get("retrain")
    if not r or str(r.get("task")) not in {t.id for t in a.tasks}:
        return "This course has no re-training check."
    runs = list(r.get("runs", {}).values())
    kinds = " and ".join(f"a small {FAMILIES.get(run.get('model', 'vit'), run.get('model'))}" for run in runs)
    epochs = sorted({int(run.get("epochs", 1)) for run in runs})
    n_epochs = " or ".join(map(str, epochs)) + (" epoch" if epochs == [1] else " epochs")
    dataset = DATASET_NAMES.get(r["dataset"], r["dataset"])
    times = {1: "once", 2: "twice"}.get(len(runs), f"{len(runs)} times")
    text = (f"Task {r['task']} runs your `train.train(cfg, data=...)` {times} ({kinds}; {n_epochs} on the "
            f"first {int(r['train_images']):,} {dataset} training images, seed {int(r.get('seed', 0))}, on the CPU) "
            f"and evaluates the weights it saves on {int(r['test_images']):,} held-out test images: each run "
            f"must reach {_pct(r['min_accuracy'])}, which an untrained model (about 10 %) cannot.")
    if r.get("reference"):
        text += f" The reference training loop reaches {r['reference']} there."
    return textwrap.fill(text, width=92, break_on_hyphens=False)
