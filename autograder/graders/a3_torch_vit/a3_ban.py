"""Static scan for library attention in a submission (runs in the trusted process).

Reads every .py file of the submission with `ast` (never imports it) and reports each use
of a banned name: as an attribute (`F.scaled_dot_product_attention`), a plain or imported
name (`from torch.nn import MultiheadAttention`), an import (`import timm`), or a string
(`getattr(F, "scaled_dot_product_attention")`). Each finding names the file, line and call
and the task that owns the function or method it sits in (from the fences' owners map).

Everything in the sandbox, the runtime guard in autograder/harness/attention_ban.py included, can be
undone by student code, so this scan is the part of the ban that holds: it also refuses
what would hide a banned call from it. Which object a name holds cannot be known without
running the code (`m = F` through a tuple, a parameter, an attribute, a loop...), so these
are refused on any object, not only on torch:
- an attribute read or written by a computed name: getattr/setattr/delattr/vars with a
  name that is not a literal, `attrgetter`/`methodcaller` of one, `getattr` passed as a
  value, `__dict__`, `__getattribute__`, `__getattr__`, `globals()`/`locals()`;
- introspection that reaches other code's objects: frames (`sys._getframe`, `f_back`,
  `tb_frame`...), `__globals__`, `__code__`, `__subclasses__`, `__self__`...; the modules
  gc, inspect, ctypes, pickle, marshal, pydoc, pkgutil, string (Formatter.get_field),
  unittest (mock) and the grader's own package `autograder`;
- dynamic code (`eval`, `exec`, `compile`, `__import__`, `importlib.import_module` of a
  computed name) and unpickling (`torch.load(weights_only=False)`, `allow_pickle=True`).
A function or method identical to the course's own (same file, same name, same code: the
scaffolding released whole, such as Config's checks) may use computed names, and so may a
line of given code (a definition with no solution fence) that is in the course's version of
the same definition: a release older than the reference stays exempt.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

# Names that are attention (or a whole transformer layer) done by a library.
BANNED_NAMES = {
    "MultiheadAttention": "nn.MultiheadAttention",
    "TransformerEncoderLayer": "nn.TransformerEncoderLayer",
    "TransformerEncoder": "nn.TransformerEncoder",
    "TransformerDecoderLayer": "nn.TransformerDecoderLayer",
    "TransformerDecoder": "nn.TransformerDecoder",
    "scaled_dot_product_attention": "F.scaled_dot_product_attention",
    "multi_head_attention_forward": "F.multi_head_attention_forward",
    "_native_multi_head_attention": "torch._native_multi_head_attention",
    "_scaled_dot_product_attention_math": "torch._scaled_dot_product_attention_math",
    "_scaled_dot_product_flash_attention": "torch._scaled_dot_product_flash_attention",
    "_scaled_dot_product_efficient_attention": "torch._scaled_dot_product_efficient_attention",
    "flex_attention": "flex_attention",
    "_transformer_encoder_layer_fwd": "torch._transformer_encoder_layer_fwd",
    # switching off the sandbox's guard against the calls above
    "DisableTorchFunction": "torch._C.DisableTorchFunction (switches off the attention guard)",
    "DisableTorchFunctionSubclass": "torch._C.DisableTorchFunctionSubclass (switches off the attention guard)",
    "_pop_torch_function_stack": "torch._C._pop_torch_function_stack (switches off the attention guard)",
    "_pop_mode": "_pop_mode (switches off the attention guard)",
}
# `nn.Transformer` is only banned as an attribute of torch.nn (a student class may be called Transformer).
BANNED_ATTRS_OF_NN = {"Transformer": "nn.Transformer"}
BANNED_MODULES = ("timm", "einops.layers", "xformers", "flash_attn", "torch.nn.attention")
SKIP_DIRS = {"tests", "vitdata", "__pycache__", ".ipynb_checkpoints"}


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    call: str
    owner: str | None        # "Class.method" / "function" the use sits in, if any

    def __str__(self) -> str:
        where = f" (in {self.owner})" if self.owner else ""
        return f"{self.call} at {self.file}:{self.line}{where}"


def scan_file(path: Path, rel: str, reference: Path | None = None) -> list[Finding]:
    """Findings in one file; `reference` is the course's own version of it (if any), whose
    unchanged functions may read attributes by computed names."""
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        tree = ast.parse(text, filename=rel)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []      # a file that does not parse fails its tasks anyway
    spans = _spans(tree)
    docstrings = _docstrings(tree)
    course_own, given_lines = _unchanged(tree, reference)
    lines = text.splitlines()
    found = []

    def add(node, call):
        found.append(Finding(rel, node.lineno, call, _owner(spans, node.lineno)))

    aliases = _torch_aliases(tree)
    sys_names = {"sys"} | {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
                           for a in n.names if a.name == "sys"}
    for node in ast.walk(tree):
        hidden = _hidden_access(node, aliases) or _reflection(node, sys_names)
        if hidden is not None:
            owner = _owner(spans, node.lineno)
            if owner not in course_own and _line(lines, node.lineno) not in given_lines.get(owner, ()):
                add(node, hidden)
        if isinstance(node, ast.Attribute):
            if node.attr in BANNED_NAMES:
                add(node, BANNED_NAMES[node.attr])
            elif node.attr in BANNED_ATTRS_OF_NN and _dotted(node.value) in ("nn", "torch.nn"):
                add(node, BANNED_ATTRS_OF_NN[node.attr])
        elif isinstance(node, ast.Name) and node.id in BANNED_NAMES:
            add(node, BANNED_NAMES[node.id])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _banned_module(alias.name):
                    add(node, f"import {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if _banned_module(mod):
                add(node, f"from {mod} import ...")
            for alias in node.names:
                if alias.name in BANNED_NAMES:
                    add(node, BANNED_NAMES[alias.name])
                elif alias.name in BANNED_ATTRS_OF_NN and mod == "torch.nn":
                    add(node, BANNED_ATTRS_OF_NN[alias.name])
                elif _banned_module(f"{mod}.{alias.name}"):
                    add(node, f"import {mod}.{alias.name}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            for name, call in BANNED_NAMES.items():
                if name in node.value and id(node) not in docstrings:
                    add(node, f"{call} (named in a string)")
                    break
    return found


def scan_submission(folder: str | Path, reference_dir: str | Path | None = None) -> list[Finding]:
    """Every finding in every .py file of the submission. A file of the released tests/ or the
    given vitdata/ is skipped only while it is the course's own copy, byte for byte: any .py
    file of the submission can be imported where student code runs, so an edited or added one
    is scanned like the task files. `reference_dir`: the course's own files (solutions), whose
    unchanged functions are exempt from the rule on computed names."""
    folder = Path(folder)
    out = []
    for path in sorted(folder.rglob("*.py")):
        rel = path.relative_to(folder)
        if not path.is_file() or path.is_symlink():
            continue
        ref = Path(reference_dir) / rel if reference_dir is not None else None
        if set(rel.parts[:-1]) & SKIP_DIRS and _same_file(path, ref):
            continue
        out.extend(scan_file(path, str(rel), ref if ref is not None and ref.is_file() else None))
    return out


def _same_file(path: Path, ref: Path | None) -> bool:
    try:
        return ref is not None and ref.is_file() and path.read_bytes() == ref.read_bytes()
    except OSError:
        return False


# Reaching objects without naming them: refused on any object (see the module docstring).
FRAMES = ("_getframe", "f_back", "f_globals", "f_locals", "f_builtins", "f_code", "tb_frame", "tb_next",
          "gi_frame", "cr_frame", "ag_frame", "__traceback__")
INTROSPECTIVE = ("__globals__", "__code__", "__closure__", "__subclasses__", "__builtins__", "__self__",
                 "__func__", "__wrapped__", "__dict__", "__getattribute__", "__getattr__", "__setattr__",
                 "__delattr__", "__loader__", "__spec__", "__reduce__", "__reduce_ex__", "co_consts", "co_names",
                 "__import__")
NAMED_BY_VALUE = ("getattr", "setattr", "delattr", "attrgetter", "methodcaller")
REFUSED_MODULES = ("gc", "inspect", "ctypes", "_ctypes", "cffi", "pickle", "_pickle", "cloudpickle", "dill",
                   "marshal", "copyreg", "runpy", "code", "codeop", "pydoc", "pkgutil", "string", "unittest",
                   "autograder", "builtins")


def _reflection(node, sys_names: set[str] = frozenset({"sys"})) -> str | None:
    """A use of reflection that could reach library attention whatever object it is given."""
    if isinstance(node, ast.Attribute) and node.attr in FRAMES + INTROSPECTIVE:
        return f"{_dotted(node) or node.attr} (reflection: reads objects the scan cannot follow)"
    if isinstance(node, ast.Name) and node.id == "__builtins__":
        return "__builtins__ (reflection: reads objects the scan cannot follow)"
    if isinstance(node, ast.Attribute) and node.attr == "modules" and _dotted(node.value) in sys_names \
            or isinstance(node, ast.ImportFrom) and node.module == "sys" and any(a.name == "modules" for a in node.names):
        return "sys.modules (reads a module by a computed name)"
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("autograder"):
        return f"{node.value[:40]!r} (names the grader's own package)"
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        for name in names:
            if any(name == m or name.startswith(m + ".") for m in REFUSED_MODULES):
                return f"import {name} (reflection: reads objects the scan cannot follow)"
    if isinstance(node, ast.Call):
        fn = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        if fn in ("globals", "locals", "vars") and isinstance(node.func, ast.Name):
            return f"{fn}() (reads names by a computed name)"
        if fn in NAMED_BY_VALUE:
            names = node.args[1:2] if fn in ("getattr", "setattr", "delattr") else node.args
            if not names or not all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in names):
                return f"{fn}() of a computed name (reads an attribute the scan cannot follow)"
        for kw in node.keywords:
            unsafe = {"weights_only": False, "allow_pickle": True}
            if kw.arg in unsafe and not (isinstance(kw.value, ast.Constant) and kw.value.value != unsafe[kw.arg]):
                return f"{kw.arg}={ast.unparse(kw.value)[:40]} (unpickling runs code the scan cannot read)"
    if isinstance(node, ast.Name) and node.id in NAMED_BY_VALUE and isinstance(node.ctx, ast.Load):
        return None if _called(node) else f"{node.id} passed as a value (reads attributes by computed names)"
    return None


def _called(name: ast.Name) -> bool:
    return getattr(name, "_vitlab_called", False)


def _mark_calls(tree) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            node.func._vitlab_called = True


def _unchanged(tree, reference: Path | None) -> tuple[set[str], dict[str, set[str]]]:
    """Qualnames of the definitions in `tree` identical to the course's own in `reference`,
    and, for each definition the course gives whole (no solution fence in it), its lines: a
    release older than the reference (given code changed since) keeps its unchanged lines
    exempt, while a line added to given code is not."""
    _mark_calls(tree)
    if reference is None:
        return set(), {}
    try:
        ref_text = reference.read_text(encoding="utf-8")
        ref = ast.parse(ref_text)
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return set(), {}
    theirs, ours = _defs(ref), _defs(tree)
    ref_lines = ref_text.splitlines()
    given = {}
    for qual, node in _def_nodes(ref).items():
        body = ref_lines[node.lineno - 1:node.end_lineno]
        if not any("BEGIN SOLUTION" in line for line in body):
            given[qual] = {" ".join(line.split()) for line in body}
    return {q for q, dump in ours.items() if theirs.get(q) == dump}, given


def _line(lines: list[str], lineno: int) -> str:
    return " ".join(lines[lineno - 1].split()) if 0 < lineno <= len(lines) else ""


def _def_nodes(tree) -> dict:
    defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    out = {}
    for node in tree.body:
        if isinstance(node, defs):
            out[node.name] = node
            if isinstance(node, ast.ClassDef):
                out.update({f"{node.name}.{s.name}": s for s in node.body if isinstance(s, defs)})
    return out


def _defs(tree) -> dict[str, str]:
    return {q: ast.dump(node) for q, node in _def_nodes(tree).items()}


def findings_for_task(findings: list[Finding], task: str, owners: dict[str, dict[str, str]],
                      task_files: dict[str, list[str]]) -> list[Finding]:
    """The findings that count against `task`: inside a definition the task owns; anywhere
    else in one of the task's files (module level, helpers); anywhere in a file no task owns."""
    owned_by_task = {f"{mod.replace('.', '/')}.py": o for mod, o in owners.items()}
    files_of_any_task = {f for fs in task_files.values() for f in fs}
    out = []
    for f in findings:
        owner_task = _owner_task(f, owned_by_task.get(f.file, {}))
        if owner_task is not None:
            if owner_task == task:
                out.append(f)
        elif f.file in task_files.get(task, []) or f.file not in files_of_any_task:
            out.append(f)
    return out


