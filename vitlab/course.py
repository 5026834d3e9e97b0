"""The course registry: course.toml plus each assignment's assignment.toml.

Everything else (release, markers, grading, the README's course map) reads tasks from here,
so a task is declared exactly once.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TASK_ID = re.compile(r"^(\d+)\.(\d+)$")


class CourseError(ValueError):
    """A course or assignment file is malformed; the message names the file."""


@dataclass(frozen=True)
class Task:
    id: str
    title: str
    points: float
    files: tuple[str, ...]
    timeout_s: float = 60.0

    @property
    def marker(self) -> str:
        return "task" + self.id.replace(".", "_")


@dataclass(frozen=True)
class Assignment:
    folder: str
    id: str
    title: str
    tasks: tuple[Task, ...]
    source_dir: Path
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def number(self) -> int:
        return int(self.id.lstrip("a"))

    @property
    def numpy_only(self) -> bool:
        """Declared `numpy_only = true`: hand-written backprop, no autograd library for student code."""
        return self.extra.get("numpy_only", False) is True

    @property
    def points(self) -> float:
        return sum(t.points for t in self.tasks)

    def task(self, task_id: str) -> Task:
        for t in self.tasks:
            if t.id == task_id:
                return t
        raise CourseError(f"{self.folder}: no task {task_id!r} (known: {', '.join(t.id for t in self.tasks)})")


@dataclass(frozen=True)
class Course:
    name: str
    id: str
    root: Path
    assignments: tuple[Assignment, ...]
    settings: dict

    def assignment(self, key: str) -> Assignment:
        """Look up by id (`a1`), number (`1`) or folder name (`a1_numpy_layers`)."""
        key = key.strip().rstrip("/").split("/")[-1]
        for a in self.assignments:
            if key in (a.folder, a.id, str(a.number)):
                return a
        known = ", ".join(a.folder for a in self.assignments)
        raise CourseError(f"unknown assignment {key!r} (known: {known})")

    def all_tasks(self) -> list[tuple[Assignment, Task]]:
        return [(a, t) for a in self.assignments for t in a.tasks]


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CourseError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise CourseError(f"{path}: {e}") from None


def _parse_task(raw: dict, path: Path, number: int) -> Task:
    for key in ("id", "title", "points"):
        if key not in raw:
            raise CourseError(f"{path}: a [[tasks]] entry has no {key!r}: {raw}")
    tid = str(raw["id"])
    m = TASK_ID.match(tid)
    if not m:
        raise CourseError(f"{path}: task id {tid!r} is not of the form X.Y")
    if int(m.group(1)) != number:
        raise CourseError(f"{path}: task {tid} does not belong to assignment a{number}")
    points = raw["points"]
    if not isinstance(points, (int, float)) or points < 0:
        raise CourseError(f"{path}: task {tid} has invalid points {points!r}")
    return Task(
        id=tid,
        title=str(raw["title"]),
        points=float(points),
        files=tuple(raw.get("files", ())),
        timeout_s=float(raw.get("timeout_s", 60.0)),
    )


def _is_bool(v) -> bool:
    return isinstance(v, bool)


def _is_positive(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0


# Top-level assignment.toml settings the grader acts on (CONTRIBUTING, "Hidden graders"):
# a wrong type must stop the run, never quietly fall back to a default (a misspelt
# `numpy_only = "true"` would otherwise let autograd libraries into a NumPy assignment).
SETTINGS = {"numpy_only": ("true or false", _is_bool), "gpu": ("true or false", _is_bool),
            "isolate_given": ("true or false", _is_bool), "memory_limit_gb": ("a positive number", _is_positive)}


def _check_settings(extra: dict, path: Path) -> None:
    for key, (expected, ok) in SETTINGS.items():
        if key in extra and not ok(extra[key]):
            raise CourseError(f"{path}: {key!r} must be {expected}, not {extra[key]!r}")


def load_assignment(source_dir: Path) -> Assignment:
    path = source_dir / "assignment.toml"
    raw = _read_toml(path)
    aid = str(raw.get("id", ""))
    if not re.fullmatch(r"a\d+", aid):
        raise CourseError(f"{path}: id {aid!r} must look like 'a1'")
    if not source_dir.name.startswith(aid + "_"):
        raise CourseError(f"{path}: folder {source_dir.name!r} must start with '{aid}_'")
    number = int(aid[1:])
    tasks = tuple(_parse_task(t, path, number) for t in raw.get("tasks", []))
    extra = {k: v for k, v in raw.items() if k not in ("id", "title", "tasks")}
    _check_settings(extra, path)
    return Assignment(source_dir.name, aid, str(raw.get("title", aid)), tasks, source_dir, extra)


def load_course(root: Path | str = ROOT) -> Course:
    root = Path(root)
    raw = _read_toml(root / "course.toml")
    folders = raw.get("assignments", [])
    assignments = []
    for folder in folders:
        src = root / "solutions" / folder
        if not src.is_dir():
            raise CourseError(f"{root / 'course.toml'}: assignment folder solutions/{folder} does not exist")
        assignments.append(load_assignment(src))
    course = Course(str(raw.get("name", "ViT Lab")), str(raw.get("id", "vitlab")), root, tuple(assignments), raw)
    _check_unique(course)
    return course


def _check_unique(course: Course) -> None:
    seen: dict[str, str] = {}
    for a, t in course.all_tasks():
        if t.id in seen:
            raise CourseError(f"task id {t.id} is used twice: in {seen[t.id]} and {a.folder}/assignment.toml")
        seen[t.id] = f"{a.folder}/assignment.toml"
    ids = [a.id for a in course.assignments]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise CourseError(f"course.toml: assignment id(s) used twice: {', '.join(sorted(dup))}")


def course_map(course: Course) -> str:
    """The README's course map: assignment -> tasks (id, title, points) -> files."""
    out = []
    for a in course.assignments:
        out.append(f"### `{a.folder}`: {a.title} ({a.points:g} points)\n")
        out.append("| task | title | points | files |\n| --- | --- | --- | --- |")
        out += [f"| {t.id} | {t.title} | {t.points:g} | {', '.join(f'`{f}`' for f in t.files) or '-'} |" for t in a.tasks]
        out.append("")
    return "\n".join(out)


