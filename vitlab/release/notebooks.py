"""Release notebooks with nbgrader's own `generate_assignment`.

nbgrader copies every file of a source folder verbatim, which would ship the reference
`.py` modules; so it runs on a staging course that holds only the notebooks, and the `.py`
files go through `vitlab.release.fences` instead.
"""
from __future__ import annotations

import shutil
import subprocess
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


def generate(folder: str, notebooks: dict[Path, Path], out_dir: Path) -> None:
    """Run `nbgrader generate_assignment` on `notebooks` ({relative path: source file}).

    Released notebooks are written to `out_dir/<relative path>`.
    """
    if not notebooks:
        return
    for src in notebooks.values():
        validate(src)
    with tempfile.TemporaryDirectory(prefix="vitlab-nbgrader-") as tmp:
        root = Path(tmp)
        for rel, src in notebooks.items():
            dest = root / "source" / folder / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
        cmd = [
            sys.executable, "-m", "nbgrader", "generate_assignment", folder,
            f"--CourseDirectory.root={root}", "--force", "--log-level=ERROR",
        ]
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
        if proc.returncode != 0:
            raise NotebookError(f"nbgrader generate_assignment {folder} failed:\n{proc.stdout}{proc.stderr}")
        for rel in notebooks:
            released = root / "release" / folder / rel
            if not released.is_file():
                raise NotebookError(f"nbgrader did not release {folder}/{rel}:\n{proc.stderr}")
            target = out_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(released, target)
