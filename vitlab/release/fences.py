"""Solution and hidden-test fences in Python source, and the stubs that replace them.

A solution fence in a `.py` file names its task:

    ### BEGIN SOLUTION Task 1.1: compute out = x @ w + b over the last axis
    ...reference code...
    ### END SOLUTION

`render` turns fenced source into what a student (or an isolated grader) sees; `task_owners`
says which function, class or method each task's code lives in.
"""
from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass

BEGIN = re.compile(r"^(?P<indent>[ \t]*)### BEGIN (?P<kind>SOLUTION|HIDDEN TESTS)(?P<rest>.*)$")
END = re.compile(r"^[ \t]*### END (?P<kind>SOLUTION|HIDDEN TESTS)\s*$")
TASK = re.compile(r"^\s+Task (?P<task>\d+\.\d+):\s*(?P<message>\S.*?)\s*$")


class FenceError(ValueError):
    """A malformed fence; the message starts with `file:line`."""


@dataclass(frozen=True)
class Fence:
    kind: str          # "SOLUTION" or "HIDDEN TESTS"
    begin: int         # 0-based line index of the BEGIN marker
    end: int           # 0-based line index of the END marker
    indent: str
    task: str | None
    message: str | None

    @property
    def lineno(self) -> int:
        return self.begin + 1


def parse(text: str, path: str, require_task: bool = True) -> list[Fence]:
    """Every fence in `text`, in order. Raises FenceError naming `path:line` on misuse."""
    fences: list[Fence] = []
    open_: tuple[int, re.Match] | None = None
    for i, line in enumerate(text.splitlines()):
        if m := BEGIN.match(line):
            if open_ is not None:
                raise FenceError(f"{path}:{i + 1}: '### BEGIN {m['kind']}' inside the fence opened at line {open_[0] + 1} (fences cannot nest)")
            open_ = (i, m)
        elif m := END.match(line):
            if open_ is None:
                raise FenceError(f"{path}:{i + 1}: '### END {m['kind']}' without a matching BEGIN")
            start, bm = open_
            if bm["kind"] != m["kind"]:
                raise FenceError(f"{path}:{i + 1}: '### END {m['kind']}' closes '### BEGIN {bm['kind']}' from line {start + 1}")
            fences.append(_make_fence(bm, start, i, path, require_task))
            open_ = None
        elif "### BEGIN" in line or "### END" in line:
            raise FenceError(f"{path}:{i + 1}: malformed fence marker {line.strip()!r}")
    if open_ is not None:
        raise FenceError(f"{path}:{open_[0] + 1}: '### BEGIN {open_[1]['kind']}' has no matching END")
    return fences


def _make_fence(m: re.Match, begin: int, end: int, path: str, require_task: bool) -> Fence:
    task = message = None
    if m["kind"] == "SOLUTION":
        rest = m["rest"]
        if tm := TASK.match(rest):
            task, message = tm["task"], tm["message"]
        elif rest.strip() or require_task:
            raise FenceError(
                f"{path}:{begin + 1}: a solution fence in a .py file must read "
                f"'### BEGIN SOLUTION Task X.Y: <what to implement>', got {m.group(0).strip()!r}"
            )
    elif m["rest"].strip():
        raise FenceError(f"{path}:{begin + 1}: unexpected text after '### BEGIN HIDDEN TESTS'")
    return Fence(m["kind"], begin, end, m["indent"], task, message)


def stub_line(fence: Fence) -> str:
    return f"{fence.indent}raise NotImplementedError({json.dumps(f'Task {fence.task}: {fence.message}', ensure_ascii=False)})"


def _is_comment(line: str) -> bool:
    return line.strip().startswith("#")


def hints(fence: Fence, body: list[str]) -> list[str]:
    """The comment lines a stub keeps: those at the fence's own indentation.

    A comment indented deeper sits inside one of the solution's branches and explains that
    branch's code (which the stub drops), so it goes with it: kept, it would stand
    mis-indented above the stub and could describe a method the task message does not ask for.
    """
    return [line for line in body if _is_comment(line) and _indent(line) == fence.indent]


def _indent(line: str) -> str:
    return line[:len(line) - len(line.lstrip())]


def render(text: str, path: str, stub_tasks: set[str] | None = None) -> str:
    """Source as released.

    Fences of tasks in `stub_tasks` (all tasks when None) become a NotImplementedError
    stub, keeping the comment lines at the fence's indentation as hints; other solution
    fences keep their code and lose their markers. Hidden-test regions are always removed.
    """
    lines = text.splitlines()
    out: list[str] = []
    cursor = 0
    for f in parse(text, path):
        out.extend(lines[cursor:f.begin])
        body = lines[f.begin + 1:f.end]
        if f.kind == "SOLUTION":
            if stub_tasks is None or f.task in stub_tasks:
                out.extend(hints(f, body))
                out.append(stub_line(f))
            else:
                out.extend(body)
        cursor = f.end + 1
    out.extend(lines[cursor:])
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def task_owners(text: str, path: str) -> dict[str, str]:
    """Map `func`, `Class` or `Class.method` to the task whose fence it contains.

    The innermost top-level function, class or method around a fence owns it. A fence
    outside any definition is an error: isolation needs a name to swap.
    """
    fences = [f for f in parse(text, path) if f.kind == "SOLUTION"]
    if not fences:
        return {}
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as e:
        raise FenceError(f"{path}:{e.lineno}: {e.msg}") from None
    spans = list(_definition_spans(tree))
    owners: dict[str, str] = {}
    for f in fences:
        name = _innermost(spans, f.lineno)
        if name is None:
            raise FenceError(f"{path}:{f.lineno}: a solution fence must sit inside a function, class or method")
        if owners.get(name, f.task) != f.task:
            raise FenceError(f"{path}:{f.lineno}: {name} holds fences of two tasks ({owners[name]} and {f.task})")
        owners[name] = f.task
    return owners


def _definition_spans(tree: ast.Module):
    defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    for node in tree.body:
        if isinstance(node, defs):
            yield node.name, node.lineno, node.end_lineno
            if isinstance(node, ast.ClassDef):
                for sub in node.body:
                    if isinstance(sub, defs):
                        yield f"{node.name}.{sub.name}", sub.lineno, sub.end_lineno


def _innermost(spans, lineno: int) -> str | None:
    best = None
    for name, start, end in spans:
        if start <= lineno <= end and (best is None or start >= best[1]):
            best = (name, start)
    return best[0] if best else None
