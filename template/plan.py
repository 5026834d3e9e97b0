"""What a course bake will do, worked out (and checked) from the template's answers.

The pre-generation hook calls `course_plan` to stop on bad input before anything is
written; the post-generation hook calls it again to act on the same, checked plan.
"""
from __future__ import annotations

import keyword
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from template.capstone import A4, DATASETS as ORDER, NAMES, dropped_tasks, thresholds
from template.options import TemplateError, mapping, number, words, yes

COURSE_ID = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
COURSE_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
DATASETS = {"both": ("mnist", "cifar10"), "mnist": ("mnist",), "cifar10": ("cifar10",)}
# Assignments that train on a dataset whatever the answer: a2's NumPy ViT and a3's recipes use MNIST.
NEEDS = {"a2_numpy_vit": "mnist", "a3_torch_vit": "mnist"}


@dataclass
class CoursePlan:
    kit: Path
    folders: list[str]                                # chosen assignments, in the kit's order
    kept: dict[str, list[str]] = field(default_factory=dict)   # unchosen folder -> files kept as given code
    totals: dict[str, float] = field(default_factory=dict)     # folder -> new points total
    task_points: dict[str, float] = field(default_factory=dict)  # task id -> points
    datasets: tuple[str, ...] = ("mnist", "cifar10")   # the answer: the capstone's checkpoint datasets
    uses: tuple[str, ...] = ("mnist", "cifar10")       # course.toml `datasets`: what `make datasets` fetches
    gpu: bool = True
    capstone: dict[str, tuple[list[float], float]] = field(default_factory=dict)  # dataset -> (thresholds, budget_s)
    dropped_tasks: dict[str, str] = field(default_factory=dict)   # capstone task id -> checkpoint name
    dropped: list[str] = field(default_factory=list)  # the kit's other assignments
    notes: list[str] = field(default_factory=list)


def kit_course(kit: Path):
    import sys

    if str(kit) not in sys.path:
        sys.path.insert(0, str(kit))
    from vitlab.course import CourseError, load_course

    try:
        return load_course(kit)
    except CourseError as e:
        raise TemplateError(f"the kit at {kit} is broken: {e}") from None


def check_text(option: str, value: str) -> str:
    text = str(value).strip()
    if not text:
        raise TemplateError(f"{option}: must not be empty")
    if any(c in text for c in "\n\r\t"):
        raise TemplateError(f"{option}: {value!r} must be a single line")
    return text


