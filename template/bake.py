"""Baking a course: copy the kit's own files into the new course, keep only the chosen parts.

The course template holds only what differs per course (course.toml, the README's head).
Everything else (tooling, engine, graders, solutions, tests) is copied from the kit here,
so reference code exists once. Then the unchosen assignments go, points are rewritten and
the new course releases itself, so its `assignments/` matches its `solutions/`.
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from template.capstone import A4, NAMES, checkpoint_timeouts, course_tables
from template.fs import save
from template.options import TemplateError
from template.plan import CoursePlan, tasks
from template.points import scale
from template.tomltext import drop_tasks, parse, set_points, set_task_value

# Never copied: environments, caches, outputs, data, and what the bake regenerates.
SKIP_NAMES = {".git", ".venv", "__pycache__", ".pytest_cache", ".hypothesis", ".ipynb_checkpoints",
              ".mypy_cache", ".ruff_cache"}
SKIP_SUFFIXES = (".pyc", ".pyo", ".egg-info")
SKIP_PATHS = {"assignments", "build", "grading", "runs", "checkpoints", "datasets/data", "datasets/mirror",
              ".carry", ".whl", "bench/results", "tests/template", "template/course", "course.toml", "README.md"}
SKIP_IN_SOLUTIONS = {"runs", "checkpoints"}     # training outputs beside the reference code
# The instructor's records of students: the term's files (autograder/term/config.py) and
# nbgrader's grades. A new course is published by its next step, `git add .`.
NBGRADER_RECORDS = {"grades.csv"}                # `nbgrader export`, where it runs
NBGRADER_NAMES = {"gradebook.db"}                # nbgrader's gradebook, wherever it is

NEW_COURSE_BEGIN, NEW_COURSE_END = "<!-- template:new-course:begin -->", "<!-- template:new-course:end -->"


def bake(plan: CoursePlan, dest: Path, venv: str = "") -> list[str]:
    """Fill the freshly rendered course at `dest` (course.toml and README head in place)."""
    log = [f"new-course: {dest.name}: {', '.join(plan.folders)}"]
    copied = copy_kit(plan, dest)
    log.append(f"new-course: copied {copied} files from the kit at {plan.kit}")
    kept_back = sorted(p for p in personal(plan.kit) if (plan.kit / p).exists())
    if kept_back:
        log.append(f"new-course: not copied (student records): {', '.join(kept_back)}")
    merge_readme(plan, dest)
    write_course_toml(plan, dest)
    log += rewrite_points(plan, dest)
    gradescope_rows(dest)
    if venv:
        (dest / ".venv").symlink_to(Path(venv).expanduser().resolve(), target_is_directory=True)
        log.append(f"new-course: .venv -> {Path(venv).expanduser().resolve()}")
    log += release(dest)
    log += [f"note: {n}" for n in plan.notes]
    return log


def unwanted(rel: str, plan: CoursePlan) -> bool:
    """Whether kit path `rel` (posix, relative) stays out of the course."""
    parts = rel.split("/")
    if parts[-1] in SKIP_NAMES | NBGRADER_NAMES or parts[-1].endswith(SKIP_SUFFIXES):
        return True
    if rel in personal(plan.kit):
        return True
    if any("/".join(parts[:i]) in SKIP_PATHS for i in range(1, len(parts) + 1)):
        return True
    if parts[0] == "solutions" and SKIP_IN_SOLUTIONS & set(parts[2:]):
        return True
    for folder in plan.dropped:
        if folder not in parts:
            continue
        if parts[:2] != ["solutions", folder]:
            return True                                  # its graders, examples, ...
        inside = "/".join(parts[2:])                     # "": the folder itself
        kept = plan.kept.get(folder, [])
        return not ((inside == "" and kept) or any(k == inside or k.startswith(inside + "/") or inside.startswith(k + "/")
                                        for k in kept))
    return False


@functools.lru_cache(maxsize=None)
def personal(kit: Path) -> frozenset[str]:
    """Paths (relative to the kit) of its student records: the term's files under the names
    the kit's course.toml [gradebook] gives them (default `<key>.csv`), and nbgrader's."""
    import tomllib

    from autograder.term.config import FILE_KEYS

    try:
        table = tomllib.loads((kit / "course.toml").read_text(encoding="utf-8")).get("gradebook", {})
    except (OSError, ValueError):
        table = {}
    table = table if isinstance(table, dict) else {}
    names = {f"{k}.csv" for k in FILE_KEYS} | {table[k] for k in FILE_KEYS if isinstance(table.get(k), str)}
    return frozenset(Path(n).as_posix() for n in names) | NBGRADER_RECORDS


def _names_dropped(rel: str, path: Path, plan: CoursePlan) -> bool:
    """Tests, benchmarks and examples of a dropped assignment: in a folder named after its id
    (tests/a2/), a benchmark named after it (bench/a2_train.py), or a file naming its folder
    when none of that folder stays (a folder kept as given code does not drop its readers)."""
    if not rel.startswith(("tests/", "bench/", "examples/")) or path.is_dir():
        return False
    parts = rel.split("/")
    ids = [f.split("_")[0] for f in plan.dropped]
    if any(i in parts[1:-1] for i in ids):
        return True
    if parts[0] == "bench" and any(parts[-1].startswith(i + "_") for i in ids):
        return True
    if path.suffix in (".py", ".toml", ".md", ".json", ".txt", ".ini") and not path.is_symlink():
        text = path.read_text(encoding="utf-8", errors="replace")
        return any(folder in text for folder in plan.dropped if folder not in plan.kept)
    return False


def copy_kit(plan: CoursePlan, dest: Path) -> int:
    """Copy the kit's files (symlinks as symlinks) except the unwanted ones; count the files."""
    n = 0
    dest_real = dest.resolve()
    for dirpath, dirnames, filenames in os.walk(plan.kit):
        here = Path(dirpath)
        if here.resolve() == dest_real:          # a course baked inside the kit is not copied into itself
            dirnames[:] = []
            continue
        rel_dir = here.relative_to(plan.kit).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        keep_dirs = []
        for d in sorted(dirnames):
            rel = rel_dir + d
            if unwanted(rel, plan):
                continue
            if (here / d).is_symlink():
                _link(here / d, dest / rel)
                n += 1
            else:
                keep_dirs.append(d)
        dirnames[:] = keep_dirs
        for name in sorted(filenames):
            rel = rel_dir + name
            src = here / name
            if unwanted(rel, plan) or _names_dropped(rel, src, plan) or (dest / rel).exists():
                continue
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            if src.is_symlink():
                _link(src, dest / rel)
            else:
                shutil.copy2(src, dest / rel)
            n += 1
    return n


