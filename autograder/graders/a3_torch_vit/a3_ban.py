"""Static scan for library attention in a submission (runs inside a sandbox: a3_parse.py).

Reads every file of the submission (never imports one) and reports, as Findings naming the
file, line and call, each use of library attention (`F.scaled_dot_product_attention`,
`nn.MultiheadAttention`, `import timm`, the name in a string) and each use of anything outside
the allow-list of a3_ban_rules.py: student files may import only listed modules and may not
run code from strings or reach objects by computed names, by any route (the rules say why an
allow-list: which object a name holds cannot be known without running the code).

What the scan cannot read exactly as Python would run it is refused whole, never taken as
"nothing found": a source encoding declaration other than UTF-8, bytes that are not UTF-8, a
file that does not parse or is too large, a link leaving the folder, and any other file Python
could import or run code from (bytecode, extension modules, `.pth` files, zip archives, which
zipimport reads whatever their name).

Given code (released, unchanged) is exempt by identity only: a file whose bytes are a version
of it the course ships (the reference, its release, handin.py), or a definition whose code is
the course's unchanged definition of the same name in the same file. Nothing is keyed on lines.
The trusted side reads the course's files and hands the scan only their digests
(`identity`), so the sandbox that parses student files holds no solution.

Whose points a finding costs (`findings_for_task`): while task T is graded, every other task's
definitions that have a test double are replaced, so a finding inside one of them costs that
task only; every other finding (module level, helpers, a definition with no double, one captured
at import time before the doubles go in, a refused file) can run while any task is graded and
costs every task. Moving a banned call into another task's helper therefore saves nothing.
"""
from __future__ import annotations

import ast
import hashlib
import io
import os
import sys
import tokenize
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:        # the rules live beside this file (tests load it by path)
    sys.path.insert(0, str(_HERE))

from a3_ban_check import check_tree  # noqa: E402
from a3_ban_rules import BANNED_ATTRS_OF_NN, BANNED_MODULES, BANNED_NAMES  # noqa: E402,F401  (re-exported)

ROOT = _HERE.parents[2]
HANDIN = ROOT / "vitlab" / "release" / "handin.py"       # shipped in every folder, unchanged
HARNESS = ROOT / "autograder" / "harness"
MAX_SOURCE = 4 << 20
# files Python can import or run code from, besides .py source
CODE_SUFFIXES = (".pyc", ".pyo", ".so", ".pyd", ".dylib", ".dll", ".pth", ".pyw", ".pyz", ".egg", ".whl")


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    call: str
    owner: str | None        # "Class.method" / "function" the use sits in, if any
    everywhere: bool = False  # costs every task: refused file, or code that runs whatever task is graded

    def __str__(self) -> str:
        where = f" (in {self.owner})" if self.owner else ""
        return f"{self.call} at {self.file}:{self.line}{where}"


def scan_file(path: Path, rel: str, reference: Path | None = None, local: set[str] | None = None) -> list[Finding]:
    """Findings in one .py file. `reference`: the course's own version of it (if any): the file
    as released is exempt whole, and its unchanged given definitions are exempt."""
    ident = identity(None)
    if reference is not None:
        _add_identity(ident, Path(reference), str(rel))
    return _scan(Path(path), str(rel), ident, local)[0]


def scan_submission(folder: str | Path, reference_dir: str | Path | None = None,
                    ident: dict | None = None) -> list[Finding]:
    """Every finding in the submission. `ident`: digests of the course's own files (see
    `identity`), or computed here from `reference_dir` (the solutions folder)."""
    folder = Path(folder)
    ident = ident if ident is not None else identity(reference_dir)
    local = _local_names(folder)
    found: list[Finding] = []
    import_time: set[str] = set()
    for path, rel in _files(folder, ident.get("real", {}), found):
        refused = _refused_file(path, rel)
        if refused is not None:
            found.append(Finding(rel, 1, refused, None, True))
        elif path.suffix == ".py":
            got, refs = _scan(path, rel, ident, local)
            found += got
            import_time |= refs
    # an owned definition named by code that runs at import (`_keep = [Attention.forward]`) keeps
    # the student's own version past the doubles: it can run while any task is graded
    return [replace(f, everywhere=True) if f.owner and f.owner.rpartition(".")[2] in import_time else f
            for f in found]


def identity(reference_dir: str | Path | None) -> dict:
    """What the scan needs of the course's own files, and nothing more (trusted side): the
    digests of each .py file's shipped versions, of its given definitions, and each file's
    real path (a link to it from the same place is the course's own file)."""
    ident: dict = {"real": {}, "files": {}, "given": {}}
    if HANDIN.is_file():
        ident["files"]["handin.py"] = [_digest(HANDIN.read_bytes())]
    if reference_dir is None:
        return ident
    ref = Path(reference_dir)
    # the course's folders may link to shared code (vitdata): followed, as Python would
    walk = os.walk(ref, followlinks=True)
    for path in sorted(Path(d) / n for d, dirs, files in walk for n in dirs + files):
        if "__pycache__" in path.parts:
            continue
        rel = path.relative_to(ref).as_posix()
        ident["real"][rel] = os.path.realpath(path)
        if path.suffix == ".py" and path.is_file():
            _add_identity(ident, path, rel)
    return ident


