"""Definitions the submission still holds as released: their checks score 0 (trusted process).

Student code runs in the sandbox and can put anything in place of a stub at run time
(`AdamW = torch.optim.AdamW` below the class, a module-level patch of `GPSA.forward` that
makes the positional projection run once and returns its input), so the values a check gets
back cannot tell whether the student's own definition ran. What can be told, here and
without running anything, is whether the definition is still the released stub: this scan
reads the submission's files with `ast`, and a definition whose code (docstring and comments
aside) is the release's, `raise NotImplementedError("Task X.Y: ...")` in place, is
untouched. Every check that the contract table (contracts.toml) ties to an untouched
definition fails as not implemented before it runs, whatever else the submission does.

A definition the student changed in any way is theirs, and its checks judge it by its values.
"""
from __future__ import annotations

import ast
import tomllib
from functools import lru_cache
from pathlib import Path

from vitlab.release import fences

TABLE = Path(__file__).with_name("contracts.toml")


@lru_cache(maxsize=None)
def needs() -> dict[str, frozenset[str]]:
    """check name -> the stubs (module.qualname) it checks, from the contract table."""
    rows = tomllib.loads(TABLE.read_text(encoding="utf-8")).get("promise", [])
    out: dict[str, set[str]] = {}
    for row in rows:
        for check in row["checks"]:
            if row.get("function"):
                out.setdefault(check, set()).add(row["function"])
    return {k: frozenset(v) for k, v in out.items()}


def untouched(submission: str, solutions_dir: str, owners: dict[str, dict[str, str]]) -> frozenset[str]:
    """The stubs (module.qualname) whose definition in the submission is the release's."""
    out = set()
    for module, quals in owners.items():
        rel = f"{module.replace('.', '/')}.py"
        released = _released(str(Path(solutions_dir) / rel))
        try:
            text = (Path(submission) / rel).read_text(encoding="utf-8")
            mine = _definitions(ast.parse(text))
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            continue          # missing or broken: the import error says so
        out |= {f"{module}.{q}" for q in quals if q in released and mine.get(q) == released[q]}
    return frozenset(out)


@lru_cache(maxsize=None)
def _released(path: str) -> dict[str, str]:
    """qualname -> the code of each definition as the release ships it (every fence a stub)."""
    text = Path(path).read_text(encoding="utf-8")
    return _definitions(ast.parse(fences.render(text, path)))


def _definitions(tree: ast.Module) -> dict[str, str]:
    """qualname -> ast dump (no docstrings, no positions) of every function, class and method."""
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    out = {}
    for node in tree.body:
        if isinstance(node, kinds):
            out[node.name] = _code(node)
            if isinstance(node, ast.ClassDef):
                for sub in node.body:
                    if isinstance(sub, kinds):
                        out[f"{node.name}.{sub.name}"] = _code(sub)
    return out


def _code(node: ast.AST) -> str:
    node = _strip_docstrings(ast.parse(ast.unparse(node)))   # a copy: the caller's tree stays whole
    return ast.dump(node, include_attributes=False)


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return tree
