"""A student receives only their released folder (assignments/<folder>/, zipped as it is), so
nothing in it may point at something the folder does not have: every file or folder a
student-facing text names exists in the folder, every `make <target>` is one of the folder's
Makefile targets, every `python -m <module>` imports from the folder or from a package of its
requirements.txt, and no text sends the student to the kit (its root, `make bench`,
solutions/, autograder/).

Student-facing texts: README.md, every notebook cell (markdown and code), every .py file's
docstrings, comments and string literals, the Makefile's (and targets.mk's) comments and help
lines, and the comments of the .toml files (configs/, assignment.toml).
"""
from __future__ import annotations

import importlib.metadata
import io
import json
import re
import sys
import tokenize
from dataclasses import dataclass
from pathlib import Path

import pytest

from vitlab.course import load_course

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = [a.folder for a in load_course().assignments]
SKIP_DIRS = {"__pycache__", ".venv", ".pytest_cache", ".ipynb_checkpoints", "runs", "checkpoints"}

# Words and phrases that only make sense inside the kit (matched case-insensitively).
KIT_ONLY = ["kit's root", "kit root", "from the kit", "make bench", "solutions/", "autograder/",
            "course.toml", "mk/", "bench/", "vitlab/release"]

# Files the student's own runs write, so a text may name them before they exist.
# (reference, reason)
WRITTEN_AT_RUN_TIME = {
    "runs/": "train.py writes each run under runs/<recipe>/ (a3, a4)",
    "checkpoints/": "the solver / submit.py export write checkpoints here (a2, a4)",
    "submission.zip": "make submit (handin.py) writes it",
    "submitted_at.txt": "handin.py writes it into submission.zip",
    "last.pt": "train.py's checkpoint inside a run folder",
    "best.pt": "train.py's best checkpoint inside a run folder",
    "metrics.jsonl": "runlog.py's log inside a run folder",
    ".venv/": "make setup creates it",
    ".venv/bin/python": "make setup creates it",
}

# English uses of the verb "make": `make <word>` for these words is prose, not a command.
ENGLISH_AFTER_MAKE = {"a", "an", "the", "it", "its", "sure", "them", "this", "that", "these",
                      "those", "one", "up", "use", "sense", "your", "no", "any", "every", "each",
                      "all", "room", "progress", "mistakes", "changes", "training", "tokens",
                      "predictions", "attention", "heads", "things", "results"}

# Modules that `python -m` runs everywhere a student has Python: (module, reason)
ALWAYS_RUNNABLE = {
    "pip": "every venv (make setup) and every Python 3.11 install has pip (ensurepip)",
    "venv": "standard library; make setup runs it",
}

# Example names in prose and docstrings, for a file the student writes: (name, reason).
EXAMPLE_NAMES = {
    "other.toml": "config.py and the capstone guide: `base = \"other.toml\"` shows the syntax of "
                  "inheriting from another recipe",
    "file.toml": "a3's notebook: `python train.py --config <file.toml>`, a recipe of the student's",
    "configs/my_recipe.toml": "the capstone notebook asks the student to write this recipe",
}

# (folder or "*", file inside the folder, reference): why this mention is not a pointer.
NOT_POINTERS = {
    ("*", "vitdata/paths.py", "datasets/"):
        "given vitdata code shared with the kit: with course.toml, how it recognises the kit",
    ("*", "vitdata/cifar.py", "cifar-10-batches-py/"):
        "the folder inside the official CIFAR-10 archive, which vitdata fetches and reads",
    ("*", "vitdata/fetching.py", "cifar-10-batches-py/"):
        "the folder inside the official CIFAR-10 archive, which vitdata fetches and reads",
    ("a3_torch_vit", "train.py", "randaug.py"):
        "train.py is shared with the capstone, which ships randaug.py; the text and the error say so "
        "(a3's recipes never set randaug_ops or cutmix_alpha)",
    ("a3_torch_vit", "config.py", "randaug.py"):
        "the comment of the capstone-only randaug_ops key (config.py is shared with the capstone)",
    ("a1_numpy_layers", "handin.py", "submit.py"):
        "handin.py is the same in every folder; it runs submit.py check only where the folder has it",
    ("a2_numpy_vit", "handin.py", "submit.py"):
        "handin.py is the same in every folder; it runs submit.py check only where the folder has it",
    ("a3_torch_vit", "handin.py", "submit.py"):
        "handin.py is the same in every folder; it runs submit.py check only where the folder has it",
    ("*", "vitdata/paths.py", "course.toml"):
        "given vitdata code shared with the kit: it looks for course.toml to tell whether it runs "
        "inside the kit; it never asks the student to open it",
    ("*", "vitdata/errors.py", "kit root"):
        "given vitdata code shared with the kit: 'from the kit root' is printed only when "
        "vitdata finds itself inside the kit (kit_root() is not None), never in a student folder",
    ("*", "vitdata/errors.py", "from the kit"):
        "same message as above ('from the kit root'), printed only inside the kit",
}

