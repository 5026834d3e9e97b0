"""The a3 ban's check of one parsed file against a3_ban_rules.py (trusted side, never runs it).

`check_tree` returns (node, what) for every use of library attention and every use of
something outside the allow-list: the first part of a Finding (a3_ban.py adds where and whose).
"""
from __future__ import annotations

import ast

from a3_ban_rules import (BANNED_ATTRS_OF_NN, BANNED_NAMES, BY_DOTTED_NAME, IMPORTERS, NAMED_BY_VALUE, PRIVATE_OK,
                          REFUSED_BUILTINS, SYS_NAMES, UNSAFE_KWARGS, annotation_strings, attr_verdict,
                          member_verdict, module_verdict)


def check_tree(tree, local: set[str], task_file: bool) -> list[tuple[ast.AST, str]]:
    """Every refused use in `tree`. `local`: the submission's own top-level module names;
    `task_file`: the file is not under tests/ (it may not import tests, conftest or handin)."""
    _mark_parents(tree)
    roots = _library_roots(tree, local)
    sys_names = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
                 for a in n.names if a.name == "sys"}
    builtins_names = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
                      for a in n.names if a.name == "builtins"}
    docstrings = _docstrings(tree)
    out: list[tuple[ast.AST, str]] = []
    nodes = list(ast.walk(tree))
    for c in annotation_strings(tree):
        try:
            expr = ast.parse(c.value, mode="eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            out.append((c, f"annotation {c.value[:40]!r} is not an expression ({_EVALUATED})"))
            continue
        for n in ast.walk(expr):
            ast.copy_location(n, c)
        _mark_parents(expr)
        nodes += list(ast.walk(expr))
    for node in nodes:
        for what in _verdicts(node, roots, sys_names, builtins_names, local, task_file, id(node) in docstrings):
            out.append((node, what))
    return out


_EVALUATED = "typing.get_type_hints evaluates annotation strings"


def _verdicts(node, roots, sys_names, builtins_names, local, task_file, docstring):
    if isinstance(node, ast.Import):
        for a in node.names:
            yield from _module(a.name, local, task_file)
    elif isinstance(node, ast.ImportFrom):
        yield from _import_from(node, local, task_file, sys_names)
    elif isinstance(node, ast.Name):
        yield from _name(node, sys_names)
    elif isinstance(node, ast.Attribute):
        yield from _attribute(node, roots, sys_names)
    elif isinstance(node, ast.Call):
        yield from _call(node, local, task_file, builtins_names)
    elif isinstance(node, ast.Constant) and isinstance(node.value, str) and not docstring:
        for name, call in BANNED_NAMES.items():
            if name in node.value:
                yield f"{call} (named in a string)"
                break
        if node.value.startswith("autograder"):
            yield f"{node.value[:40]!r} (names the grader's own package)"


def _module(name: str, local, task_file):
    why = module_verdict(name, local, task_file)
    if why == "attention":
        yield f"import {name}"
    elif why is not None:
        yield why


def _import_from(node: ast.ImportFrom, local, task_file, sys_names):
    mod = node.module or ""
    if node.level == 0:
        why = module_verdict(mod, local, task_file)
        if why is not None:
            yield f"from {mod} import ..." if why == "attention" else why
            return
    library = node.level == 0 and mod.split(".")[0] not in local
    for a in node.names:
        full = f"{mod}.{a.name}" if mod else a.name
        if a.name in BANNED_NAMES:
            yield BANNED_NAMES[a.name]
        elif a.name in BANNED_ATTRS_OF_NN and mod == "torch.nn":
            yield BANNED_ATTRS_OF_NN[a.name]
        elif a.name == "*" and library:
            yield f"from {mod} import * (binds names the scan cannot see)"
        elif mod == "sys" and a.name not in SYS_NAMES:
            yield f"sys.{a.name} (not one of the sys names a3 files may use)"
        elif library:
            why = member_verdict(full, a.name)
            if why is not None:
                yield why
        if a.name != "*":
            why = attr_verdict(a.name)
            if why is not None:
                yield why


def _name(node: ast.Name, sys_names):
    if node.id in BANNED_NAMES:
        yield BANNED_NAMES[node.id]
    if node.id in REFUSED_BUILTINS and not isinstance(node.ctx, ast.Store):
        yield REFUSED_BUILTINS[node.id]
    parent = getattr(node, "_vitlab_parent", None)
    called = isinstance(parent, ast.Call) and parent.func is node
    if node.id in NAMED_BY_VALUE + BY_DOTTED_NAME and isinstance(node.ctx, ast.Load) and not called:
        yield f"{node.id} passed as a value (reads attributes by computed names)"
    if node.id in sys_names and isinstance(node.ctx, ast.Load) and not isinstance(parent, ast.Attribute):
        yield f"{node.id} used as a value (sys is allowed only as sys.<name>: its modules and path are reflection)"


def _attribute(node: ast.Attribute, roots, sys_names):
    if node.attr in BANNED_NAMES:
        yield BANNED_NAMES[node.attr]
    elif node.attr in BANNED_ATTRS_OF_NN and _dotted(node.value) in ("nn", "torch.nn"):
        yield BANNED_ATTRS_OF_NN[node.attr]
    why = attr_verdict(node.attr)
    if why is not None:
        yield f"{_dotted(node) or node.attr}: {why}" if _dotted(node) else why
    elif node.attr.startswith("_") and not node.attr.startswith("__") and node.attr not in PRIVATE_OK \
            and _root(node.value) in roots:
        yield f"{_dotted(node) or node.attr} (a library's private name: reaches objects the scan cannot follow)"
    if isinstance(node.value, ast.Name) and node.value.id in sys_names and node.attr not in SYS_NAMES:
        yield f"{node.value.id}.{node.attr} (not one of the sys names a3 files may use)"


def _call(node: ast.Call, local, task_file, builtins_names):
    fn = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
    if isinstance(node.func, ast.Attribute) and _root(node.func.value) in builtins_names and fn in REFUSED_BUILTINS:
        yield REFUSED_BUILTINS[fn]
    if fn in NAMED_BY_VALUE and isinstance(node.func, ast.Name):
        name = node.args[1] if len(node.args) > 1 else None
        if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
            first = _dotted(node.args[0]) if node.args else ""
            yield f"{fn}({first or '...'}, ...) of a computed name (reads an attribute the scan cannot follow)"
        else:
            why = attr_verdict(name.value)
            if why is not None:
                yield f"{fn}(..., {name.value!r}): {why}"
            elif name.value in BANNED_NAMES:
                yield BANNED_NAMES[name.value]
    if fn in BY_DOTTED_NAME:
        if not node.args or not all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args[:1 if fn == "methodcaller" else None]):
            yield f"{fn}() of a computed name (reads an attribute the scan cannot follow)"
        else:
            for a in node.args[:1 if fn == "methodcaller" else None]:
                for part in a.value.split("."):
                    why = attr_verdict(part)
                    if why is not None:
                        yield f"{fn}({a.value!r}): {why}"
    if fn in IMPORTERS:
        arg = node.args[0] if node.args else None
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            yield f"{fn} of a computed name (imports a module the scan cannot see)"
        else:
            yield from _module(arg.value, local, task_file)
    for kw in node.keywords:
        if kw.arg in UNSAFE_KWARGS and not (isinstance(kw.value, ast.Constant)
                                            and kw.value.value != UNSAFE_KWARGS[kw.arg]):
            yield f"{kw.arg}={ast.unparse(kw.value)[:40]} (unpickling runs code the scan cannot read)"
        elif kw.arg == "pickle_module":
            yield "pickle_module= (unpickling runs code the scan cannot read)"


def _library_roots(tree, local: set[str]) -> set[str]:
    """Names bound to a library module or anything imported from one (not the submission's own)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name.split(".")[0] not in local}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] not in local:
            names |= {a.asname or a.name for a in node.names}
    grew = True
    while grew:   # aliases of aliases: F = torch.nn.functional
        grew = False
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and _root(node.value) in names:
                for t in node.targets:
                    if isinstance(t, ast.Name) and t.id not in names:
                        names.add(t.id)
                        grew = True
    return names


def _root(node) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.value if not isinstance(node, ast.Call) else node.func
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else ""
    return ""


def _mark_parents(tree) -> None:
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            child._vitlab_parent = parent


def _docstrings(tree) -> set[int]:
    """ids of docstring nodes: docstrings may mention a banned name (to say what not to use)."""
    out = set()
    for holder in ast.walk(tree):
        body = getattr(holder, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant):
            out.add(id(body[0].value))
    return out
