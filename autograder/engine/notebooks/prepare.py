"""The nbgrader course a run grades notebooks with: made once per run from the release
(generate_assignment), cached by content."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from autograder.engine.notebooks.cells import NotebookPlan, notebook_tasks, config, venv_on_path, course_root

CACHE = Path(__file__).resolve().parents[3] / "build" / "nbgrader-courses"


def prepare(assignment, work: Path, cache: Path | None = CACHE) -> NotebookPlan | None:
    """Once per run: an nbgrader course with the assignment's notebooks only (None, and
    nbgrader not imported, without a notebook task: a1's Gradescope image has no nbgrader)."""
    tasks = notebook_tasks(assignment)
    if not tasks:
        return None
    import nbgrader

    nbs = sorted({nb for files in tasks.values() for nb in files})
    h = hashlib.sha256(f"{assignment.folder}\0{nbgrader.__version__}\0v2\0".encode())
    for nb in nbs:
        src = assignment.source_dir / nb
        if not src.is_file():
            raise FileNotFoundError(f"{assignment.folder}: task notebook {nb} not found in {assignment.source_dir}")
        h.update(nb.encode() + b"\0" + src.read_bytes() + b"\0")

    plan = NotebookPlan(work / "nbgrader", assignment.folder, nbs, tasks,
                        {t.id: t.marker for t in assignment.tasks if t.id in tasks},
                        course_root(Path(assignment.source_dir).parents[1]))
    cached = cache / h.hexdigest()[:16] if cache is not None else None
    if cached is not None and (cached / "gradebook.db").is_file():
        shutil.copytree(cached, plan.template)
        return plan
    generate(assignment.folder, {nb: assignment.source_dir / nb for nb in nbs}, plan.template)
    if cached is not None:
        tmp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
        shutil.copytree(plan.template, tmp)
        try:
            tmp.rename(cached)      # atomic: a half-written course is never used
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)   # another run cached it first
    return plan


def generate(folder: str, nbs: dict[str, Path], root: Path) -> None:
    """nbgrader's generate_assignment on a course that holds only these notebooks."""
    from nbgrader.apps import NbGraderAPI

    for rel, src in nbs.items():
        dest = root / "source" / folder / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
    venv_on_path()
    result = NbGraderAPI(config=config(root)).generate_assignment(folder, force=True)
    if not result.get("success"):
        raise RuntimeError(f"nbgrader generate_assignment {folder} failed:\n"
                           f"{result.get('error') or result.get('log')}")

