"""What a Gradescope image installs for one assignment: its own `requirements.txt` in the zip.

Not the kit's whole requirements.lock (JupyterLab, mkdocs, cookiecutter, copydetect and the
CUDA build of torch: a 6 GB venv), but the packages grading this assignment imports, each
pinned to the version requirements.lock holds, with every dependency they pull in:

- the engine on Gradescope (`gradescope-run`): numpy, pytest, hypothesis (the grading profile)
  and rich (the command line);
- notebook grading, only when a task names an `.ipynb`: nbformat, nbclient, nbconvert,
  nbgrader, ipykernel (the sandboxed kernel) and bleach (the feedback's HTML);
- what the student's code needs: solutions/<a>/requirements.in, less the notebook tools
  (nbgrader, ipykernel) when no task is a notebook;
- what the hidden graders import, and the harness modules they call (`harness:<module>.`),
  read from their source (a1's and a2's graders use torch as an autograd oracle on the
  trusted side; student code still cannot import it there, numpy_only hides it);
- torch where assignment.toml says `gpu = true`.

Dependencies come from the metadata of the kit's own installed packages (`make setup`
installs requirements.lock), evaluated for Gradescope's image: Linux x86_64, CPython 3.11.
Where the assignment does not say `gpu = true`, torch is the CPU build, which has no CUDA
dependencies: the nvidia-*, cuda-* and triton packages are left out, and setup.sh installs
torch (and torchvision) from the CPU wheel index (scripts.TORCH_CPU_INDEX).
"""
from __future__ import annotations

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

from vitlab.course import Assignment, CourseError
from vitlab.release.generated import REQUIREMENTS_IN, _key, _names, _pins

ROOT = Path(__file__).resolve().parents[3]
ENGINE = ("numpy", "pytest", "hypothesis", "rich")
NOTEBOOK = ("nbformat", "nbclient", "nbconvert", "nbgrader", "ipykernel", "bleach")
NOTEBOOK_TOOLS = {"nbgrader", "ipykernel", "jupyter", "jupyterlab", "notebook"}  # student-side only
TORCH_FAMILY = ("torch", "torchvision")    # the CPU index serves both, built for each other
CUDA_ONLY = re.compile(r"^(nvidia-.*|cuda-.*|triton)$")
# Gradescope's image (docs/instructors/gradescope.md): the markers of every dependency are read for it
TARGET = {"python_version": "3.11", "python_full_version": "3.11.0", "sys_platform": "linux",
          "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
          "implementation_name": "cpython", "platform_python_implementation": "CPython",
          "platform_release": "", "platform_version": "", "implementation_version": "3.11.0"}
FILE = "requirements.txt"


def has_notebook_tasks(a: Assignment) -> bool:
    return any(str(f).endswith(".ipynb") for t in a.tasks for f in t.files)


def uses_cpu_torch(a: Assignment) -> bool:
    """torch, when this image has it, is the CPU build unless assignment.toml says gpu = true."""
    return not a.extra.get("gpu")


