"""Planted near-copies for the similarity tests: what a student who copies does to hide it.

`disguise` renames every local name and argument, renames helper functions, puts the
top-level functions in another order and reformats the file (ast.unparse drops comments
and normalises spacing); `swap_in` replaces one function with another author's, so the
copy is partial. The public function names stay: the graders call them.
"""
from __future__ import annotations

import ast
import builtins
import random

KEEP = set(dir(builtins)) | {"np", "self"}


class _Rename(ast.NodeTransformer):
    def __init__(self, public: set[str], seed: int):
        self.public, self.map, self.rng = public, {}, random.Random(seed)

    def new(self, name: str) -> str:
        if name in KEEP or name in self.public or name.startswith("__"):
            return name
        if name not in self.map:
            self.map[name] = f"{self.rng.choice(['tmp', 'val', 'arr', 'res', 'q'])}_{len(self.map)}"
        return self.map[name]

    def visit_Name(self, node):
        node.id = self.new(node.id)
        return node

    def visit_arg(self, node):
        node.arg = self.new(node.arg)
        return node

    def visit_FunctionDef(self, node):
        node.name = self.new(node.name)
        self.generic_visit(node)
        return node


def public_functions(source: str) -> set[str]:
    """Top-level functions, classes and methods a grader calls by name."""
    tree = ast.parse(source)
    names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and not n.name.startswith("_")}
    return names | {m.name for c in tree.body if isinstance(c, ast.ClassDef) for m in c.body
                    if isinstance(m, ast.FunctionDef)}


def disguise(source: str, seed: int = 0) -> str:
    tree = ast.parse(source)
    tree = _Rename(public_functions(source), seed).visit(tree)
    head = [n for n in tree.body if not isinstance(n, ast.FunctionDef)]
    funcs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    random.Random(seed).shuffle(funcs)
    tree.body = head + funcs
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def swap_in(source: str, other: str, name: str) -> str:
    """`source` with function `name` taken from `other` (and the helpers it calls)."""
    mine, theirs = ast.parse(source), ast.parse(other)
    want = {name} | {n.id for f in theirs.body if isinstance(f, ast.FunctionDef) and f.name == name
                     for n in ast.walk(f) if isinstance(n, ast.Name) and n.id.startswith("_")}
    theirs_fns = {f.name: f for f in theirs.body if isinstance(f, ast.FunctionDef)}
    mine.body = [theirs_fns[f.name] if isinstance(f, ast.FunctionDef) and f.name == name else f for f in mine.body]
    mine.body += [theirs_fns[w] for w in sorted(want - {name}) if w in theirs_fns]
    return ast.unparse(mine) + "\n"
