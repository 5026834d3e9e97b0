"""Adding a task to an assignment: check the answers, then move the baked files into place.

`make new-exercise` bakes `template/exercise/` into a staging folder; its hooks call
`exercise_plan` (before anything is written) and `install` (after), which puts

    <module>.py                 -> solutions/<a>/<module>.py (new, or appended to)
    public_tests.py             -> solutions/<a>/tests/test_<slug>.py
    hidden_grader.py            -> autograder/graders/<a>/test_<slug>.py
    task.toml                   -> appended to solutions/<a>/assignment.toml
    notebook_*.{md,py}          -> a section appended to the assignment's notebook

and runs the course's release, so `assignments/`, the markers and the README's course map
follow. If any step fails, every file is put back as it was.
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from template.fs import save
from template.options import TemplateError, number
from template.plan import check_text, identifier


def _course(root: Path):
    root = Path(root)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from vitlab.course import CourseError, load_course

    try:
        return load_course(root)
    except CourseError as e:
        raise TemplateError(f"the course at {root} is broken: {e}") from None


def _assignment(course, key: str):
    from vitlab.course import CourseError

    try:
        return course.assignment(str(key))
    except CourseError as e:
        raise TemplateError(f"assignment: {e}") from None


def next_task_id(root: Path, assignment: str) -> str:
    """The first unused `X.Y` after the assignment's last task ('1.9' after 1.8)."""
    course = _course(root)
    a = _assignment(course, assignment)
    used = {t.id for _, t in course.all_tasks()}
    y = max((int(t.id.split(".")[1]) for t in a.tasks), default=0) + 1
    while f"{a.number}.{y}" in used:
        y += 1
    return f"{a.number}.{y}"


@dataclass(frozen=True)
class Exercise:
    root: Path
    folder: str
    task_id: str
    title: str
    slug: str
    module: str
    function: str
    points: float
    timeout_s: float

    @property
    def marker(self) -> str:
        return "task" + self.task_id.replace(".", "_")

    @property
    def source(self) -> Path:
        return self.root / "solutions" / self.folder

    @property
    def module_path(self) -> Path:
        return self.source / f"{self.module}.py"

    @property
    def test_path(self) -> Path:
        return self.source / "tests" / f"test_{self.slug}.py"

    @property
    def grader_path(self) -> Path:
        return self.root / "autograder" / "graders" / self.folder / f"test_{self.slug}.py"

    @property
    def notebook_path(self) -> Path:
        """The assignment's own notebook (`<folder>.ipynb` first); a new one when it has none."""
        own = sorted(p for p in self.source.glob("*.ipynb") if not p.is_symlink())
        preferred = self.source / f"{self.folder}.ipynb"
        return preferred if preferred in own or not own else own[0]


def exercise_plan(ctx: dict, root: Path | str) -> Exercise:
    """Check the exercise template's answers against the course; raise TemplateError naming
    the first bad value."""
    root = Path(root)
    course = _course(root)
    a = _assignment(course, ctx["assignment"])
    tid = str(ctx["task_id"]).strip()
    x, dot, y = tid.partition(".")
    if not (dot and x.isdigit() and y.isdigit() and int(y) > 0):
        raise TemplateError(f"task_id: {tid!r} is not of the form X.Y (e.g. {a.number}.1)")
    if int(x) != a.number:
        raise TemplateError(f"task_id: {tid!r} does not belong to {a.id} ({a.folder}); its ids are {a.number}.Y")
    for other, t in course.all_tasks():
        if t.id == tid:
            raise TemplateError(f"task_id: task {tid} already exists ({t.title!r} in "
                                f"solutions/{other.folder}/assignment.toml); the next free id is {next_task_id(root, a.id)}")
    title = check_text("title", ctx["title"])
    if any(c in title for c in '"\\`'):
        raise TemplateError(f"title: {title!r} must not contain '\"', '\\' or '`'")
    ex = Exercise(root, a.folder, tid, title, identifier("slug", ctx["slug"]), identifier("module", ctx["module"]),
                  identifier("function_name", ctx["function_name"]),
                  number("points", ctx["points"], low=0, low_open=True),
                  number("timeout_s", ctx["timeout_s"], low=0, low_open=True))
    _check_paths(ex)
    return ex