def _owner_task(f: Finding, owners: dict[str, str]) -> str | None:
    if f.owner is None:
        return None
    name = f.owner
    while name:
        if name in owners:
            return owners[name]
        name = name.rpartition(".")[0]
    return None


DYNAMIC = ("eval", "exec", "compile", "__import__")     # the builtins (not model.eval, torch.compile)
REFLECTIVE = ("__dict__", "__getattribute__", "__getattr__", "__dir__", "__builtins__", "__globals__",
              "__code__", "__closure__", "__subclasses__", "__mro__", "__bases__", "__loader__", "__spec__")
INTROSPECTION = ("getattr", "vars", "dir", "attrgetter", "getmembers", "getattr_static")


def _torch_aliases(tree) -> set[str]:
    """Names bound to torch or anything inside it (`import torch as t`, `from torch import nn`,
    `F = torch.nn.functional`, `ops = t.ops`), found without regard to order or scope."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name.split(".")[0] == "torch"}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "torch":
            names |= {a.asname or a.name for a in node.names}
    grew = True
    while grew:   # aliases of aliases
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


def _hidden_access(node, aliases: set[str]) -> str | None:
    """A way of reaching torch's functions that a name-based scan could not follow."""
    if isinstance(node, ast.Attribute) and node.attr in REFLECTIVE and _root(node.value) in aliases:
        return f"{_dotted(node.value) or 'torch'}.{node.attr} (reads torch by a computed name)"
    if not isinstance(node, ast.Call):
        return None
    fn = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
    builtin = isinstance(node.func, ast.Name) or _dotted(node.func).startswith("builtins.")
    if fn in DYNAMIC and builtin:
        return f"{fn}() (dynamic code cannot be checked for library attention)"
    if fn == "import_module" and node.args and not isinstance(node.args[0], ast.Constant):
        return "importlib.import_module of a computed name"
    if fn in INTROSPECTION and node.args and _root(node.args[0]) in aliases:
        computed = fn != "getattr" or len(node.args) < 2 or not isinstance(node.args[1], ast.Constant)
        if computed:
            return f"{fn}({_dotted(node.args[0]) or 'torch'}, ...) (reads torch by a computed name)"
    return None


def _banned_module(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in BANNED_MODULES)


def _dotted(node) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _spans(tree) -> list[tuple[str, int, int]]:
    """(qualname, first line, last line) of every top-level def/class and every method."""
    out = []
    defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    for node in tree.body:
        if isinstance(node, defs):
            out.append((node.name, node.lineno, node.end_lineno))
            if isinstance(node, ast.ClassDef):
                out.extend((f"{node.name}.{s.name}", s.lineno, s.end_lineno) for s in node.body
                           if isinstance(s, defs))
    return out


def _owner(spans, line: int) -> str | None:
    best = None
    for name, start, end in spans:
        if start <= line <= end and (best is None or start >= best[1]):
            best = (name, start)
    return best[0] if best else None


def _docstrings(tree) -> set[int]:
    """ids of docstring nodes: docstrings may mention a banned name (to say what not to use)."""
    out = set()
    for holder in ast.walk(tree):
        body = getattr(holder, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant):
            out.add(id(body[0].value))
    return out