# A path with a folder part is checked when it ends in one of these (or starts in a kit folder);
# a bare file name only when it is a source or settings file (data a run writes, such as
# metrics.json or checkpoint.safetensors, is named bare all the time and is not a pointer).
EXTS = ("py", "toml", "ipynb", "md", "txt", "mk", "ini", "json", "jsonl", "cfg", "sh", "pt",
        "npz", "zip", "safetensors", "yaml", "yml", "csv")
BARE_EXTS = ("py", "toml", "ipynb", "md", "mk", "ini", "sh", "txt")
KIT_DIRS = ("bench", "solutions", "autograder", "mk", "tests", "datasets", "vitlab", "template",
            "docs", "examples", "scripts", "configs", "assignments", "build")
_START = r"(?<![\w./~$}{*<>\\-])"
PATH_RE = re.compile(
    _START + r"((?:[A-Za-z_][\w.-]*/)+[\w.-]*\.(?:%s)(?![\w-])"   # dir/.../file.ext
    r"|(?:%s)/(?:[\w./-]*[\w/])?"                                  # bench/x, tests/release, mk/
    r"|[A-Za-z_][\w-]*\.(?:%s)(?![\w-]))"                          # file.py
    % ("|".join(EXTS), "|".join(KIT_DIRS), "|".join(BARE_EXTS)))
TICKED_DIR_RE = re.compile(r"`((?:[A-Za-z_][\w.-]*/)+)`")            # `runs/`, `data/train/`
MAKE_RE = re.compile(r"(?<![\w-])make\s+([a-z][\w-]*)(?![\w-]*\()")
PYM_RE = re.compile(r"python3?\s+-m\s+([A-Za-z_][\w.]*)")
URL_RE = re.compile(r"(?:https?|file)://\S+|www\.\S+")


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    ref: str
    why: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.ref!r}: {self.why}"


# -- student-facing texts ------------------------------------------------------------------

def _python_texts(text: str):
    """(line, text) of every comment and string literal (docstrings included)."""
    toks = tokenize.generate_tokens(io.StringIO(text).readline)
    for tok in toks:
        if tok.type in (tokenize.COMMENT, tokenize.STRING):
            yield tok.start[0], tok.string


