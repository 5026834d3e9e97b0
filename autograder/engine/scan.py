"""Trusted-side checks of a staged submission's files, before any of its code runs.

Two rules no sandbox state can undo, because they are read from the files themselves:
- **Source only.** A module Python could import without its source (`.pyc`, `.so` ...)
  escapes every static check, so such a file makes the submission `banned`.
- **NumPy assignments are NumPy assignments.** Where assignment.toml declares
  `numpy_only = true` (a1, a2: hand-written backprop), importing an autograd library is
  `banned`. The sandbox also hides those packages (Limits.hidden_packages), so a computed
  import fails too. A file is exempt by identity only: its bytes are the file the release
  shipped at the same path (a2's given vitdata downloads with torchvision where it is
  installed); an edited copy is the student's file and is scanned like one. The files are
  parsed inside a sandbox (inside/importscan.py), never here.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

SOURCELESS = (".pyc", ".pyo", ".so", ".pyd", ".dylib", ".dll")
AUTOGRAD = ("torch", "functorch", "torchgen", "torchvision", "triton", "jax", "jaxlib", "autograd",
            "tensorflow", "keras", "mxnet", "tinygrad", "cupy", "mlx", "paddle", "chainer", "theano")


def sourceless(staged: Path) -> list[str]:
    """Relative paths of files Python could import without their source."""
    return sorted(str(p.relative_to(staged)) for p in staged.rglob("*")
                  if p.is_file() and p.name.lower().endswith(SOURCELESS))


def digest(source: bytes) -> str:
    """A file's identity for the given-code exemption. Line endings are normalised: a
    release checked out on Windows is still the release (the same code to Python)."""
    return hashlib.sha256(source.replace(b"\r\n", b"\n")).hexdigest()


def autograd_imports(staged: Path, given: dict[str, str] | None = None, isolated: bool | None = None) -> dict[str, str]:
    """{relative .py path: the autograd library it imports} for every such file, except the
    files that are, byte for byte, the file released at that path (`given`: relative path ->
    digest of the released text, plan.released_given). The files are parsed inside a sandbox
    (inside/importscan.py); `isolated`: bubblewrap (default: where it is installed). Raises
    ParseFailed when the scan does not finish or replies out of bounds: the caller refuses."""
    from autograder.engine.parse_sandbox import SUBMISSION, ParseFailed, parse
    from autograder.engine.sandbox import bwrap_path
    isolated = bwrap_path() is not None if isolated is None else isolated
    args = {"staged": SUBMISSION, "libraries": list(AUTOGRAD), "given": dict(given or {})}
    found = parse((), "autograder.engine.inside.importscan", "autograd_imports", args, Path(staged), isolated,
                  "the NumPy-only scan of the submission")
    if not isinstance(found, dict) or len(found) > 10_000 or not all(
            isinstance(k, str) and len(k) <= 4096 and v in AUTOGRAD for k, v in found.items()):
        raise ParseFailed("malformed", "the NumPy-only scan of the submission: malformed report")
    return found


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
