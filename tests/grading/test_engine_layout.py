"""The engine's folders show its trust boundary, and its import graph has no cycles.

- `autograder/engine/inside/` is everything that runs in a sandbox; nothing in it imports
  a trusted module, and the trusted side imports from it only what crosses the boundary
  as data or format (ALLOWED_FROM_TRUSTED);
- no module of the engine imports, at any depth and by any route (function-level imports
  included), a module that imports it back.
"""
import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "autograder" / "engine"
ALLOWED_FROM_TRUSTED = {
    "wire": "the format of every value that crosses",
    "doubles": "the test-double table, swapped into the trusted side's reference modules too",
    "staging": "the staging limits and the folder copy, which parse nothing",
}


def _module(path: Path) -> str:
    rel = path.relative_to(ENGINE.parent.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every autograder.engine module `path` imports, anywhere in the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("autograder.engine"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if (ENGINE.parent.parent / (sub.replace(".", "/") + ".py")).is_file()
                          or (ENGINE.parent.parent / sub.replace(".", "/")).is_dir() else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("autograder.engine")}
    return found


GRAPH = {_module(p): _imports(p) for p in ENGINE.rglob("*.py") if "__pycache__" not in p.parts}


def test_inside_imports_nothing_trusted():
    bad = {m: sorted(i for i in deps if not i.startswith("autograder.engine.inside"))
           for m, deps in GRAPH.items() if m.startswith("autograder.engine.inside")}
    assert not {m: d for m, d in bad.items() if d}, bad


def test_the_trusted_side_imports_only_the_boundary_from_inside():
    bad = []
    for m, deps in GRAPH.items():
        if m.startswith("autograder.engine.inside"):
            continue
        for dep in deps:
            if dep.startswith("autograder.engine.inside") and dep.rsplit(".", 1)[1] not in ALLOWED_FROM_TRUSTED:
                bad.append(f"{m} imports {dep}")
    assert not bad, bad


def _cycle_from(start: str) -> list[str] | None:
    stack, seen = [(start, [start])], set()
    while stack:
        node, path = stack.pop()
        for dep in GRAPH.get(node, ()):
            if dep == start:
                return path + [dep]
            if dep not in seen:
                seen.add(dep)
                stack.append((dep, path + [dep]))
    return None


def test_no_import_cycles():
    cycles = [c for m in sorted(GRAPH) if (c := _cycle_from(m))]
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles[:5])


def test_the_graph_is_read():
    assert "autograder.engine.inside.wire" in GRAPH["autograder.engine.student"]
    assert _cycle_from("autograder.engine.grade") is None
