"""Contract tables: every promise a stub's docstring makes, and the hidden check that keeps it.

An assignment's table lives beside its graders, `autograder/graders/<folder>/contracts.toml`:

    [[promise]]
    task = "2.1"
    function = "patches.patchify"          # module.function or module.Class.method
    promise = "patch k sits at grid row k // (W/p), column k % (W/p)"
    params = ["x", "p"]                    # optional: parameters the promise is about
    checks = ["test_patchify"]             # hidden test functions that fail when it is broken

A row with no function (the notebook's cells, a task-wide rule) names only its task; a row may
name given code of the task files too (a constructor whose options the fenced code honours). A check is
a test function's name in the graders' folder (`test_*.py`, `notebook/nbtest_*.py`), or
`file.py::name` when two files define the same name.

`problems(assignment, table, graders)` lists what keeps a table from being complete: a task
without rows, a row naming an unknown task, function or check, a stub function without rows,
and a stub function whose documented parameter no promise of that function names (in `params`
or as a word of its text).
A stub function is one that holds a solution fence; with `class_api=True` the public methods of
a class holding one count too, and its `__init__`, documented by the class docstring.
"""
from __future__ import annotations

import ast
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from vitlab.release import fences

WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Stub:
    name: str                 # "module.func" or "module.Class.method"
    task: str | None          # the task whose fence it holds (None: part of a class's API)
    params: tuple[str, ...]   # the signature's parameters, self and cls left out
    documented: tuple[str, ...]  # those its docstring names as a word


def load_table(path: Path) -> list[dict]:
    """The rows of a contract table; a malformed file or row raises ValueError naming it."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ValueError(f"{path}: cannot read the contract table: {e}") from None
    rows = raw.get("promise", [])
    for i, row in enumerate(rows, 1):
        missing = [k for k in ("task", "promise", "checks") if k not in row]
        if missing or not isinstance(row.get("checks"), list) or not row["checks"]:
            raise ValueError(f"{path}: promise {i} ({row.get('promise', '?')!r}) needs task, promise and a "
                             f"non-empty checks list (missing: {', '.join(missing) or 'checks entries'})")
    return rows


def stubs(assignment, class_api: bool = False) -> dict[str, Stub]:
    """Every stub function of an assignment's .py task files, by "module.qualname"."""
    found: dict[str, Stub] = {}
    files = sorted({f for t in assignment.tasks for f in t.files if f.endswith(".py")})
    for file in files:
        path = Path(assignment.source_dir) / file
        text = path.read_text(encoding="utf-8")
        owners = fences.task_owners(text, str(path))
        tree = ast.parse(text, filename=str(path))
        module = file[:-3].replace("/", ".")
        for qual, node, doc in _definitions(tree, owners, class_api):
            params = _params(node, method="." in qual)
            words = set(WORD.findall(doc or ""))
            found[f"{module}.{qual}"] = Stub(f"{module}.{qual}", owners.get(qual), params,
                                             tuple(p for p in params if p in words))
    return found


def _definitions(tree: ast.Module, owners: dict, class_api: bool):
    """(qualname, function node, docstring) of each fenced function, and of the public API of
    classes holding a fence when class_api is set."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in owners:
            yield node.name, node, ast.get_docstring(node)
        elif isinstance(node, ast.ClassDef):
            fenced = any(o.startswith(node.name + ".") for o in owners)
            for sub in node.body:
                if not isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                qual = f"{node.name}.{sub.name}"
                if qual in owners:
                    yield qual, sub, ast.get_docstring(sub)
                elif class_api and fenced and sub.name == "__init__":
                    yield qual, sub, ast.get_docstring(node)
                elif class_api and fenced and not sub.name.startswith("_"):
                    yield qual, sub, ast.get_docstring(sub)


def _params(node, method: bool) -> tuple[str, ...]:
    """The signature's parameter names; a method's first one (self or cls) left out."""
    a = node.args
    names = [x.arg for x in (*a.posonlyargs, *a.args)][1 if method else 0:]
    names += [x.arg for x in a.kwonlyargs]
    names += [x.arg for x in (a.vararg, a.kwarg) if x is not None]
    return tuple(names)


def definitions(assignment) -> set[str]:
    """Every function, class and method of an assignment's .py task files ("module.qualname"):
    a row may name given code too (a constructor whose options the fenced code must honour)."""
    names: set[str] = set()
    for file in sorted({f for t in assignment.tasks for f in t.files if f.endswith(".py")}):
        tree = ast.parse((Path(assignment.source_dir) / file).read_text(encoding="utf-8"))
        module = file[:-3].replace("/", ".")
        for name, _, _ in fences._definition_spans(tree):
            names.add(f"{module}.{name}")
    return names


def grader_tests(graders: Path) -> dict[str, set[str]]:
    """Test function names defined at module level in the graders' files, by file name."""
    tests: dict[str, set[str]] = {}
    for path in sorted([*Path(graders).glob("test_*.py"), *Path(graders).glob("notebook/nbtest_*.py")]):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        tests[path.name] = {n.name for n in tree.body
                            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("test_")}
    return tests


def _check_exists(check: str, tests: dict[str, set[str]]) -> bool:
    if "::" in check:
        file, name = check.split("::", 1)
        return name in tests.get(file, set())
    return any(check in names for names in tests.values())


def problems(assignment, rows: list[dict], graders: Path, class_api: bool = False) -> list[str]:
    """Everything that keeps the table from being complete, one sentence each (empty: complete)."""
    out: list[str] = []
    task_ids = {t.id for t in assignment.tasks}
    found = stubs(assignment, class_api)
    tests = grader_tests(graders)
    known = definitions(assignment)
    covered: dict[str, set[str]] = {}
    for i, row in enumerate(rows, 1):
        where = f"promise {i} ({row['promise'][:60]!r})"
        if row["task"] not in task_ids:
            out.append(f"{where}: unknown task {row['task']!r}")
        fn = row.get("function")
        if fn is not None and fn not in found and fn not in known:
            out.append(f"{where}: {fn!r} is not a function of {assignment.folder}'s task files")
        for check in row["checks"]:
            if not _check_exists(check, tests):
                out.append(f"{where}: check {check!r} is not a test in {graders}")
        if fn is not None:
            covered.setdefault(fn, set()).update(row.get("params", []), WORD.findall(row["promise"]))
    for task in sorted(task_ids - {r["task"] for r in rows}):
        out.append(f"task {task} has no promise in the table")
    for name, stub in sorted(found.items()):
        if name not in covered:
            out.append(f"{name}: a stub function with no promise in the table")
            continue
        for p in stub.documented:
            if p not in covered.get(name, set()):
                out.append(f"{name}: documented parameter {p!r} appears in no promise")
    return out
