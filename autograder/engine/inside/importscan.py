"""Which autograd library a submission's files import (runs inside a sandbox: scan.py starts
it through parse_sandbox.py). Parsing a student's file is work whose cost the student
chooses, so it is done here, under the sandbox's limits, never in the trusted process."""
from __future__ import annotations

import ast
import hashlib
from pathlib import Path

MAX_SCAN = 4 << 20   # bytes of one source file that are parsed (larger files are not graded sources)


def digest(source: bytes) -> str:
    """A file's identity for the given-code exemption (line endings normalised), as scan.py's."""
    return hashlib.sha256(source.replace(b"\r\n", b"\n")).hexdigest()


def autograd_imports(staged: str, libraries: list[str], given: dict[str, str] | None = None) -> dict[str, str]:
    """{relative .py path: the library of `libraries` it imports} for every such file, except
    the files that are, byte for byte, the file released at that path (`given`: relative
    path -> digest of the released text). A file that cannot be parsed here imports nothing
    there either, except one the parse ran out of memory on: that is reported, not skipped."""
    found = {}
    root = Path(staged)
    for p in sorted(root.rglob("*.py")):
        if not p.is_file() or p.is_symlink() or p.stat().st_size > MAX_SCAN:
            continue
        rel, source = p.relative_to(root).as_posix(), p.read_bytes()
        if given and given.get(rel) == digest(source):
            continue
        lib = _imported(source, set(libraries))
        if lib is not None:
            found[rel] = lib
    return found


def _imported(source: bytes, libraries: set[str]) -> str | None:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
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
            if name.split(".")[0] in libraries:
                return name.split(".")[0]
    return None
