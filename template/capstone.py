"""The capstone's settings in a baked course.toml.

The kit's course.toml drives the capstone graders: each `[capstone.checkpoints.<name>]`
(a task, a dataset, accuracy thresholds in percent, an evaluation budget in seconds)
becomes that task's tests. A baked course gets the kit's `[capstone]` tables as text
(comments kept), with the chosen thresholds and budgets, and without the checkpoints (and
their tasks) of a dataset it does not use, and a larger evaluation budget raises its
checkpoint task's hard time limit (`checkpoint_timeouts`).
"""
from __future__ import annotations

import math
import tomllib
from pathlib import Path

from template.options import TemplateError, number, words
from template.tomltext import fmt, join, set_value, split

DATASETS = ("mnist", "cifar10")
NAMES = {"mnist": "MNIST", "cifar10": "CIFAR-10"}
A4 = "a4_capstone"

def kit_settings(kit: Path) -> dict:
    return tomllib.loads((kit / "course.toml").read_text(encoding="utf-8"))


def checkpoints(kit: Path) -> dict[str, dict]:
    """name -> {task, dataset, thresholds, budget_s, ...} from the kit's course.toml."""
    return kit_settings(kit).get("capstone", {}).get("checkpoints", {})


def kit_default(kit: Path, dataset: str, key: str) -> str:
    """The kit's value for the first checkpoint on `dataset`, as a template answer
    ('97,98,99' for thresholds, '120' for budget_s); '' when the kit has none."""
    spec = next((s for s in checkpoints(kit).values() if s.get("dataset") == dataset), None)
    if spec is None or key not in spec:
        return ""
    value = spec[key]
    return ",".join(fmt(v) for v in value) if isinstance(value, list) else fmt(value)


def thresholds(option: str, text: str) -> list[float]:
    """'97, 98,99' -> [97.0, 98.0, 99.0]: at least one, each in 0-100, no repeats (sorted)."""
    values = [number(option, w, low=0, high=100) for w in words(text)]
    if not values:
        raise TemplateError(f"{option}: give at least one accuracy threshold in percent (e.g. 97,98,99)")
    if len(set(values)) != len(values):
        raise TemplateError(f"{option}: {text!r} repeats a threshold")
    return sorted(values)


def dropped_tasks(kit: Path, datasets: tuple[str, ...]) -> dict[str, str]:
    """task id -> checkpoint name, for the checkpoints of datasets the course does not use."""
    return {str(s["task"]): name for name, s in checkpoints(kit).items()
            if s.get("dataset") not in datasets and "task" in s}


def checkpoint_timeouts(kit_course, settings: dict[str, tuple[list[float], float]]) -> dict[str, float]:
    """task id -> timeout_s for the checkpoint tasks whose evaluation budget grew past what
    the kit's timeout_s covers. The kit's margin (timeout_s - budget_s: sandbox start-up and
    loading) is kept, so a larger budget never meets the hard limit first."""
    a4 = next((a for a in kit_course.assignments if a.folder == A4), None)
    if a4 is None:
        return {}
    out = {}
    for spec in checkpoints(kit_course.root).values():
        if spec.get("dataset") not in settings or "task" not in spec:
            continue
        task = next((t for t in a4.tasks if t.id == str(spec["task"])), None)
        if task is None:
            continue
        budget = settings[spec["dataset"]][1]
        need = budget + max(task.timeout_s - float(spec.get("budget_s", 0)), 60.0)
        if need > task.timeout_s:
            out[task.id] = float(math.ceil(need))
    return out


def course_tables(kit_text: str, folders: list[str], settings: dict[str, tuple[list[float], float]],
                  path: str = "course.toml") -> str:
    """The kit's course.toml from its first table on, edited for the course.

    `settings`: dataset -> (thresholds, budget_s) for the datasets the course uses. Without
    the capstone in `folders`, every `[capstone...]` table goes."""
    kit = tomllib.loads(kit_text)
    kept = []
    for s in split(kit_text)[1:]:
        parts = s.name.split(".")
        if parts[0] == "capstone" and A4 not in folders:
            continue
        if s.name == "gradescope" and "datasets" in kit.get("gradescope", {}):
            ids = {f.split("_", 1)[0] for f in folders}       # "a2_numpy_vit" -> "a2"
            kept_sets = {a: v for a, v in kit["gradescope"]["datasets"].items() if a in ids}
            inline = ", ".join(f"{a} = [" + ", ".join(f'"{d}"' for d in v) + "]" for a, v in kept_sets.items())
            set_value(s, "datasets", "{ " + inline + " }" if inline else "{}", path)
        if parts[:2] == ["capstone", "checkpoints"] and len(parts) >= 3:
            spec = kit["capstone"]["checkpoints"][parts[2]]
            if spec.get("dataset") not in settings:
                continue
            if len(parts) == 3:
                limits, budget = settings[spec["dataset"]]
                set_value(s, "thresholds", "[" + ", ".join(repr(float(v)) for v in limits) + "]", path)
                set_value(s, "budget_s", fmt(budget), path)
        kept.append(s)
    return join(kept)
