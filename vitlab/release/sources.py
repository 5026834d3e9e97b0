"""Which files an assignment consists of, and how each one is released."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from vitlab.course import Assignment, CourseError
from vitlab.release.fences import parse

SKIP_DIRS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".hypothesis", "runs", "checkpoints"}
SKIP_SUFFIXES = {".pyc", ".pyo"}
GENERATED = {"pytest.ini", "Makefile", "README.md", "requirements.txt", "handin.py",
             "requirements.in"}   # requirements.in: the source of requirements.txt, not shipped
MARKER = re.compile(r"\btask(\d+)_(\d+)\b")


@dataclass(frozen=True)
class SourceFile:
    rel: Path           # path inside the assignment folder
    path: Path          # real file on disk (symlinks resolved)
    given: bool         # True: another assignment's or the kit's code, shipped with solutions kept

    @property
    def kind(self) -> str:
        if self.rel.suffix == ".py":
            return "python"
        if self.rel.suffix == ".ipynb":
            return "notebook"
        return "data"


def walk(assignment: Assignment) -> list[SourceFile]:
    """Every released file of an assignment, sorted. Symlinks leaving the folder are given code."""
    root = assignment.source_dir
    files: list[SourceFile] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            full = Path(dirpath) / name
            rel = full.relative_to(root)
            if full.suffix in SKIP_SUFFIXES or (len(rel.parts) == 1 and name in GENERATED):
                continue
            real = full.resolve()
            files.append(SourceFile(rel, real, given=not _inside(real, root.resolve())))
    return files


def _inside(path: Path, folder: Path) -> bool:
    return folder == path or folder in path.parents


def check(assignment: Assignment, files: list[SourceFile]) -> None:
    """Fences name declared tasks; markers in tests are declared. Raises naming file:line."""
    declared = {t.id for t in assignment.tasks}
    markers = {t.marker for t in assignment.tasks}
    for f in files:
        if f.kind != "python":
            continue
        text = f.path.read_text(encoding="utf-8")
        shown = assignment.source_dir / f.rel
        for fence in parse(text, str(shown)):
            if not f.given and fence.task is not None and fence.task not in declared:
                raise CourseError(
                    f"{shown}:{fence.lineno}: fence names task {fence.task}, which "
                    f"{assignment.folder}/assignment.toml does not declare"
                )
        if f.rel.parts[0] == "tests":
            for lineno, line in enumerate(text.splitlines(), 1):
                for m in MARKER.finditer(line):
                    if m.group(0) not in markers:
                        raise CourseError(
                            f"{shown}:{lineno}: marker {m.group(0)} is not a task of "
                            f"{assignment.folder} (registered: {', '.join(sorted(markers))})"
                        )
