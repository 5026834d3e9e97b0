"""Test doubles: while task T is graded, the code of the assignment's other tasks is
replaced by harness stand-ins that keep its interface (shapes, caches, attributes,
gradients) but are not its solution.

This is how tasks are isolated without any solution in the sandbox: a bug in task U never
costs points in task T, because T's code calls U's double, not U's code, and the trusted
side computes T's expected values with the reference of T over the *same* doubles. Both
sides call `install`: the worker on the student's modules (inside the sandbox), the grading
session on the reference modules (trusted side). Nothing here is secret; it is staged into
every sandbox.

The stand-ins live in the harness: `autograder/harness/doubles_<assignment id>.py` defines
DOUBLES = {"module:qualname": stand-in}, with the fences' owner names
(`attention:mhsa_forward`, `modules:Attention.forward`). A method's double is a plain
function taking `self`.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

_ABSENT = object()


def table(harness_dir: str | Path, assignment_id: str) -> dict[str, object]:
    """The doubles of one assignment from `harness_dir` ({} when it has none). Both sides
    load the same file: the sandbox's staged harness is a copy of `harness_dir`."""
    name = f"autograder.harness.doubles_{assignment_id}"
    path = Path(harness_dir) / f"doubles_{assignment_id}.py"
    if name in sys.modules and getattr(sys.modules[name], "__file__", None) == str(path):
        return dict(sys.modules[name].DOUBLES)
    if not path.is_file():
        return {}
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return dict(mod.DOUBLES)


def pairs_for(owners: dict[str, dict[str, str]], task: str, given: set[str] | list[str],
              names: set[str] | dict) -> list[tuple[str, str]]:
    """(module, qualname) to replace while `task` is graded: owned by another task of this
    assignment (given code is not doubled: it is released as it is) and with a double."""
    return sorted((mod, qual) for mod, owned in owners.items() if mod not in given
                  for qual, t in owned.items() if t != task and f"{mod}:{qual}" in names)


def install(modules: dict[str, ModuleType], pairs: list[tuple[str, str]], doubles: dict[str, object]) -> list:
    """Put each double in place; returns the undo list for `uninstall`."""
    undo = []
    for mod, qual in pairs:
        if f"{mod}:{qual}" not in doubles:   # only if something emptied the table: the tamper check says so
            continue
        owner = modules.get(mod)
        *path, name = qual.split(".")
        for part in path:
            owner = getattr(owner, part, None) if owner is not None else None
        if owner is None:
            continue
        old = vars(owner).get(name, _ABSENT) if isinstance(owner, type) else getattr(owner, name, _ABSENT)
        try:
            setattr(owner, name, doubles[f"{mod}:{qual}"])
        except (AttributeError, TypeError):
            continue
        undo.append((owner, name, old))
    return undo


def rebind(modules, undo: list) -> list:
    """`from attention import mhsa_forward` copied the old function into another module:
    point every such copy in `modules` at the double too. Returns the undo entries to add."""
    swapped = {id(old): (old, getattr(owner, name)) for owner, name, old in undo
               if old is not _ABSENT and not isinstance(owner, type)}
    more = []
    for mod in modules:
        for k, v in list(vars(mod).items()):
            pair = swapped.get(id(v))
            if pair is not None and pair[0] is v:
                setattr(mod, k, pair[1])
                more.append((mod, k, v))
    return more


def uninstall(undo: list) -> None:
    for owner, name, old in reversed(undo):
        if old is _ABSENT:
            delattr(owner, name)
        else:
            setattr(owner, name, old)