def grader_modules(a: Assignment, root: Path = ROOT) -> set[str]:
    """Top-level modules the hidden graders of `a` import, and those of the harness modules
    they call inside the sandbox (`"harness:a3.forward_backward"` -> autograder/harness/a3.py)."""
    files = sorted((root / "autograder" / "graders" / a.folder).rglob("*.py"))
    harness = set()
    for p in files:
        harness |= set(re.findall(r"harness:([A-Za-z_][A-Za-z0-9_]*)\.", p.read_text(encoding="utf-8")))
    files += [root / "autograder" / "harness" / f"{h}.py" for h in sorted(harness)
              if (root / "autograder" / "harness" / f"{h}.py").is_file()]
    mods = set()
    for p in files:
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"), str(p))):
            if isinstance(node, ast.Import):
                mods |= {n.name.split(".")[0] for n in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                mods.add(node.module.split(".")[0])
    return mods


def roots(a: Assignment, root: Path = ROOT) -> dict[str, str]:
    """{distribution name: why} of what grading `a` imports directly (closure not yet taken)."""
    why: dict[str, str] = {}

    def add(names, reason):
        for n in names:
            why.setdefault(_key(n), reason)

    add(ENGINE, "the grading engine")
    notebooks = has_notebook_tasks(a)
    if notebooks:
        add(NOTEBOOK, "notebook grading")
    src = a.source_dir / REQUIREMENTS_IN
    student = _names(src) if src.is_file() else ["numpy", "pytest"]
    add([n for n in student if notebooks or _key(n) not in NOTEBOOK_TOOLS], f"student code ({REQUIREMENTS_IN})")
    dists = metadata.packages_distributions()
    third = sorted(m for m in grader_modules(a, root) if m not in sys.stdlib_module_names and m in dists)
    add([dists[m][0] for m in third], "the hidden graders")
    if a.extra.get("gpu"):
        add(["torch"], "gpu = true")
    return why


def closure(names: list[str], cpu_torch: bool) -> dict[str, set[str]]:
    """{distribution: version specifiers its dependents ask for} of `names` and everything they
    depend on, for Gradescope's image (TARGET), from the installed packages' metadata."""
    from packaging.requirements import Requirement

    seen: dict[str, set[str]] = {}
    todo = [(_key(n), frozenset()) for n in names]
    done = set()
    while todo:
        name, extras = todo.pop()
        seen.setdefault(name, set())
        if (name, extras) in done:
            continue
        done.add((name, extras))
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue   # not installed here (a bootstrap package such as setuptools): pip resolves it
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker and not any(req.marker.evaluate({**TARGET, "extra": e}) for e in (extras or {""})):
                continue
            dep = _key(req.name)
            if cpu_torch and name == "torch" and CUDA_ONLY.match(dep):
                continue   # the CPU build of torch has none of these
            seen.setdefault(dep, set())
            if str(req.specifier):
                seen[dep].add(str(req.specifier))
            todo.append((dep, frozenset(req.extras)))
    return seen


def requirements(a: Assignment, lock: Path = ROOT / "requirements.lock", root: Path = ROOT) -> str:
    """The zip's requirements.txt for `a`: every package grading it needs, pinned from `lock`."""
    if not lock.is_file():
        raise CourseError(f"{lock} is missing: the Gradescope image is pinned from it")
    why = roots(a, root)
    cpu = uses_cpu_torch(a)
    pins = _pins(lock)
    need = closure(list(why), cpu)
    lines = [f"# Generated by `make gradescope ASSIGNMENT={a.id}` (autograder/engine/gradescope/requirements.py)"
             " from what grading it imports,",
             "# pinned from the kit's requirements.lock; setup.sh installs this file, nothing else.",
             "# Direct: " + "; ".join(f"{reason}: {', '.join(sorted(n for n in why if why[n] == reason))}"
                                      for reason in dict.fromkeys(why.values()))]
    if "torch" in need:
        lines.append("# torch: the CPU build (setup.sh installs it from the CPU wheel index first)" if cpu
                     else "# torch: the CUDA build (gpu = true)")
    for name in sorted(need):
        if name in pins:
            lines.append(pins[name])
        elif need[name]:
            lines.append(f"{name}{','.join(sorted(need[name]))}    # not in requirements.lock: what torch asks for")
        else:
            raise CourseError(f"{a.id}'s Gradescope image needs {name!r}, which requirements.lock does not pin "
                              "(add it to requirements.txt and run make lock)")
    return "\n".join(lines) + "\n"


def packages(text: str) -> list[tuple[str, str]]:
    """(name, requirement line) of each package in a requirements text written above."""
    out = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            out.append((_key(re.split(r"[=<>~!]", line, 1)[0]), line))
    return out


def torch_lines(text: str) -> list[str]:
    """The pins setup.sh installs from the CPU wheel index (torch and torchvision), if any."""
    return [line for name, line in packages(text) if name in TORCH_FAMILY]
