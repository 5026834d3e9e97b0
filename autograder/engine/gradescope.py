"""Gradescope: build `autograder.zip`, and grade `/autograder/submission` inside it.

The zip holds `setup.sh` (pinned Python packages, bubblewrap), `run_autograder` and a
`source/` tree with exactly what grading needs: the engine, this assignment's hidden
graders and harness, the reference solution (trusted side only) and the course registry.
`run_autograder` calls `python -m autograder gradescope-run`, which grades the one
submission with the same engine as `make grade` and writes
`/autograder/results/results.json`.
"""
from __future__ import annotations

import shutil
import stat
import sys
import tempfile
import zipfile
from pathlib import Path

from vitlab.course import load_course
from vitlab.io import atomic_path, atomic_write

ROOT = Path(__file__).resolve().parents[2]
SKIP = {"__pycache__", ".pytest_cache", ".hypothesis", ".ipynb_checkpoints"}

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image.
set -euo pipefail
cd /autograder/source
apt-get update -q && apt-get install -y -q python3 python3-pip python3-venv bubblewrap || \\
  echo "setup.sh: WARNING: could not install bubblewrap; grading will say it ran without a sandbox"
python3 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install -q --upgrade pip
/autograder/venv/bin/python -m pip install -q -r requirements.lock
# Where a namespace sandbox cannot run, student code runs as the user nobody: the graders
# and the reference must be unreadable to it (Gradescope's advice for such containers).
chmod -R go-rwx /autograder/source
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission.
set -uo pipefail
AUTOGRADER_ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{PYTHON:-$AUTOGRADER_ROOT/venv/bin/python}}"
cd "$AUTOGRADER_ROOT/source"
# --unsafe-no-sandbox takes effect only where bubblewrap cannot run (some containers allow no
# user namespaces): then student code runs as the user nobody, which setup.sh made unable to
# read this folder, and the results say it ran unsandboxed.
env -u PYTHONPATH -u PYTEST_ADDOPTS -u PYTEST_PLUGINS "$PYTHON" -m autograder gradescope-run \\
  -a {assignment} --submission "$AUTOGRADER_ROOT/submission" \\
  --results "$AUTOGRADER_ROOT/results/results.json" --unsafe-no-sandbox
"""


def _add_tree(z: zipfile.ZipFile, src: Path, arc: str) -> None:
    if src.is_file():
        z.write(src, arc)
        return
    for p in sorted(src.rglob("*")):
        rel = p.relative_to(src)
        if p.is_file() and not (set(rel.parts) & SKIP) and p.suffix != ".pyc":
            z.write(p, f"{arc}/{rel.as_posix()}")


def _add_script(z: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = (stat.S_IFREG | 0o755) << 16
    z.writestr(info, text)


def build(assignment: str, out: Path | None = None) -> Path:
    course = load_course()
    a = course.assignment(assignment)
    out = Path(out or ROOT / "build" / "gradescope" / a.folder / "autograder.zip")
    graders = ROOT / "autograder" / "graders" / a.folder
    with atomic_path(out) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        _add_script(z, "setup.sh", SETUP_SH)
        _add_script(z, "run_autograder", RUN_AUTOGRADER.format(assignment=a.id))
        for rel in ("requirements.lock", "course.toml", "vitlab", "autograder/__init__.py",
                    "autograder/__main__.py", "autograder/engine", "autograder/harness"):
            _add_tree(z, ROOT / rel, f"source/{rel}")
        if graders.is_dir():
            _add_tree(z, graders, f"source/autograder/graders/{a.folder}")
        for other in course.assignments:   # every assignment.toml: task ids are course-wide
            _add_tree(z, other.source_dir / "assignment.toml", f"source/solutions/{other.folder}/assignment.toml")
        _add_solution(z, a)
        if (ROOT / "datasets" / "vitdata").is_dir():
            _add_tree(z, ROOT / "datasets" / "vitdata", "source/datasets/vitdata")
    return out


def _add_solution(z: zipfile.ZipFile, a) -> None:
    """The reference (symlinked given code resolved to plain files)."""
    for p in sorted(a.source_dir.rglob("*")):
        rel = p.relative_to(a.source_dir)
        if set(rel.parts) & SKIP or rel.name == "assignment.toml":
            continue
        real = p.resolve()
        if real.is_file():
            z.write(real, f"source/solutions/{a.folder}/{rel.as_posix()}")


def build_command(args) -> int:
    path = build(args.assignment, args.out)
    print(f"gradescope: wrote {path} ({path.stat().st_size >> 10} KiB): upload it as the autograder")
    return 0


def run_command(args) -> int:
    """Grade one Gradescope submission folder and write results.json."""
    from autograder.engine.grade import grade_all

    results = Path(args.results)
    with tempfile.TemporaryDirectory(prefix="vitlab-gradescope-") as tmp:
        subs = Path(tmp) / "submissions"
        subs.mkdir()
        src = Path(args.submission)
        if src.is_dir():
            shutil.copytree(src, subs / "submission", symlinks=True)
        else:
            (subs / "submission").mkdir()
        summary = grade_all(args.assignment, subs, Path(tmp) / "out", force=True,
                            allow_unsandboxed=args.unsafe_no_sandbox)
        res = (Path(tmp) / "out" / "submission" / "results.json").read_text(encoding="utf-8")
    atomic_write(results, res)
    print(f"gradescope: {summary.results[0]['score']:g} points; results in {results}", file=sys.stderr)
    return 0

