"""Trusted-side checks of a staged submission's files, before any of its code runs.

Two rules no sandbox state can undo, because they are read from the files themselves:
- **Source only.** A module Python could import without its source (`.pyc`, `.so` ...)
  escapes every static check, so such a file makes the submission `banned`.
- **NumPy assignments are NumPy assignments.** Where assignment.toml declares
  `numpy_only = true` (a1, a2: hand-written backprop), importing an autograd library is
  `banned`. The sandbox also hides those packages (Limits.hidden_packages), so a computed
  import fails too. A file is exempt by identity only: its bytes are the file the release
  shipped at the same path (a2's given vitdata downloads with torchvision where it is
  installed); an edited copy is the student's file and is scanned like one.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.util
import os
from pathlib import Path

SOURCELESS = (".pyc", ".pyo", ".so", ".pyd", ".dylib", ".dll")
AUTOGRAD = ("torch", "functorch", "torchgen", "torchvision", "triton", "jax", "jaxlib", "autograd",
            "tensorflow", "keras", "mxnet", "tinygrad", "cupy", "mlx", "paddle", "chainer", "theano")
MAX_SCAN = 4 << 20   # bytes of one source file that are parsed (larger files are not graded sources)


def sourceless(staged: Path) -> list[str]:
    """Relative paths of files Python could import without their source."""
    return sorted(str(p.relative_to(staged)) for p in staged.rglob("*")
                  if p.is_file() and p.name.lower().endswith(SOURCELESS))


def digest(source: bytes) -> str:
    """A file's identity for the given-code exemption. Line endings are normalised: a
    release checked out on Windows is still the release (the same code to Python)."""
    return hashlib.sha256(source.replace(b"\r\n", b"\n")).hexdigest()


def autograd_imports(staged: Path, given: dict[str, str] | None = None) -> dict[str, str]:
    """{relative .py path: the autograd library it imports} for every such file, except the
    files that are, byte for byte, the file released at that path (`given`: relative path ->
    digest of the released text, plan.released_given)."""
    found = {}
    for p in sorted(staged.rglob("*.py")):
        if not p.is_file() or p.stat().st_size > MAX_SCAN:
            continue
        rel, source = p.relative_to(staged).as_posix(), p.read_bytes()
        if given and given.get(rel) == digest(source):
            continue
        lib = _imported(source)
        if lib is not None:
            found[rel] = lib
    return found


def _imported(source: bytes) -> str | None:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None   # it will not import either; the graders say so
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = [node.value]   # importlib.import_module("torch"), __import__("jax") ...
        for name in names:
            if name.split(".")[0] in AUTOGRAD:
                return name.split(".")[0]
    return None


def installed_autograd_packages() -> tuple[str, ...]:
    """Folders of the autograd packages this Python could import (hidden in NumPy sandboxes)."""
    out = []
    for name in AUTOGRAD:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.submodule_search_locations:
            out += [q for p in spec.submodule_search_locations for q in _every_path_of(p)]
    return tuple(sorted(set(out)))


def _every_path_of(folder: str) -> set[str]:
    """The folder under each path the sandbox binds the Python at: a venv reached through a
    link is bound at both the link and its target, each a mount of its own to hide."""
    from autograder.engine.sandbox import python_prefixes
    real = os.path.realpath(folder)
    out = {folder, real}
    for prefix in python_prefixes():
        rp = os.path.realpath(prefix)
        if real.startswith(rp + os.sep):
            out.add(prefix + real[len(rp):])
    return out