def course_plan(ctx: dict, kit: Path) -> CoursePlan:
    """Check every answer of the course template; raise TemplateError naming the first bad one."""
    for key in ("course_name", "term", "instructor"):
        check_text(key, ctx[key])
    if not COURSE_ID.match(str(ctx["course_id"])):
        raise TemplateError(f"course_id: {ctx['course_id']!r} is not a valid course id "
                            "(2-40 characters: a lowercase letter, then lowercase letters, digits or _)")
    if not COURSE_SLUG.match(str(ctx["course_slug"])):
        raise TemplateError(f"course_slug: {ctx['course_slug']!r} is not a valid folder name "
                            "(lowercase letters, digits, '.', '-' or '_', starting with a letter or digit)")
    course = kit_course(kit)
    folders = _chosen(course, ctx["assignments"])
    plan = CoursePlan(kit, folders, gpu=yes("gpu", ctx["gpu"]),
                      dropped=[a.folder for a in course.assignments if a.folder not in folders])
    if ctx["dataset"] not in DATASETS:
        raise TemplateError(f"dataset: {ctx['dataset']!r} is not one of {', '.join(DATASETS)}")
    plan.datasets = DATASETS[ctx["dataset"]]
    plan.uses = course_datasets(ctx["dataset"], folders)
    extra = [d for d in plan.uses if d not in plan.datasets]
    if extra:
        users = ", ".join(f for f in folders if NEEDS.get(f) in extra)
        plan.notes.append(f"dataset={ctx['dataset']}: course.toml `datasets` (what `make datasets` fetches) "
                          f"also lists {' and '.join(NAMES[d] for d in extra)}, which {users} train on")
    for name in plan.datasets:
        plan.capstone[name] = (thresholds(f"{name}_thresholds", ctx[f"{name}_thresholds"]),
                               number(f"{name}_budget_s", ctx[f"{name}_budget_s"], low=0, low_open=True))
    if A4 in folders:
        plan.dropped_tasks = dropped_tasks(kit, plan.datasets)
        _check_no_test_needs(kit, folders, plan.dropped_tasks, ctx["dataset"])
        if plan.dropped_tasks:
            plan.notes.append(f"dataset={ctx['dataset']}: the capstone drops task(s) "
                              f"{', '.join(f'{t} ({n})' for t, n in sorted(plan.dropped_tasks.items()))}")
    _points(course, plan, ctx)
    plan.kept = needed_sources(kit, folders)
    for other, files in plan.kept.items():
        users = ", ".join(files)
        plan.notes.append(f"kept {users} of solutions/{other} as given code for the chosen assignments "
                          f"({other} itself is not part of the course)")
    if not plan.gpu and A4 in folders:
        plan.notes.append("CPU-only course: a recipe named without _cpu/_gpu "
                          f"(`make train CONFIG=vit_{plan.datasets[0]}`) runs the *_cpu one; check that the thresholds in course.toml [capstone] match "
                          "what a CPU reaches")
    return plan


def course_datasets(answer: str, folders: list[str]) -> tuple[str, ...]:
    """The datasets a course uses (course.toml `datasets`): the answer's, plus MNIST for the
    assignments that train on it."""
    if answer not in DATASETS:
        raise TemplateError(f"dataset: {answer!r} is not one of {', '.join(DATASETS)}")
    need = set(DATASETS[answer]) | {NEEDS[f] for f in folders if f in NEEDS}
    return tuple(d for d in ORDER if d in need)


def _chosen(course, text: str) -> list[str]:
    keys = words(text)
    if not keys:
        raise TemplateError("assignments: choose at least one (e.g. a1,a2)")
    known = {}
    for a in course.assignments:
        for k in (a.id, a.folder, str(a.number)):
            known[k] = a.folder
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise TemplateError(f"assignments: unknown assignment {unknown[0]!r} "
                            f"(the kit has: {', '.join(a.id + ' (' + a.folder + ')' for a in course.assignments)})")
    chosen = {known[k] for k in keys}
    if len(chosen) != len(keys):
        raise TemplateError(f"assignments: an assignment is named twice in {text!r}")
    return [a.folder for a in course.assignments if a.folder in chosen]


MARKER = re.compile(r"\btask(\d+)_(\d+)\b")


def _check_no_test_needs(kit: Path, folders: list[str], dropped: dict[str, str], dataset: str) -> None:
    """A public test that names a dropped task's marker would break the course's release:
    refuse the combination up front, naming the test."""
    for folder in folders:
        for test in sorted((kit / "solutions" / folder / "tests").rglob("*.py")):
            for lineno, line in enumerate(test.read_text(encoding="utf-8").splitlines(), 1):
                for m in MARKER.finditer(line):
                    tid = f"{m[1]}.{m[2]}"
                    if tid in dropped:
                        raise TemplateError(
                            f"dataset: {dataset!r} drops task {tid} ({dropped[tid]}) from the capstone, but "
                            f"{test.relative_to(kit)}:{lineno} names its marker {m[0]}; choose dataset=both, "
                            "or make that test find its tasks in assignment.toml")


def tasks(a, plan: CoursePlan) -> list:
    """The tasks an assignment keeps in the course."""
    return [t for t in a.tasks if t.id not in plan.dropped_tasks]