def _check_paths(ex: Exercise) -> None:
    for path, what in ((ex.test_path, "public test"), (ex.grader_path, "hidden grader")):
        if path.exists():
            raise TemplateError(f"slug: {ex.slug!r}: the {what} {path.relative_to(ex.root)} already exists; choose another slug")
    if ex.module in sys.stdlib_module_names or ex.module in ("numpy", "torch", "pytest", "tests", "conftest"):
        raise TemplateError(f"module: {ex.module!r} would shadow a library module of that name; choose another")
    if (ex.source / ex.module).exists():
        raise TemplateError(f"module: {ex.folder} already has a package {ex.module}/; choose another module name")
    if not ex.module_path.exists():
        return
    shown = ex.module_path.relative_to(ex.root)
    if ex.module_path.is_symlink():
        raise TemplateError(f"module: {shown} is given code from elsewhere (a symlink); choose a module of {ex.folder} itself")
    text = ex.module_path.read_text(encoding="utf-8")
    try:
        tree = ast.parse(text)
    except SyntaxError as e:
        raise TemplateError(f"module: {shown}:{e.lineno}: {e.msg}") from None
    names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    for fn in (f"{ex.function}_forward", f"{ex.function}_backward"):
        if fn in names:
            raise TemplateError(f"function_name: {shown} already defines {fn}(); choose another name")
    if "import numpy as np" not in text:
        raise TemplateError(f"module: {shown} does not `import numpy as np`, which the generated code needs; choose another module")


def install(ex: Exercise, staged: Path) -> list[str]:
    """Put the baked files of `staged` into the course and release it. All or nothing."""
    from template.notebook import append_section

    journal = _Journal()
    try:
        function = (staged / "function.py").read_text(encoding="utf-8")
        if ex.module_path.exists():
            journal.write(ex.module_path, ex.module_path.read_text(encoding="utf-8").rstrip("\n") + "\n\n\n" + function)
        else:
            journal.write(ex.module_path, (staged / "module_header.py").read_text(encoding="utf-8") + "\n\n" + function)
        journal.write(ex.test_path, (staged / "public_tests.py").read_text(encoding="utf-8"))
        journal.write(ex.grader_path, (staged / "hidden_grader.py").read_text(encoding="utf-8"))
        toml = ex.source / "assignment.toml"
        journal.write(toml, toml.read_text(encoding="utf-8").rstrip("\n") + "\n" + (staged / "task.toml").read_text(encoding="utf-8"))
        journal.write(ex.notebook_path, append_section(ex, staged))
        _course(ex.root)                                # the new task parses and its id is unique
        _release(ex.root)
    except BaseException:
        journal.undo()
        raise
    rel = lambda p: p.relative_to(ex.root)  # noqa: E731
    return [f"new-exercise: task {ex.task_id} ({ex.title}, {ex.points:g} points, marker {ex.marker}) added to {ex.folder}:",
            *(f"  {rel(p)}" for p in journal.touched),
            "new-exercise: released: assignments/ and the README's course map are up to date",
            f"new-exercise: next: edit the fences in {rel(ex.module_path)}, its tests and grader; then `make release`"]


def _release(root: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-m", "vitlab.release"], cwd=root, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise TemplateError(f"`make release` failed after adding the task:\n{proc.stdout}{proc.stderr}")


class _Journal:
    """Remembers each file's old content (or absence) so a failed install can be undone."""

    def __init__(self):
        self.old: dict[Path, bytes | None] = {}

    @property
    def touched(self) -> list[Path]:
        return list(self.old)

    def write(self, path: Path, text: str) -> None:
        if path not in self.old:
            self.old[path] = path.read_bytes() if path.exists() else None
        save(path, text)

    def undo(self) -> None:
        for path, data in self.old.items():
            if data is None:
                path.unlink(missing_ok=True)
            else:
                save(path, data)