def _add_identity(ident: dict, path: Path, rel: str) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return
    versions = [text.encode()] + [r.encode() for r in _renders(text, str(path))]
    ident["files"].setdefault(rel, []).extend(_digest(v) for v in versions)
    ident["given"][rel] = _given_digests(text)


def findings_for_task(findings: list[Finding], task: str, owners: dict[str, dict[str, str]],
                      task_files: dict[str, list[str]] | None = None, doubled: set[str] | None = None) -> list[Finding]:
    """The findings that cost `task` (see the module docstring). `owners`: module -> {qualname:
    task} from the fences; `doubled`: "module:qualname" replaced by a test double while another
    task is graded (default: the harness's doubles for a3). `task_files` is not needed any more."""
    doubled = _doubled() if doubled is None else doubled
    by_file = {f"{mod.replace('.', '/')}.py": mod for mod in owners}
    out = []
    for f in findings:
        mod = by_file.get(f.file)
        qual = _owned(f.owner, owners.get(mod, {})) if mod is not None and not f.everywhere else None
        if qual is None or f"{mod}:{qual}" not in doubled or owners[mod][qual] == task:
            out.append(f)
    return out


def _owned(owner: str | None, owned: dict[str, str]) -> str | None:
    name = owner or ""
    while name:
        if name in owned:
            return name
        name = name.rpartition(".")[0]
    return None


def _doubled() -> set[str]:
    try:
        from autograder.engine.inside.doubles import table
        return set(table(HARNESS, "a3"))
    except Exception:  # noqa: BLE001 - no doubles: every finding costs every task
        return set()


# -- reading files exactly as Python would ------------------------------------------------
def _scan(path: Path, rel: str, ident: dict, local: set[str] | None) -> tuple[list[Finding], set[str]]:
    try:
        source = path.read_bytes()
    except OSError as e:
        return [Finding(rel, 1, f"cannot be read ({e.strerror or e}): refused, not graded as nothing found", None, True)], set()
    if _digest(source) in set(ident["files"].get(rel, ())):
        return [], set()
    tree, why = _parse(source, rel)
    if tree is None:
        return [Finding(rel, getattr(why, "lineno", 1) or 1, str(why), None, True)], set()
    if local is None:
        local = _local_names(path.parents[len(Path(rel).parts) - 1])
    defs = _def_nodes(tree)
    spans = [(q, n.lineno, n.end_lineno) for q, n in defs.items()]
    whole = [(q, min([n.lineno] + [d.lineno for d in n.decorator_list]), n.end_lineno) for q, n in defs.items()]
    given = ident["given"].get(rel, {})
    exempt = {q for q, n in defs.items() if given.get(q) == _digest(ast.dump(n).encode())}
    wrapped = {q for q, n in defs.items() if any(_dotted(d) not in SAFE_DECORATORS for d in n.decorator_list)}
    found = []
    for node, what in check_tree(tree, local, Path(rel).parts[0] != "tests"):
        owner, outer = _owner(spans, node.lineno), _owner(whole, node.lineno)
        if outer is not None and outer in exempt:
            continue
        # a decorator runs at import, and one the scan does not know may keep the function
        import_time = owner != outer or owner in wrapped
        found.append(Finding(rel, node.lineno, what, outer, import_time))
    return found, _import_time_names(tree)


# decorators that do not keep the function they wrap anywhere else
SAFE_DECORATORS = {"staticmethod", "classmethod", "property", "torch.no_grad", "torch.inference_mode",
                   "torch.enable_grad", "no_grad", "inference_mode", "contextmanager", "contextlib.contextmanager",
                   "dataclass", "dataclasses.dataclass", "abstractmethod", "abc.abstractmethod", "cached_property",
                   "functools.cached_property", }


def _dotted(node) -> str:
    node = node.func if isinstance(node, ast.Call) else node
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else ""
    return ""


class Unreadable(str):
    lineno = 1


def _parse(source: bytes, rel: str):
    """(tree, None), or (None, why) for a file the scan cannot read as Python would run it."""
    def no(why: str, line: int = 1):
        out = Unreadable(f"{rel} {why}: refused (the scan must read a file as Python runs it)")
        out.lineno = line
        return None, out
    if len(source) > MAX_SOURCE:
        return no(f"is larger than {MAX_SOURCE >> 20} MB")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
    except SyntaxError as e:
        return no(f"declares a source encoding Python cannot use ({e})")
    if encoding not in ("utf-8", "utf-8-sig"):
        return no(f"declares the source encoding {encoding!r}: only UTF-8 is read the same by the scan and by Python")
    try:
        text = source.decode(encoding)
    except UnicodeDecodeError as e:
        return no(f"is not valid UTF-8 (byte {e.start})")
    try:
        return ast.parse(text, filename=rel), None
    except SyntaxError as e:
        return no(f"does not parse ({e.msg}, line {e.lineno})", e.lineno or 1)
    except (ValueError, RecursionError, MemoryError) as e:
        return no(f"does not parse ({type(e).__name__}: {str(e)[:80]})")


