"""Baking a course: copy the kit's own files into the new course, keep only the chosen parts.

The course template holds only what differs per course (course.toml, the README's head).
The rest of the README is written here from the course's own parts (its assignments, data
sets, capstone, folders); the manual (docs/) is the kit's, copied as it is. Everything else
(tooling, engine, graders, solutions, tests) is copied from the kit here,
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

# The pages of the kit's manual that a baked course's Gradescope settings table is in.
GRADESCOPE_PAGES = ("README.md", "docs/instructors/gradescope.md")


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
    """The course's README: its rendered head with a summary of what it holds, then sections
    written from the course's own parts (commands, course map, manual, folders). Nothing of
    the kit's README is copied: it speaks of the kit's assignments, data sets and capstone."""
    head = (dest / "README.md").read_text(encoding="utf-8")
    head = head.replace("<!-- bake:summary -->", summary(plan))
    save(dest / "README.md", head.rstrip("\n") + "\n\n" + readme_body(plan, dest))


def used_datasets(plan: CoursePlan) -> dict[str, list[str]]:
    """Data set -> the course's assignments that train or are graded on it, in the kit's order."""
    from template.plan import NEEDS

    users: dict[str, list[str]] = {}
    for folder in plan.folders:
        names = list(plan.datasets) if folder == A4 else [NEEDS[folder]] if folder in NEEDS else []
        for name in names:
            users.setdefault(name, []).append(folder)
    return {d: users[d] for d in NAMES if d in users}


def summary(plan: CoursePlan) -> str:
    from template.plan import kit_course

    course = kit_course(plan.kit)
    lines = ["Assignments:", ""]
    lines += [f"- `{a.folder}`: {a.title}" for a in course.assignments if a.folder in plan.folders]
    used = used_datasets(plan)
    lines.append("")
    if used:
        parts = [f"{NAMES[d]} ({', '.join(f'`{f}`' for f in users)})" for d, users in used.items()]
        lines.append(f"Data sets: {' and '.join(parts)}; `make datasets` fetches the ones `course.toml` lists.")
    else:
        lines.append("No assignment of this course reads a data set.")
    if A4 in plan.folders:
        kind = "on a GPU (`gpu = true`)" if plan.gpu else "on CPUs (a CPU-only course)"
        lines.append(f"The capstone trains {kind}; its accuracy thresholds and evaluation budgets are in "
                     "`course.toml` under `[capstone]`.")
    return "\n".join(lines)


def readme_body(plan: CoursePlan, dest: Path) -> str:
    """The README's sections after the head, from the course's own parts."""
    from template.plan import kit_course

    course = kit_course(plan.kit)
    chosen = [a for a in course.assignments if a.folder in plan.folders]
    first = chosen[0]
    a1 = "a1_numpy_layers" in plan.folders
    grade = ("make grade SUBMISSIONS=dir  # grade submissions of the first assignment"
             + (f" (ASSIGNMENT={chosen[1].id} for another)" if len(chosen) > 1 else "")
             + (";\n                            # without SUBMISSIONS: a1's bundled examples" if a1 else ""))
    cmds = ["make setup                  # .venv with every pinned dependency (not needed after SHARE_VENV=1)",
            "make test                   # the course's own test suite (make test-all: the deep tier too)"]
    if used_datasets(plan):
        cmds.append("make datasets               # the data sets course.toml lists (MIRROR=<dir> for a local mirror)")
    cmds += ["make release                # assignments/ from solutions/ (make release-check: in sync?)",
             grade,
             "make new-exercise           # add a task to an assignment",
             "make docs                   # the manual (docs/) into build/site/"]
    out = ["## Start here", "", "```", *cmds, "```", "",
           "`make` alone lists every target. `make test` runs the kit's suite as this course ships it, "
           "for the parts it holds: the release is in sync with `solutions/` and leaks no solution, every "
           "public test passes on the reference and fails on the stubs, the hidden graders give the "
           f"reference full marks and the stubs zero, and the grading engine. `{first.folder}` is "
           "the first assignment: `make grade` and `make grade-check` take it when no ASSIGNMENT is given.", "",
           "## Course map", "",
           "Each assignment lives once in `solutions/<folder>/` (reference code inside "
           "`### BEGIN SOLUTION` fences) and is released to `assignments/<folder>/` by `make release`, "
           "which also rewrites this map.", "",
           "<!-- course-map:begin -->", "<!-- course-map:end -->", ""]
    if (dest / "docs").is_dir():
        pages = [("Students", "docs/students.md"), ("Instructors: release and grade", "docs/instructors/index.md"),
                 ("Grading", "docs/instructors/grading.md"), ("The term", "docs/instructors/term.md"),
                 ("Gradescope", "docs/instructors/gradescope.md"),
                 ("nbgrader and formgrader", "docs/instructors/nbgrader.md"),
                 ("LMS import and export", "docs/instructors/lms.md"),
                 ("Course designers", "docs/designers/index.md"), ("A new exercise", "docs/designers/new-exercise.md")]
        if A4 in plan.folders:
            pages.append(("Capstone", "docs/capstone.md"))
        if used_datasets(plan):
            pages.append(("Datasets", "docs/datasets.md"))
        pages += [("Trust model", "docs/trust-model.md"), ("Contributing", "docs/contributing/index.md")]
        out += ["## Manual", "",
                "The manual is the one of ViT Lab, the kit this course was baked from (its examples name "
                "the kit's assignments); `make docs` builds it into `build/site/`.", ""]
        out += [f"- [{title}]({path})" for title, path in pages if (dest / path).is_file()]
        out.append("")
    out += ["## Folders", "", "```"]
    tree = [("course.toml", "the course: name, assignments in order" + (", capstone thresholds" if A4 in plan.folders else "")),
            ("solutions/<a>/", "reference code (fenced), public tests, the assignment's guide"),
            ("assignments/<a>/", "generated by `make release`; what students get"),
            ("autograder/", "grading engine, sandbox helpers, hidden graders"),
            ("datasets/vitdata/", "fetching, verifying and loading the data sets"),
            ("vitlab/", "course registry, release pipeline, benchmarks"),
            ("examples/submissions/", "example submissions graded by plain `make grade`"),
            ("tests/", "the course's own tests (`make test`)"),
            ("docs/", "the manual (`make docs`)")]
    for path, what in tree:
        if (dest / path.split("<")[0].rstrip("/")).exists():
            out.append(f"{path:<24}{what}")
    out += ["```", ""]
    return "\n".join(out)


GRADESCOPE_ROW = re.compile(r"^( *)\| a\d+ \| Ubuntu 22\.04, Base \|.*\|\n", re.M)


def gradescope_rows(dest: Path) -> None:
    """The Gradescope settings table (in the manual's Gradescope page), one row per
    assignment of the course, from the course's own settings (the kit's rows name the kit's
    assignments, budgets and data sets)."""
    from autograder.engine.gradescope.build import settings
    from autograder.engine.gradescope.data import grading_datasets
    from vitlab.course import load_course

    course = load_course(dest)
    for page in GRADESCOPE_PAGES:
        if not (dest / page).is_file():
            continue
        text = (dest / page).read_text(encoding="utf-8")
        rows = list(GRADESCOPE_ROW.finditer(text))
        if not rows:
            continue
        indent = rows[0].group(1)
        new = ""
        for a in course.assignments:
            s = settings(course, a)
            data = ", ".join(NAMES[d] for d in grading_datasets(course, a.id)) or "none"
            new += f"{indent}| {a.id} | Ubuntu 22.04, Base | {s['timeout_min']} min | {s['memory_gb']} GB | {s['cpus']} | {data} |\n"
        save(dest / page, text[:rows[0].start()] + new + text[rows[-1].end():])


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
