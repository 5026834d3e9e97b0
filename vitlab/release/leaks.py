"""The leak guard: no reference solution or hidden test may reach a student release.

Lines are compared after whitespace is normalised. A solution line counts when it is code
(not a comment) of at least MIN_CHARS characters; shorter lines (`return out`, `else:`)
legitimately appear in stubs too. Given files (another assignment's reference shipped on
purpose) are exempt for their own assignment's lines only.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from vitlab.course import Course
from vitlab.release import sources
from vitlab.release.fences import parse

MIN_CHARS = 20
NB_FENCE = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)(.*?)### END \1", re.S)
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


@dataclass(frozen=True)
class Leak:
    released: Path
    lineno: int
    origin: str

    def __str__(self) -> str:
        return f"{self.released}:{self.lineno}: {self.origin}"


def _norm(line: str) -> str:
    return " ".join(line.split())


def _secret(line: str) -> str | None:
    n = _norm(line)
    return n if len(n) >= MIN_CHARS and not n.startswith("#") else None


def secret_lines(path: Path, shown: str) -> dict[str, str]:
    """Normalised secret line -> where it comes from, for one solution file."""
    found: dict[str, str] = {}
    if path.suffix == ".py":
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for f in parse(text, shown, require_task=False):
            for i in range(f.begin + 1, f.end):
                if s := _secret(lines[i]):
                    found.setdefault(s, f"{shown}:{i + 1} ({f.kind.lower()} fence)")
    elif path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        for k, cell in enumerate(nb.cells):
            for m in NB_FENCE.finditer(cell.source):
                for line in m.group(2).splitlines():
                    if s := _secret(line):
                        found.setdefault(s, f"{shown} cell {k} ({m.group(1).lower()} fence)")
    return found


def _released_lines(path: Path) -> list[tuple[int, str]]:
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        return [(k, line) for k, cell in enumerate(nb.cells) for line in cell.source.splitlines()]
    try:
        return list(enumerate(path.read_text(encoding="utf-8").splitlines(), 1))
    except UnicodeDecodeError:
        return []


def scan(course: Course, release_root: Path) -> list[Leak]:
    """Every leak in `release_root` (normally assignments/)."""
    secrets: dict[str, tuple[str, str]] = {}      # line -> (owner folder, origin)
    given: dict[str, set[Path]] = {}               # released folder -> rel paths that are given copies
    for a in course.assignments:
        files = sources.walk(a)
        given[a.folder] = {f.rel for f in files if f.given}
        for f in files:
            if not f.given:
                for s, origin in secret_lines(f.path, f"solutions/{a.folder}/{f.rel}").items():
                    secrets.setdefault(s, (a.folder, origin))
    for line in _public_lines(course):
        secrets.pop(line, None)     # shipped in the clear elsewhere (given code, vitdata): not a secret
    graders = _grader_hashes(course.root / "autograder")
    leaks: list[Leak] = []
    for folder_path in sorted(p for p in release_root.iterdir() if p.is_dir()):
        for path in sorted(p for p in folder_path.rglob("*") if p.is_file()):
            rel = path.relative_to(folder_path)
            if hashlib.sha256(path.read_bytes()).hexdigest() in graders:
                leaks.append(Leak(path, 1, f"copy of hidden grader {graders[hashlib.sha256(path.read_bytes()).hexdigest()]}"))
            exempt_owner = _given_owner(course, folder_path.name, rel) if rel in given.get(folder_path.name, ()) else None
            for lineno, line in _released_lines(path):
                if any(m in line for m in MARKERS):
                    leaks.append(Leak(path, lineno, f"fence marker {line.strip()!r}"))
                hit = secrets.get(_norm(line))
                if hit and hit[0] != exempt_owner:
                    leaks.append(Leak(path, lineno, f"reveals {hit[1]}"))
    return leaks


def _public_lines(course: Course) -> set[str]:
    """Normalised lines every release shows outside fences: unfenced solution code and kit code."""
    public: set[str] = set()
    for a in course.assignments:
        for f in sources.walk(a):
            if f.kind != "python":
                continue
            text = f.path.read_text(encoding="utf-8")
            lines = text.splitlines()
            inside = {i for fence in parse(text, str(f.path), require_task=False) for i in range(fence.begin, fence.end + 1)}
            public |= {_norm(line) for i, line in enumerate(lines) if i not in inside and f.rel.parts[0] != "tests"}
    return public


def _given_owner(course: Course, folder: str, rel: Path) -> str | None:
    """The assignment a given file comes from (None for kit code such as vitdata)."""
    real = (course.root / "solutions" / folder / rel).resolve()
    for a in course.assignments:
        if a.source_dir.resolve() in real.parents:
            return a.folder
    return None


def _grader_hashes(autograder: Path) -> dict[str, str]:
    graders = autograder / "graders"
    if not graders.is_dir():
        return {}
    return {hashlib.sha256(p.read_bytes()).hexdigest(): str(p.relative_to(autograder.parent))
            for p in graders.rglob("*") if p.is_file() and p.stat().st_size > 0 and "__pycache__" not in p.parts}


# ----------------------------------------------------------------------------- feedback

def feedback_secrets(course: Course) -> dict[str, tuple[int, str]]:
    """Normalised line -> (course position of the assignment that owns it, origin): every
    solution-fence and hidden-test line, and every line of a hidden grader, that no release
    shows anyway."""
    secrets: dict[str, tuple[int, str]] = {}
    for pos, a in enumerate(course.assignments):
        for f in sources.walk(a):
            if not f.given:
                for s, origin in secret_lines(f.path, f"solutions/{a.folder}/{f.rel}").items():
                    secrets.setdefault(s, (pos, origin))
        graders = course.root / "autograder" / "graders" / a.folder
        for p in sorted(graders.rglob("*.py")) if graders.is_dir() else []:
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
                if (s := _secret(line)) and not s.startswith(("import ", "from ", "def ", "class ", "@")):
                    secrets.setdefault(s, (pos, f"{p.relative_to(course.root)}:{i} (hidden grader)"))
    for line in _public_lines(course) | _shipped_lines(course.root):
        secrets.pop(line, None)
    return secrets


# `warnings` shows the line of the student's file that warned, indented, on the next line
OWN_WARNING = re.compile(r"/submission/\S+\.py:\d+: \w*Warning: ")
SHIPPED = ("assignments", "autograder/engine", "autograder/harness", "datasets/vitdata")


def _shipped_lines(root: Path) -> set[str]:
    """Lines of what students see or the sandbox holds anyway (releases, engine, harness,
    vitdata): a grader line that also stands there reveals nothing."""
    out: set[str] = set()
    for top in SHIPPED:
        for p in sorted((root / top).rglob("*")) if (root / top).is_dir() else []:
            if p.is_file() and p.suffix in (".py", ".ipynb", ".md", ".toml"):
                out |= {_norm(line) for _, line in _released_lines(p)}
    return out


def feedback_leaks(course: Course, paths, secrets: dict[str, tuple[int, str]] | None = None) -> list[Leak]:
    """Lines of graded feedback (feedback.md, results.json) that reveal a solution or a hidden
    grader. An earlier assignment's lines are exempt in a later one's feedback: its code is
    released there as given code."""
    secrets = feedback_secrets(course) if secrets is None else secrets
    order = {a.folder: pos for pos, a in enumerate(course.assignments)}
    leaks = []
    for path in paths:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        lines, folder = _feedback_lines(path, text)
        pos = order.get(folder, -1)
        quoting = False
        for lineno, line in enumerate(lines, 1):
            if _norm(line).startswith('File "') or OWN_WARNING.match(line):
                quoting = True
            elif not line[:1].isspace():
                quoting = False
            if quoting:
                continue   # tracebacks and warnings quote the student's own files (only theirs are kept)
            hit = secrets.get(_norm(line))
            if hit and hit[0] >= pos:
                leaks.append(Leak(path, lineno, f"reveals {hit[1]}"))
    return leaks


def _feedback_lines(path: Path, text: str) -> tuple[list[str], str | None]:
    """The lines a person reads in one output file, and the assignment it is about."""
    if path.suffix == ".json":
        import json
        try:
            data = json.loads(text)
        except ValueError:
            return text.splitlines(), None
        strings: list[str] = []
        stack = [data]
        while stack:
            v = stack.pop()
            if isinstance(v, str):
                strings.extend(v.splitlines())
            elif isinstance(v, dict):
                stack.extend(v.values())
            elif isinstance(v, list):
                stack.extend(v)
        folder = data.get("extra_data", {}).get("assignment") if isinstance(data, dict) else None
        return strings, folder
    head = text.split("\n", 1)[0]   # "# Feedback: <assignment> (<student>)"
    folder = head.split(":", 1)[1].strip().split(" ", 1)[0] if head.startswith("# Feedback:") else None
    return text.splitlines(), folder