def _points(course, plan: CoursePlan, ctx: dict) -> None:
    chosen = [a for a in course.assignments if a.folder in plan.folders]
    totals = str(ctx.get("points", "")).strip()
    if totals and "=" not in totals:                   # one number: every assignment totals that
        value = number("points", totals, low=0, low_open=True)
        plan.totals = {a.folder: value for a in chosen}
    else:
        for key, value in mapping("points", totals).items():
            a = next((a for a in chosen if key in (a.id, a.folder, str(a.number))), None)
            if a is None:
                raise TemplateError(f"points: {key!r} is not one of the chosen assignments "
                                    f"({', '.join(x.id for x in chosen)})")
            plan.totals[a.folder] = number(f"points[{key}]", value, low=0, low_open=True)
    for folder in plan.totals:
        if not tasks(course.assignment(folder), plan):
            plan.notes.append(f"points: {folder} declares no tasks yet, so there is nothing to scale")
    ids = {t.id for a in chosen for t in tasks(a, plan)}
    for key, value in mapping("task_points", ctx.get("task_points", "")).items():
        if key in plan.dropped_tasks:
            raise TemplateError(f"task_points: task {key} ({plan.dropped_tasks[key]}) is not in a course "
                                f"with dataset={ctx['dataset']}")
        if key not in ids:
            raise TemplateError(f"task_points: {key!r} is not a task of the chosen assignments "
                                f"(tasks: {', '.join(sorted(ids, key=_task_key)) or 'none'})")
        plan.task_points[key] = number(f"task_points[{key}]", value, low=0)


def _task_key(tid: str) -> tuple[int, int]:
    x, y = tid.split(".")
    return int(x), int(y)


def needed_sources(kit: Path, folders: list[str]) -> dict[str, list[str]]:
    """Files of unchosen assignments that a chosen one reaches through symlinks (a2's
    `layers.py -> ../a1_numpy_layers/layers.py`), following chains of links, and those
    folders' own links to the kit's code (a3's `vitdata`, which a4's linked `train.py` imports)."""
    solutions = kit / "solutions"
    need: dict[str, set[str]] = {}
    todo = [p for f in folders for p in _links(solutions / f)]
    seen = set()
    while todo:
        link = todo.pop()
        if link in seen:
            continue
        seen.add(link)
        target = Path(os.path.normpath(link.parent / os.readlink(link)))
        try:
            rel = target.relative_to(solutions)
        except ValueError:
            continue                                   # the kit's own code (vitdata, vitlab.io)
        owner = rel.parts[0]
        if owner not in folders:
            need.setdefault(owner, set()).add(str(Path(*rel.parts[1:])))
        if target.is_symlink():
            todo.append(target)
    for owner, files in need.items():   # a linked script runs with its own folder first on sys.path:
        for link in _links(solutions / owner):      # it imports the kit's code (vitdata) from there
            if not Path(os.path.normpath(link.parent / os.readlink(link))).is_relative_to(solutions):
                files.add(str(link.relative_to(solutions / owner)))
    return {k: sorted(v) for k, v in sorted(need.items())}


def _links(folder: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            if (Path(dirpath) / name).is_symlink():
                out.append(Path(dirpath) / name)
    return out


IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def identifier(option: str, value: str) -> str:
    text = str(value).strip()
    if not IDENT.match(text) or keyword.iskeyword(text):
        raise TemplateError(f"{option}: {value!r} is not a valid lowercase Python name "
                            "(letters, digits and _, not starting with a digit, not a keyword)")
    return text


def course_plan_folders(kit: Path, choice: str) -> list[str]:
    """The chosen assignments' folders, in the kit's order."""
    return _chosen(kit_course(kit), choice)


def course_plan_datasets(kit: Path, answer: str, choice: str) -> list[str]:
    """course.toml `datasets` for a checked dataset answer and assignment choice."""
    return list(course_datasets(answer, course_plan_folders(kit, choice)))
