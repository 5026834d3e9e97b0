"""Example submissions, described by small recipes instead of copies of reference code.

`examples/submissions/<assignment folder>/<student>/recipe.toml`:

    base = "reference"            # reference | release | empty
    stub_tasks = ["1.5", "1.6"]   # (reference only) these tasks are left as released stubs
    note = "what this example shows"

    [[replace]]                   # exact text substitutions applied to the base
    file = "layers.py"
    find = "out = x @ w + b"
    with = "out = x @ w + b +"    # e.g. a syntax error

Any other file in the example's folder is copied over the base (an extra module, a
conftest.py that tries to fake a pass, ...). `materialize` rebuilds every example the same
way each time, from `solutions/` and the fences, into a folder such as build/examples/.
"""
from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

from vitlab.course import Assignment
from vitlab.release import fences, sources

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "submissions"


class RecipeError(ValueError):
    """A malformed example recipe; the message names the file."""


def write_base(a: Assignment, dest: Path, base: str, stub_tasks: set[str] | None = None) -> None:
    """The student's folder as released (`release`), fully solved (`reference`) or
    solved except `stub_tasks`."""
    dest.mkdir(parents=True, exist_ok=True)
    if base == "empty":
        return
    if base not in ("reference", "release"):
        raise RecipeError(f"unknown base {base!r} (reference, release or empty)")
    released = ROOT / "assignments" / a.folder
    for f in sources.walk(a):
        target = dest / f.rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if f.kind == "python":
            text = f.path.read_text(encoding="utf-8")
            stub = set() if f.given else (None if base == "release" else set(stub_tasks or ()))
            target.write_text(fences.render(text, str(a.source_dir / f.rel), stub_tasks=stub), encoding="utf-8")
        elif f.kind == "notebook":
            # the reference runs the nbgrader source notebook (its solution cells solved);
            # the release is nbgrader's release of it, when `make release` has made one
            rel_nb = released / f.rel
            if base == "reference" or f.given:
                shutil.copyfile(f.path, target)
            elif rel_nb.is_file():
                shutil.copyfile(rel_nb, target)
        else:
            shutil.copyfile(f.path, target)


def load_recipe(folder: Path) -> dict:
    path = folder / "recipe.toml"
    try:
        recipe = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise RecipeError(f"{path}: {e}") from None
    if recipe.get("base") not in ("reference", "release", "empty"):
        raise RecipeError(f"{path}: base must be reference, release or empty")
    return recipe


def build_example(a: Assignment, folder: Path, dest: Path) -> None:
    recipe = load_recipe(folder)
    if dest.exists():
        shutil.rmtree(dest)
    write_base(a, dest, recipe["base"], set(recipe.get("stub_tasks", [])))
    for rep in recipe.get("replace", []):
        target = dest / rep["file"]
        text = target.read_text(encoding="utf-8") if target.exists() else ""
        if rep["find"] not in text:
            raise RecipeError(f"{folder / 'recipe.toml'}: {rep['find']!r} not found in {rep['file']}")
        target.write_text(text.replace(rep["find"], rep["with"], 1), encoding="utf-8")
    for extra in sorted(folder.rglob("*")):
        rel = extra.relative_to(folder)
        if extra.is_file() and rel.name != "recipe.toml" and "__pycache__" not in rel.parts:
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(extra, dest / rel)


def materialize(a: Assignment, dest: Path, examples: Path = EXAMPLES) -> list[str]:
    """Build every example of `a` under `dest/<student>/`; returns the student names."""
    src = examples / a.folder
    if not src.is_dir():
        raise FileNotFoundError(f"no example submissions for {a.folder} in {src}")
    if dest.exists():
        shutil.rmtree(dest)
    names = []
    for folder in sorted(p for p in src.iterdir() if (p / "recipe.toml").is_file()):
        build_example(a, folder, dest / folder.name)
        names.append(folder.name)
    return names
