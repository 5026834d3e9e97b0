"""`make submit` (python handin.py): check this assignment folder and write submission.zip.

    python handin.py                  # public tests, notebooks, warnings, then submission.zip
    python handin.py --skip-tests     # the same without the public tests / notebooks
    python handin.py --skip-notebooks

1. The public tests run (`python -m pytest`); failures are shown, not fatal: every task is
   graded on its own, so a half-done assignment still earns the tasks that work.
2. Every notebook with cells to fill in or graded cells runs top to bottom and is validated:
   `nbgrader validate` (the course grades notebooks with nbgrader, so this is the same check),
   or nbclient where nbgrader is not installed (a notebook server that has only jupyter).
3. Warnings name what would score zero: a task whose stub still raises NotImplementedError, a
   file a task is graded on that is missing, a file over the grader's size limit.
4. submission.zip holds this folder's files at its top level (no .venv, caches, runs/ or
   data): the course's grader and Gradescope both accept that layout. It is written atomically, with
   `submitted_at.txt` (the time it was made, ISO-8601 UTC) on top: the course's late policy
   reads it when the course collects no submission times of its own.

The same file ships in every assignment folder (do not edit it); standard library only, so it
runs before `make setup` too.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).absolute().parent      # not resolved: the kit's reference folder links here
OUT_NAME = "submission.zip"
# The grader's limits (the course's tests keep them equal): a larger file is left out of grading.
MAX_FILE = 64 << 20
MAX_TOTAL = 512 << 20
MAX_FILES = 5000
# Never packed: environments, caches, training runs, data, and earlier submissions.
SKIP_DIRS = {".venv", "venv", "__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".hypothesis", ".git",
             ".mypy_cache", ".ruff_cache", "runs", "data", "wandb", "__MACOSX"}
TIME_FILE = "submitted_at.txt"          # read by the course's term tools (late policy)
SKIP_FILES = {OUT_NAME, TIME_FILE, ".DS_Store", "Thumbs.db"}
STUB = re.compile(r"""raise\s+NotImplementedError\(\s*["']Task (\d+\.\d+)\b""")


def load_tasks(folder: Path) -> list[dict]:
    """The tasks of assignment.toml: id, title, points, files."""
    path = folder / "assignment.toml"
    try:
        return list(tomllib.loads(path.read_text(encoding="utf-8")).get("tasks", []))
    except (OSError, tomllib.TOMLDecodeError) as e:
        sys.exit(f"handin: cannot read {path}: {e}")


def packed_files(folder: Path) -> list[Path]:
    """Every file that goes into the zip, relative to `folder`, sorted."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(filenames):
            full = Path(dirpath) / name
            if name in SKIP_FILES or name.startswith(".~") or name.endswith((".pyc", ".zip.tmp")):
                continue
            if full.is_symlink() or not full.is_file():
                continue
            out.append(full.relative_to(folder))
    return out


def zero_score_warnings(folder: Path, tasks: list[dict], files: list[Path]) -> list[str]:
    """What would make a task score zero: a stub that still raises, a missing or oversized file."""
    warnings = []
    stubs: dict[str, list[str]] = {}
    for rel in files:
        if rel.suffix != ".py" or rel.parts[0] == "tests" or rel.name == "handin.py":
            continue
        for lineno, line in enumerate((folder / rel).read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if (m := STUB.search(line)) and not line.lstrip().startswith("#"):
                stubs.setdefault(m.group(1), []).append(f"{rel}:{lineno}")
    for t in tasks:
        tid, pts = str(t.get("id")), t.get("points", 0)
        if tid in stubs:
            warnings.append(f"Task {tid} ({pts:g} points): still raises NotImplementedError at "
                            f"{', '.join(stubs[tid][:3])}: it scores 0 as it is")
        for f in t.get("files", []):
            p = folder / f
            if not p.is_file():
                warnings.append(f"Task {tid} ({pts:g} points): {f} is missing: it scores 0 without it")
    for rel in files:
        size = (folder / rel).stat().st_size
        if size > MAX_FILE:
            warnings.append(f"{rel}: {size / 2**20:.1f} MB is over the grader's {MAX_FILE >> 20} MB limit per "
                            "file: it is left out of submission.zip (a task graded on it scores 0)")
    return warnings


def run_tests(folder: Path) -> str | None:
    """Run the public tests; a warning when some fail (or pytest is missing)."""
    print("== public tests (python -m pytest)", flush=True)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=folder)
    if proc.returncode == 0:
        return None
    if proc.returncode == 5:
        return "no public tests ran"
    if proc.returncode == 1:
        return "some public tests fail (see above): those tasks will likely lose points"
    return f"the public tests could not run (pytest exit status {proc.returncode}; did you run make setup?)"


def notebooks_to_check(folder: Path) -> list[Path]:
    """Top-level notebooks with cells to fill in or graded cells (a notebook that only
    trains, like the capstone's walkthrough, is not re-run here)."""
    out = []
    for nb in sorted(folder.glob("*.ipynb")):
        try:
            cells = json.loads(nb.read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError) as e:
            out.append(nb)     # unreadable: validation reports it
            print(f"handin: {nb.name} is not valid notebook JSON ({e})")
            continue
        meta = [c.get("metadata", {}).get("nbgrader", {}) for c in cells if isinstance(c, dict)]
        if any(m.get("solution") or m.get("grade") for m in meta if isinstance(m, dict)):
            out.append(nb)
    return out


# nbgrader's own validation, in a child process: its usual report, then one line listing the
# failed cells' sources, so that a failure can be told apart as graded or not.
FAILED_MARK = "handin-failed-cells: "
VALIDATE = f"""
import json, sys
from nbgrader.validator import Validator
v = Validator(validate_all=True)
seen = {{}}
run = v.validate
v.validate = lambda name: seen.setdefault("results", run(name))
v.validate_and_print(sys.argv[1])
r = seen["results"]
if not (r.get("changed") or r.get("type_changed")):   # else the report is about edited cells, not failures
    print({FAILED_MARK!r} + json.dumps([c["source"] for c in r.get("failed", [])]))
"""


def validate_notebook(nb: Path) -> str | None:
    """Run `nb` top to bottom and report failing cells; a warning, or None when it passes."""
    print(f"== notebook {nb.name}", flush=True)
    if _importable("nbgrader"):
        proc = subprocess.run([sys.executable, "-c", VALIDATE, nb.name], cwd=nb.parent, capture_output=True, text=True)
        lines = (proc.stdout + proc.stderr).splitlines()
        failed = [json.loads(line[len(FAILED_MARK):]) for line in lines if line.startswith(FAILED_MARK)]
        report = "\n".join(line for line in lines if not line.startswith(("[ValidateApp", "[IPKernelApp", FAILED_MARK)))
        print(report.strip()[-6000:])
        if proc.returncode == 0 and "VALIDATION FAILED" not in report and "Success!" in report:
            return None
        return f"{nb.name}: nbgrader validate reports failing cells (above){_graded_note(nb, failed[0] if failed else None)}"
    if _importable("nbclient") and _importable("nbformat"):
        return _run_with_nbclient(nb)
    return f"{nb.name}: not checked (neither nbgrader nor nbclient is installed; run make setup)"


def _run_with_nbclient(nb: Path) -> str | None:
    import nbformat
    from nbclient import NotebookClient

    book = nbformat.read(nb, as_version=4)
    NotebookClient(book, timeout=900, allow_errors=True, resources={"metadata": {"path": str(nb.parent)}}).execute()
    failed = [i for i, c in enumerate(book.cells, 1)
              if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    if not failed:
        print("every cell ran without an error")
        return None
    sources = [book.cells[i - 1].source for i in failed]
    return f"{nb.name}: cells {', '.join(map(str, failed))} raise an error when run top to bottom{_graded_note(nb, sources)}"


def _graded_note(nb: Path, failed_sources: list[str] | None) -> str:
    """What the failure costs: points only when a graded cell is among the failed ones."""
    graded = _graded_cells(nb)
    if failed_sources is None:       # the failed cells are not known: the validation itself broke
        return ": graded cells among them would lose points" if graded else " (its cells are not graded)"
    hit = sorted({graded[s.strip()] for s in failed_sources if s.strip() in graded})
    if hit:
        return f": graded cells among them lose points ({', '.join(hit)})"
    return " (none of them is graded: no points are lost, but look at what they printed)"


def _graded_cells(nb: Path) -> dict[str, str]:
    """{stripped source: grade_id} of the notebook's graded cells."""
    try:
        cells = json.loads(nb.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        return {}
    out = {}
    for c in cells:
        meta = c.get("metadata", {}).get("nbgrader", {}) if isinstance(c, dict) else {}
        if isinstance(meta, dict) and meta.get("grade"):
            source = c.get("source", "")
            out[("".join(source) if isinstance(source, list) else str(source)).strip()] = str(meta.get("grade_id", "?"))
    return out


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def capstone_check(folder: Path) -> None:
    """The capstone's own checkpoint check (submit.py check), shown as it reports."""
    if (folder / "submit.py").is_file() and (folder / "checkpoints").exists():
        print("== checkpoints (python submit.py check)", flush=True)
        subprocess.run([sys.executable, "submit.py", "check"], cwd=folder)


def write_zip(folder: Path, files: list[Path], dest: Path) -> tuple[int, int]:
    """Write the zip atomically; files over the grader's limit stay out. Returns (files, bytes)."""
    kept = [rel for rel in files if (folder / rel).stat().st_size <= MAX_FILE][:MAX_FILES]
    tmp = dest.with_name(dest.name + ".tmp")
    total = 0
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(TIME_FILE, datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") + "\n")
        for rel in kept:
            z.write(folder / rel, rel.as_posix())
            total += (folder / rel).stat().st_size
    os.replace(tmp, dest)
    return len(kept), total


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python handin.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--skip-tests", action="store_true", help="do not run the public tests")
    p.add_argument("--skip-notebooks", action="store_true", help="do not run and validate the notebooks")
    p.add_argument("--folder", type=Path, default=HERE, help="the assignment folder (default: this script's)")
    p.add_argument("--out", type=Path, default=None, help=f"where to write the zip (default: <folder>/{OUT_NAME})")
    args = p.parse_args(argv)
    folder = args.folder.resolve()
    tasks = load_tasks(folder)
    warnings: list[str] = []
    if not args.skip_tests:
        warnings += [w for w in [run_tests(folder)] if w]
    if not args.skip_notebooks:
        warnings += [w for nb in notebooks_to_check(folder) if (w := validate_notebook(nb))]
    capstone_check(folder)
    files = packed_files(folder)
    warnings += zero_score_warnings(folder, tasks, files)
    n, total = write_zip(folder, files, (args.out or folder / OUT_NAME).resolve())
    if total > MAX_TOTAL or len(files) > MAX_FILES:
        warnings.append(f"the submission holds {len(files)} files, {total / 2**20:.0f} MB: over the grader's limit of "
                        f"{MAX_FILES} files or {MAX_TOTAL >> 20} MB; remove what is not yours to submit")
    print(f"\n== {args.out or OUT_NAME}: {n} files, {total / 2**20:.1f} MB")
    for w in warnings:
        print(f"WARNING: {w}")
    if not warnings:
        print("no warnings: every task has code and every graded file is there")
    print(f"Upload {args.out or OUT_NAME} (Gradescope), or hand it in as your course says.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
