"""Given code keeps the rules it ships with: every released line a student did not write passes
the course's own static scans, so a student who copies its style is never refused for it.

- torch folders (a3, a4): a3's ban scan (autograder/graders/a3_torch_vit/a3_ban.py), with no
  exemption for the course's own code. tests/ and vitdata/ are left out because the scan itself
  skips them while they are the course's copy; a stubbed definition is the student's to write.
- NumPy folders (a1, a2, assignment.toml `numpy_only`): the release handed in untouched passes
  the autograd scan as the grader runs it (scan.py). Given code is exempt by identity there:
  a2's vitdata downloads with torchvision where it is installed, and a student who edits that
  copy, or writes the import in a file of their own, is refused.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from autograder.engine.plan import released_given
from autograder.engine.scan import autograd_imports, sourceless
from tests.release.student_copies import ROOT
from vitlab.course import load_course

ASSIGNMENTS = load_course().assignments
STUB = 'raise NotImplementedError("Task'
A3_BAN = ROOT / "autograder" / "graders" / "a3_torch_vit" / "a3_ban.py"
# a baked course without a3 (a1 and the capstone, say) has no a3 scan to run
needs_a3_scan = pytest.mark.skipif(not A3_BAN.is_file(), reason="the course has no a3 graders (a3_ban.py)")


def _a3_scan():
    sys.path.insert(0, str(ROOT / "autograder" / "graders" / "a3_torch_vit"))
    try:
        from a3_ban import scan_file
    finally:
        sys.path.pop(0)
    return scan_file


def _uses_torch(folder: Path) -> bool:
    pins = (folder / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return any(line.startswith("torch==") for line in pins)


def _stubbed_defs(text: str) -> set[str]:
    """Qualnames (`f`, `Class.method`) of the definitions that still hold a task stub."""
    out = set()
    for node in ast.parse(text).body:
        inner = [node, *(n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))] \
            if isinstance(node, ast.ClassDef) else [node]
        for d in inner:
            if isinstance(d, (ast.FunctionDef, ast.AsyncFunctionDef)) and STUB in (ast.get_source_segment(text, d) or ""):
                out.add(d.name if d is node else f"{node.name}.{d.name}")
    return out


# Given definitions that use what a student's code may not, exempt by identity only (the scan
# leaves a definition alone while it is the course's code unchanged): train.py's _augment finds
# the capstone's randaug.py through sys.path, which in a student's code would let a module
# written to /tmp at run time be imported.
GIVEN_BY_IDENTITY = {("train.py", "_augment")}


def given_findings(folder: Path) -> list[str]:
    scan_file = _a3_scan()
    found = []
    for path in sorted(folder.rglob("*.py")):
        rel = path.relative_to(folder)
        if rel.parts[0] in ("tests", "vitdata", ".venv"):
            continue
        text = path.read_text(encoding="utf-8")
        theirs = _stubbed_defs(text)
        found += [str(f) for f in scan_file(path, str(rel), None)
                  if f.owner not in theirs and (str(rel), f.owner) not in GIVEN_BY_IDENTITY]
    return found


@needs_a3_scan
def test_the_given_definitions_exempt_by_identity_pass_as_released():
    """The scan exempts them when they are the course's own (as the release ships them), and
    finds them as soon as a line of theirs changes."""
    scan_file = _a3_scan()
    for a in ASSIGNMENTS:
        folder = ROOT / "assignments" / a.folder
        for rel, qual in GIVEN_BY_IDENTITY:
            if (folder / rel).is_file() and (a.source_dir / rel).is_file():
                found = scan_file(folder / rel, rel, a.source_dir / rel)
                assert not [str(f) for f in found if f.owner == qual], (a.folder, rel, qual)


@needs_a3_scan
@pytest.mark.parametrize("a", [a for a in ASSIGNMENTS if _uses_torch(ROOT / "assignments" / a.folder)], ids=lambda a: a.id)
def test_given_code_passes_the_attention_ban_scan(a):
    assert given_findings(ROOT / "assignments" / a.folder) == []


@needs_a3_scan
def test_the_scan_sees_given_code_that_reads_attributes_by_computed_names(tmp_path):
    (tmp_path / "helpers.py").write_text("def read(cfg, key):\n    return getattr(cfg, key)\n\n\n"
                                         "def todo(x, key):\n    y = getattr(x, key)\n"
                                         '    raise NotImplementedError("Task 3.1: the rest")\n')
    assert [f.split(" at ")[1] for f in given_findings(tmp_path)] == ["helpers.py:2 (in read)"]


@pytest.mark.parametrize("a", ASSIGNMENTS, ids=lambda a: a.id)
def test_no_released_file_is_sourceless(a):
    assert sourceless(ROOT / "assignments" / a.folder) == []


@pytest.mark.parametrize("a", [a for a in ASSIGNMENTS if a.numpy_only], ids=lambda a: a.id)
def test_numpy_folders_import_no_autograd_library(a):
    folder = ROOT / "assignments" / a.folder
    assert not _uses_torch(folder), f"{a.folder} is declared numpy_only but its requirements pin torch"
    assert autograd_imports(folder, released_given(a)) == {}
