"""Jinja filters for the exercise template's defaults: which course it adds to, and the
next free task id of an assignment. Loaded by cookiecutter through `_extensions`."""
from __future__ import annotations

import sys
from pathlib import Path

from jinja2.ext import Extension

HERE = Path(__file__).resolve().parent          # <course>/template/exercise


def course_root(value: str) -> str:
    """The course to add to: `_course_root` when given, else the course holding this template."""
    return str(Path(value).expanduser().resolve()) if value else str(HERE.parents[1])


def next_task_id(assignment: str, root: str) -> str:
    """'a1' -> '1.9' when 1.1-1.8 exist; '?' when the assignment is unknown (the
    pre-generation hook then says why)."""
    if root not in sys.path:
        sys.path.insert(0, root)
    from template.exercise import next_task_id as _next

    try:
        return _next(Path(root), assignment)
    except Exception:
        return "?"


class ExerciseExtension(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["course_root"] = course_root
        environment.filters["next_task_id"] = next_task_id