DATASETS = ("mnist", "cifar10")


def course_datasets(course: Course) -> list[str]:
    """course.toml `datasets`: the datasets the course uses (default: both)."""
    names = course.settings.get("datasets", list(DATASETS))
    if not isinstance(names, list) or not names or any(n not in DATASETS for n in names):
        raise CourseError(f"{course.root / 'course.toml'}: datasets = {names!r} must list some of "
                          f"{', '.join(map(repr, DATASETS))}")
    return names


def _main(argv: list[str]) -> int:
    """`python -m vitlab.course folders | folder KEY | map | datasets | kind`: small queries for
    the Makefile. `datasets` prints what `python -m vitdata fetch` takes (`all` for both);
    `kind` prints `gpu` or `cpu` (course.toml `gpu`, default true)."""
    import sys

    try:
        course = load_course()
        if argv[:1] == ["folders"]:
            print(" ".join(a.folder for a in course.assignments))
        elif argv[:1] == ["folder"] and len(argv) == 2:
            print(course.assignment(argv[1]).folder)
        elif argv[:1] == ["map"]:
            print(course_map(course))
        elif argv[:1] == ["datasets"]:
            names = course_datasets(course)
            print("all" if set(names) == set(DATASETS) else " ".join(names))
        elif argv[:1] == ["kind"]:
            print("gpu" if course.settings.get("gpu", True) is not False else "cpu")
        else:
            print("usage: python -m vitlab.course folders | folder KEY | map | datasets | kind", file=sys.stderr)
            return 2
    except CourseError as e:
        print(f"course: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(_main(sys.argv[1:]))
