"""Jinja filters for the course template: where the kit is, and its assignments.
Loaded by cookiecutter through `_extensions`."""
from __future__ import annotations

import sys
from pathlib import Path

from jinja2.ext import Extension

HERE = Path(__file__).resolve().parent          # <kit>/template/course


def kit_root(value: str) -> str:
    """The kit to copy from: `_kit_root` when given, else the kit holding this template."""
    return str(Path(value).expanduser().resolve()) if value else str(HERE.parents[1])


def _course(kit: str):
    if kit not in sys.path:
        sys.path.insert(0, kit)
    from vitlab.course import load_course

    return load_course(Path(kit))


def kit_assignments(kit: str) -> str:
    """'a1,a2,a3,a4': every assignment of the kit, the default answer."""
    return ",".join(a.id for a in _course(kit).assignments)


def kit_folders(choice: str, kit: str) -> list[str]:
    """'a2,a1' -> ['a1_numpy_layers', 'a2_numpy_vit'] in the kit's order (the answer is
    already checked by the pre-generation hook)."""
    if kit not in sys.path:
        sys.path.insert(0, kit)
    from template.plan import course_plan_folders

    return course_plan_folders(Path(kit), choice)


def course_datasets(answer: str, choice: str, kit: str) -> list[str]:
    """course.toml `datasets`: the dataset answer's, plus MNIST for a2 and a3 (checked
    by the pre-generation hook)."""
    if kit not in sys.path:
        sys.path.insert(0, kit)
    from template.plan import course_plan_datasets

    return course_plan_datasets(Path(kit), answer, choice)


def kit_capstone(kit: str, dataset: str, key: str) -> str:
    """The kit's capstone setting for a dataset, as a default answer ('97,98,99', '120')."""
    if kit not in sys.path:
        sys.path.insert(0, kit)
    from template.capstone import kit_default

    return kit_default(Path(kit), dataset, key)


class CourseExtension(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.filters.update(kit_root=kit_root, kit_assignments=kit_assignments, kit_folders=kit_folders,
                                   kit_capstone=kit_capstone, course_datasets=course_datasets)