def _refused_file(path: Path, rel: str) -> str | None:
    """Why a file Python could import or run code from, other than .py source, is refused."""
    name = path.name.lower()
    if name.endswith(CODE_SUFFIXES):
        return f"{rel} is code the scan cannot read (bytecode, a compiled module or a .pth file): refused"
    if path.suffix != ".py" and _is_code_archive(path):
        return f"{rel} is a zip archive zipimport can import code from: refused (hand in plain files)"
    return None


def _is_code_archive(path: Path) -> bool:
    """A zip (whatever its name) that holds anything but NumPy arrays (an .npz is fine)."""
    try:
        if not zipfile.is_zipfile(path):
            return False
        with zipfile.ZipFile(path) as z:
            return not all(n.endswith(".npy") for n in z.namelist())
    except Exception:  # noqa: BLE001 - looks like a zip but does not open: refuse it too
        return True


def _files(folder: Path, real: dict[str, str], found: list[Finding]):
    """(path, relative path) of every file; a link is followed only where it is the reference's
    own (`real`: relative path -> the real path of the course's file there)."""
    stack = [folder]
    while stack:
        here = stack.pop()
        for entry in sorted(here.iterdir()):
            rel = entry.relative_to(folder).as_posix()
            if entry.is_symlink():
                if real.get(rel) is None or os.path.realpath(entry) != real[rel]:
                    found.append(Finding(rel, 1, f"{rel} is a symbolic link: what Python reads through it can "
                                                 "change after the scan: refused", None, True))
                    continue
            if entry.is_dir():
                stack.append(entry)
            elif entry.is_file():
                yield entry, rel


def _local_names(folder: Path) -> set[str]:
    try:
        return {p.stem if p.suffix == ".py" else p.name for p in folder.iterdir() if p.suffix == ".py" or p.is_dir()}
    except OSError:
        return set()


# -- given code: exempt by identity ---------------------------------------------------------
def _digest(source: bytes) -> str:
    return hashlib.sha256(source.replace(b"\r\n", b"\n")).hexdigest()


def _renders(text: str, where: str) -> list[str]:
    from vitlab.release import fences
    try:
        return [fences.render(text, where, stub_tasks=None), fences.render(text, where, stub_tasks=set())]
    except Exception:  # noqa: BLE001 - a reference that does not render has no released form
        return []


def _given_digests(ref_text: str) -> dict[str, str]:
    """qualname -> digest of the code (ast) of each definition the course gives whole (no
    solution fence in its version)."""
    try:
        ref = ast.parse(ref_text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    lines = ref_text.splitlines()
    return {q: _digest(ast.dump(n).encode()) for q, n in _def_nodes(ref).items()
            if not any("BEGIN SOLUTION" in line for line in lines[n.lineno - 1:n.end_lineno])}


def _def_nodes(tree) -> dict:
    defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    out = {}
    for node in tree.body:
        if isinstance(node, defs):
            out[node.name] = node
            if isinstance(node, ast.ClassDef):
                out.update({f"{node.name}.{s.name}": s for s in node.body if isinstance(s, defs)})
    return out


# -- where a finding sits ---------------------------------------------------------------------
def _owner(spans, line: int) -> str | None:
    best = None
    for name, start, end in spans:
        if start <= line <= end and (best is None or start >= best[1]):
            best = (name, start)
    return best[0] if best else None


def _import_time_names(tree) -> set[str]:
    """Names that code run at import refers to: module level, class bodies, decorators, defaults."""
    out: set[str] = set()

    def take(node):
        for n in ast.walk(node):
            if isinstance(n, ast.Name):
                out.add(n.id)
            elif isinstance(n, ast.Attribute):
                out.add(n.attr)
            elif isinstance(n, ast.Call) and _dotted(n.func).rpartition(".")[2] in ("getattr", "attrgetter", "methodcaller"):
                out.update(a.value.rpartition(".")[2] for a in n.args
                           if isinstance(a, ast.Constant) and isinstance(a.value, str))

    def header(d):
        a = d.args
        for part in (*d.decorator_list, *a.defaults, *[k for k in a.kw_defaults if k is not None]):
            take(part)

    def body(stmts):
        for s in stmts:
            if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
                header(s)
            elif isinstance(s, ast.ClassDef):
                for part in (*s.decorator_list, *s.bases, *s.keywords):
                    take(part)
                body(s.body)
            else:
                take(s)
    body(tree.body)
    return out