def _notebook_texts(path: Path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for i, cell in enumerate(nb.get("cells", [])):
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else src
        yield i, src


def _makefile_texts(text: str):
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if s.startswith("#"):
            yield n, s
        elif "##" in line:
            yield n, line.split("##", 1)[1]
        if "echo" in s:
            yield n, s.split("echo", 1)[1]


def _toml_texts(text: str):
    for n, line in enumerate(text.splitlines(), 1):
        if "#" in line:
            yield n, line[line.index("#"):]


def student_texts(folder: Path):
    """(relative file, line or cell, text) for every student-facing text of the folder."""
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if not path.is_file() or SKIP_DIRS & set(rel.parts):
            continue
        text = path.read_text(encoding="utf-8") if path.suffix != ".ipynb" else None
        name = rel.as_posix()
        if path.suffix == ".md":
            yield from ((name, n, line) for n, line in enumerate(text.splitlines(), 1))
        elif path.suffix == ".py":
            yield from ((name, n, t) for n, t in _python_texts(text))
        elif path.suffix == ".ipynb":
            yield from ((f"{name} cell", n, t) for n, t in _notebook_texts(path))
        elif path.name == "Makefile" or path.suffix == ".mk":
            yield from ((name, n, t) for n, t in _makefile_texts(text))
        elif path.suffix == ".toml":
            yield from ((name, n, t) for n, t in _toml_texts(text))


# -- what the folder has ---------------------------------------------------------------------

def make_targets(folder: Path) -> set[str]:
    targets: set[str] = set()
    for mk in [folder / "Makefile", *folder.glob("*.mk")]:
        if mk.is_file():
            for m in re.finditer(r"^([A-Za-z][\w-]*(?:\s+[A-Za-z][\w-]*)*)\s*:(?!=)", mk.read_text(), re.M):
                targets.update(m.group(1).split())
    return targets - {"PHONY"}


def installed_modules(folder: Path) -> set[str]:
    """Top-level import names of the packages the folder's requirements.txt installs."""
    reqs = folder / "requirements.txt"
    names = set()
    if reqs.is_file():
        for line in reqs.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                names.add(re.split(r"[<>=!~\[; ]", line, 1)[0].lower().replace("_", "-"))
    mods = set()
    for mod, dists in importlib.metadata.packages_distributions().items():
        if {d.lower().replace("_", "-") for d in dists} & names:
            mods.add(mod)
    return mods


def _exists(folder: Path, ref: str) -> bool:
    ref = ref.rstrip("/") or ref
    return (folder / ref).exists()


def _allowed(folder: str, file: str, ref: str) -> bool:
    file = file.removesuffix(" cell")
    return any(f in ("*", folder) and file == p and ref.lower() == r.lower() for f, p, r in NOT_POINTERS)


def scan(folder: Path) -> list[Finding]:
    targets = make_targets(folder)
    modules = installed_modules(folder) | set(sys.stdlib_module_names) | set(ALWAYS_RUNNABLE)
    found: list[Finding] = []
    for file, line, text in student_texts(folder):
        text = URL_RE.sub(" ", text)
        low = text.lower()
        for phrase in KIT_ONLY:
            if phrase in low and not _allowed(folder.name, file, phrase):
                found.append(Finding(file, line, phrase, "kit-only word"))
        for m in [*PATH_RE.finditer(text), *TICKED_DIR_RE.finditer(text)]:
            ref = m.group(1)
            nxt = text[m.end():m.end() + 1]
            if nxt in "<{*[":                       # a placeholder follows: check its folder
                ref = ref[:ref.rfind("/") + 1] if "/" in ref else ""
            if not ref or ref in ("./", "../") or ref.startswith(("../", ".")) and ref != ".venv/":
                continue
            top = ref.split("/")[0] + ("/" if "/" in ref else "")
            if ref in WRITTEN_AT_RUN_TIME or top in WRITTEN_AT_RUN_TIME or ref in EXAMPLE_NAMES:
                continue
            if _exists(folder, ref) or _allowed(folder.name, file, ref):
                continue
            # a bare file name: fine if the folder has a file of that name anywhere
            if "/" not in ref and any(p.name == ref for p in folder.rglob(ref)):
                continue
            found.append(Finding(file, line, ref, "no such file or folder here"))
        for m in MAKE_RE.finditer(text):
            target = m.group(1)
            if target in ENGLISH_AFTER_MAKE or target in targets:
                continue
            found.append(Finding(file, line, f"make {target}", "no such target in this Makefile"))
        for m in PYM_RE.finditer(text):
            mod = m.group(1).split(".")[0]
            if mod in modules or (folder / f"{mod}.py").is_file() or (folder / mod / "__init__.py").is_file():
                continue
            found.append(Finding(file, line, f"python -m {m.group(1)}", "not importable here"))
    return list(dict.fromkeys(found))


@pytest.mark.parametrize("folder", FOLDERS)
def test_student_texts_name_only_what_the_folder_has(folder):
    found = scan(ROOT / "assignments" / folder)
    assert not found, f"{len(found)} reference(s) to what {folder}/ does not have:\n" + "\n".join(map(str, found))


def test_the_scan_finds_kit_pointers(tmp_path):
    """The scanner itself: each kind of dangling reference is found, and the allowed ones pass."""
    (tmp_path / "Makefile").write_text("check: ## run the tests\n\t@echo \"make check   run\"\n")
    (tmp_path / "requirements.txt").write_text("pytest==9.2.0\n")
    (tmp_path / "train.py").write_text(
        '"""Run `python -m train`; see bench/a2_train.py and configs/mnist_vit.toml."""\n'
        "# writes runs/<recipe>/last.pt and checkpoints/best; see https://example.org/a/b.py\n"
        'MSG = "make bench NAME=x, make sure, make check, python -m pytest, python -m nosuch"\n')
    (tmp_path / "README.md").write_text("Run `make datasets` from the kit's root. Open `train.py`.\n")
    found = {(f.file, f.ref) for f in scan(tmp_path)}
    assert found == {
        ("train.py", "bench/a2_train.py"), ("train.py", "bench/"), ("train.py", "configs/mnist_vit.toml"),
        ("train.py", "make bench"), ("train.py", "python -m nosuch"),
        ("README.md", "make datasets"), ("README.md", "kit's root"), ("README.md", "from the kit"),
    }
