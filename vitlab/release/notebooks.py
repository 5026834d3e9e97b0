"""Release notebooks with nbgrader's own `generate_assignment`.

nbgrader copies every file of a source folder verbatim, which would ship the reference
`.py` modules; so it runs on a staging course that holds only the notebooks, and the `.py`
files go through `vitlab.release.fences` instead.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

from vitlab.course import CourseError


class NotebookError(CourseError):
    """nbgrader refused a notebook; the message names it."""


def validate(path: Path) -> None:
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as e:  # nbformat raises several unrelated types for bad JSON
        raise NotebookError(f"{path}: not a valid notebook: {e}") from None
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    ids = [i for i in ids if i]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise NotebookError(f"{path}: nbgrader grade_id used twice: {', '.join(sorted(dup))}")


def generate(jobs: dict[str, dict[Path, Path]], out_root: Path) -> None:
    """Run nbgrader's generate_assignment for each folder in `jobs`.

    `jobs` maps an assignment folder to {relative path: source notebook}; released
    notebooks land in `out_root/<folder>/<relative path>`. One staging course serves every
    assignment, so nbgrader creates its gradebook once.
    """
    jobs = {folder: nbs for folder, nbs in jobs.items() if nbs}
    if not jobs:
        return
    for nbs in jobs.values():
        for src in nbs.values():
            validate(src)
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    # nbgrader runs `alembic` from PATH to create its gradebook: put the venv first.
    bindir = str(Path(sys.executable).parent)
    if not os.environ.get("PATH", "").startswith(bindir):
        os.environ["PATH"] = f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"
    with tempfile.TemporaryDirectory(prefix="vitlab-nbgrader-") as tmp:
        root = Path(tmp)
        for folder, nbs in jobs.items():
            for rel, src in nbs.items():
                dest = root / "source" / folder / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest)
        config = Config()
        config.CourseDirectory.root = str(root)
        config.Application.log_level = "ERROR"
        api = NbGraderAPI(config=config)
        for folder, nbs in jobs.items():
            result = api.generate_assignment(folder, force=True)
            if not result.get("success"):
                raise NotebookError(f"nbgrader generate_assignment {folder} failed:\n{result.get('error') or result.get('log')}")
            for rel in nbs:
                released = root / "release" / folder / rel
                if not released.is_file():
                    raise NotebookError(f"nbgrader did not release {folder}/{rel}:\n{result.get('log')}")
                target = out_root / folder / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(released, target)


def unscored_cells(course) -> list[str]:
    """Autograded cells (nbgrader `grade`, with points) that no task scores: in a notebook
    that no task lists in its `files`, or named after no task of those that do. Each one
    is a question the notebook calls graded and grading ignores."""
    found = []
    for a in course.assignments:
        for path in sorted(a.source_dir.rglob("*.ipynb")):
            if ".ipynb_checkpoints" in path.parts:
                continue
            rel = str(path.relative_to(a.source_dir))
            markers = [t.marker for t in a.tasks if rel in t.files]
            for cell in nbformat.read(path, as_version=4).cells:
                meta = cell.get("metadata", {}).get("nbgrader", {})
                gid = str(meta.get("grade_id", ""))
                if not meta.get("grade"):
                    continue
                if not any(gid == m or gid.startswith(m + "_") for m in markers):
                    why = "no task lists this notebook" if not markers else f"no task's marker ({', '.join(markers)}) names it"
                    found.append(f"{a.folder}/{rel}: graded cell {gid or '(no grade_id)'} is never scored: {why}")
    return found