def _link(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(os.readlink(src), dest)


def merge_readme(plan: CoursePlan, dest: Path) -> None:
    """The course's README: its rendered head, a summary of what it holds, then the kit's
    README from its first section on (without the part about baking courses)."""
    head = (dest / "README.md").read_text(encoding="utf-8")
    kit = (plan.kit / "README.md").read_text(encoding="utf-8")
    body = kit[kit.index("\n## ") + 1:] if "\n## " in kit else ""
    if NEW_COURSE_BEGIN in body and NEW_COURSE_END in body:
        before, rest = body.split(NEW_COURSE_BEGIN, 1)
        body = before.rstrip("\n") + "\n\n" + rest.split(NEW_COURSE_END, 1)[1].lstrip("\n")
    head = head.replace("<!-- bake:summary -->", summary(plan))
    save(dest / "README.md", head.rstrip("\n") + "\n\n" + body)


def summary(plan: CoursePlan) -> str:
    from template.plan import kit_course

    course = kit_course(plan.kit)
    lines = ["Assignments:", ""]
    lines += [f"- `{a.folder}`: {a.title}" for a in course.assignments if a.folder in plan.folders]
    names = " and ".join(NAMES[d] for d in plan.uses)
    kind = "a GPU course" if plan.gpu else "a CPU-only course"
    lines += ["", f"This is {kind} on {names} (`make datasets` fetches {'them' if len(plan.uses) > 1 else 'it'})."]
    if "a4_capstone" in plan.folders:
        lines[-1] += (" The capstone's accuracy thresholds and evaluation budgets are in "
                      "`course.toml` under `[capstone]`.")
    return "\n".join(lines)


GRADESCOPE_ROW = re.compile(r"^( *)\| a\d+ \| Ubuntu 22\.04, Base \|.*\|\n", re.M)


def gradescope_rows(dest: Path) -> None:
    """The README's Gradescope settings table, one row per assignment of the course, from the
    course's own settings (the kit's rows name the kit's assignments, budgets and data sets)."""
    from autograder.engine.gradescope import settings
    from autograder.engine.gradescope_data import grading_datasets
    from vitlab.course import load_course

    course = load_course(dest)
    text = (dest / "README.md").read_text(encoding="utf-8")
    rows = list(GRADESCOPE_ROW.finditer(text))
    if not rows:
        return
    indent = rows[0].group(1)
    new = ""
    for a in course.assignments:
        s = settings(course, a)
        data = ", ".join(NAMES[d] for d in grading_datasets(course, a.id)) or "none"
        new += f"{indent}| {a.id} | Ubuntu 22.04, Base | {s['timeout_min']} min | {s['memory_gb']} GB | {s['cpus']} | {data} |\n"
    save(dest / "README.md", text[:rows[0].start()] + new + text[rows[-1].end():])


def write_course_toml(plan: CoursePlan, dest: Path) -> None:
    """The rendered head (name, id, term, instructor, assignments, gpu, datasets), then the
    kit's own tables (the capstone's), edited for the course."""
    head = (dest / "course.toml").read_text(encoding="utf-8")
    tables = course_tables((plan.kit / "course.toml").read_text(encoding="utf-8"), plan.folders, plan.capstone,
                           str(dest / "course.toml"))
    text = head.rstrip("\n") + "\n" + ("\n" + tables.lstrip("\n") if tables.strip() else "")
    parse(text, str(dest / "course.toml"))
    save(dest / "course.toml", text)


def rewrite_points(plan: CoursePlan, dest: Path) -> list[str]:
    """Scale assignment totals, then apply per-task overrides, in the course's assignment.toml files."""
    from template.plan import kit_course

    log = []
    course = kit_course(plan.kit)
    for a in course.assignments:
        if a.folder not in plan.folders:
            continue
        path = dest / "solutions" / a.folder / "assignment.toml"
        text = path.read_text(encoding="utf-8")
        gone = {t.id for t in a.tasks} & set(plan.dropped_tasks)
        if gone:
            text = drop_tasks(text, gone, str(path))
        kept = {t.id: t.points for t in tasks(a, plan)}
        new = scale(kept, plan.totals[a.folder]) if a.folder in plan.totals and kept else {}
        new.update({k: v for k, v in plan.task_points.items() if k in kept})
        for tid, pts in new.items():
            text = set_points(text, tid, pts, str(path))
        limits = checkpoint_timeouts(course, plan.capstone) if a.folder == A4 else {}
        for tid, seconds in limits.items():
            text = set_task_value(text, tid, "timeout_s", seconds, str(path))
            log.append(f"new-course: task {tid}: timeout_s {seconds:g} (its evaluation budget grew)")
        if gone or new or limits:
            save(path, text)
            log.append(f"new-course: {a.folder}: {len(kept)} tasks, {sum((kept | new).values()):g} points")
    return log


def release(dest: Path) -> list[str]:
    """Run the new course's own release, so assignments/ and the README's course map follow."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-m", "vitlab.release"], cwd=dest, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise TemplateError(f"the new course's `make release` failed:\n{proc.stdout}{proc.stderr}")
    return [f"new-course: release: {line}" for line in proc.stdout.splitlines()]
