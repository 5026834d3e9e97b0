"""Definitions the submission still holds as released: their checks score 0 (trusted process).

Student code runs in the sandbox and can put anything in place of a stub at run time
(`AdamW = torch.optim.AdamW` below the class, a module-level patch of `GPSA.forward` that
makes the positional projection run once and returns its input), so the values a check gets
back cannot tell whether the student's own definition ran. What can be told without
running anything is whether the definition is still the released stub: the submission's
files are read with `ast` inside a sandbox (`submitted`, run by a3_parse.py), which hands back
a digest per definition, and a definition whose code (docstring and comments aside) is the
release's, `raise NotImplementedError("Task X.Y: ...")` in place, is untouched. Every check that the contract table (contracts.toml) ties to an untouched
definition fails as not implemented before it runs, whatever else the submission does.

A definition the student changed in any way is theirs, and its checks judge it by its values.
"""
from __future__ import annotations

import ast
import hashlib
import tomllib
from functools import lru_cache
from pathlib import Path

MAX_SOURCE = 4 << 20

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


def untouched(submitted_digests: dict, solutions_dir: str, owners: dict[str, dict[str, str]]) -> frozenset[str]:
    """The stubs (module.qualname) whose definition in the submission is the release's, from
    `submitted`'s digests (trusted side: the release is read here)."""
    out = set()
    for module, quals in owners.items():
        mine = submitted_digests.get(module)
        if not isinstance(mine, dict):
            continue          # missing or broken: the import error says so
        released = _released(str(Path(solutions_dir) / f"{module.replace('.', '/')}.py"))
        out |= {f"{module}.{q}" for q in quals if q in released and mine.get(q) == released[q]}
    return frozenset(out)


def submitted(folder: str, modules: list[str]) -> dict[str, dict[str, str] | None]:
    """module -> {qualname: digest of its code} in the submission (None: missing or broken).
    Runs inside the sandbox: it parses student files."""
    out: dict[str, dict[str, str] | None] = {}
    for module in modules:
        path = Path(folder) / f"{module.replace('.', '/')}.py"
        try:
            if path.is_symlink() or path.stat().st_size > MAX_SOURCE:
                raise ValueError(module)
            out[module] = _digests(ast.parse(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            out[module] = None
    return out


@lru_cache(maxsize=None)
def _released(path: str) -> dict[str, str]:
    """qualname -> digest of each definition as the release ships it (every fence a stub)."""
    from vitlab.release import fences
    text = Path(path).read_text(encoding="utf-8")
    return _digests(ast.parse(fences.render(text, path)))


def _digests(tree: ast.Module) -> dict[str, str]:
    return {q: hashlib.sha256(d.encode()).hexdigest() for q, d in _definitions(tree).items()}


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
