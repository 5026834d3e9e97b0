"""The student's whole path through one released folder, typed as docs/students.md says, for
a1, a2 and a3 (the capstone, a4, has its own walkthrough in test_capstone_walkthrough.py: its grade
comes from trained checkpoints, not from filling in stubs).

Each test walks, in order, and times every step (the table is printed at the end, `pytest -s`):

1. copy:      the released folder alone to a new temporary place (no PYTHONPATH, cwd the copy,
              HOME in tmp, no path into the kit's .venv);
2. setup:     `.venv` in the copy is a symbolic link to the kit's .venv (a fresh install of
              torch would take minutes and gigabytes; the fresh-venv `make setup` is covered by
              test_student_setup.py), every name in the folder's requirements.txt is checked to
              be installed in it at the pinned version, and `make setup` itself runs with
              `PIP_ARGS="--no-index --dry-run"` (its checks, nothing installed);
3. datasets:  `make datasets DATASET=mnist MIRROR=<mirror>` where the folder reads data (the
              mirror is VITLAB_MIRROR or ../shared/datasets beside the checkout; skipped without);
4. fill in:   every student file that still has stubs becomes the reference
              (solutions/<folder>/<same path>, its fence marker lines removed), and every
              notebook's solution cells take the reference notebook's sources (by grade_id);
5. check:     `make check` passes;
6. notebook:  every notebook runs top to bottom in the copy (nbclient, kernel python3, the copy's
              .venv, MPLBACKEND unset) without an error, and is saved as the student would; one
              that plots holds an image/png output (a1's notebook has no plots: its checks
              print PASS and a count of gradient checks, which are read instead);
7. submit:    `make submit` validates with no warning and writes submission.zip;
8. grade:     the kit's `make grade` on that zip gives full marks in gradebook.csv.
"""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.release.student_copies import ROOT
from vitlab.course import load_course

MIRROR = Path(os.environ.get("VITLAB_MIRROR") or ROOT.parent / "shared" / "datasets")
KEYS = ["a1", "a2", "a3"]
STUB = re.compile(r"""raise\s+NotImplementedError\(\s*["']Task \d+\.\d+""")
FENCE = re.compile(r"^\s*### (BEGIN|END) SOLUTION\b")
# What nbclient runs in the copy's own Python, as a student's Jupyter would: each notebook
# executed from the copy and saved back in place; prints a JSON summary per notebook.
RUN_NOTEBOOKS = r"""
import json, sys
import nbformat
from nbclient import NotebookClient
for name in sys.argv[1:]:
    nb = nbformat.read(name, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": "."}}).execute()
    nbformat.write(nb, name)
    errors = [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(nb.cells) for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "stream")
    print("NOTEBOOK " + json.dumps({"name": name, "errors": errors, "images": images, "text": text}))
"""


class Steps:
    """Wall time per step, printed as a table at the end of the test (even when a step fails)."""

    def __init__(self, key: str):
        self.key, self.rows = key, []

    @contextmanager
    def __call__(self, name: str):
        t0 = time.monotonic()
        try:
            yield
        except BaseException:
            self.rows.append((name + " (FAILED)", time.monotonic() - t0))
            raise
        self.rows.append((name, time.monotonic() - t0))

    def table(self) -> str:
        lines = [f"student walkthrough {self.key}", f"{'step':<12} {'seconds':>8}"]
        lines += [f"{name:<12} {secs:8.1f}" for name, secs in self.rows]
        lines.append(f"{'total':<12} {sum(s for _, s in self.rows):8.1f}")
        return "\n".join(lines)


def _student_env(home: Path) -> dict[str, str]:
    """A student's shell: nothing of the kit's paths, mirror, make or pytest settings; HOME in tmp;
    MPLBACKEND unset (a notebook server leaves it unset, so figures show inline)."""
    drop = {"PYTHONPATH", "VIRTUAL_ENV", "VITLAB_MIRROR", "VITLAB_DATA", "MAKEFLAGS", "MAKELEVEL", "MFLAGS",
            "MPLBACKEND", "JUPYTER_PATH", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "IPYTHONDIR"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("PYTEST_", "COV_CORE"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and not p.startswith(str(ROOT)))
    home.mkdir(parents=True, exist_ok=True)
    env["HOME"] = str(home)
    return env


def _run(cmd: str | list[str], cwd: Path, env: dict[str, str], timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, shell=isinstance(cmd, str), cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _tail(proc: subprocess.CompletedProcess, n: int = 4000) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-n:]}\n--- stderr\n{proc.stderr[-n:]}"


def _copy_alone(key: str, dest: Path) -> Path:
    folder = load_course().assignment(key).folder
    shutil.copytree(ROOT / "assignments" / folder, dest, ignore=shutil.ignore_patterns(
        "__pycache__", ".pytest_cache", ".ipynb_checkpoints", ".venv", "runs", "checkpoints", "data",
        "submission.zip"))
    links = [p for p in dest.rglob("*") if p.is_symlink()]
    assert not links, f"the released folder holds links (into the kit?): {links}"
    return dest


def _requirements(folder: Path) -> dict[str, str]:
    pins = {}
    for line in (folder / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            assert "==" in line, f"requirements.txt: {line!r} is not pinned"
            name, version = line.split("==", 1)
            pins[name.strip()] = version.strip()
    return pins


def _check_pins(folder: Path, env: dict[str, str]) -> None:
    """Every pinned name is installed in the folder's .venv at its pin (read, nothing installed)."""
    pins = _requirements(folder)
    probe = ("import json, sys\nfrom importlib import metadata\nout = {}\n"
             "for n in sys.argv[1:]:\n    try: out[n] = metadata.version(n)\n"
             "    except metadata.PackageNotFoundError: out[n] = None\nprint(json.dumps(out))")
    proc = _run([str(folder / ".venv" / "bin" / "python"), "-c", probe, *pins], folder, env, timeout=120)
    assert proc.returncode == 0, _tail(proc)
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    # a local build tag (torch 2.x.y+cpu) still is the pinned release
    wrong = {n: (v, found[n]) for n, v in pins.items() if (found[n] or "").split("+")[0] != v}
    assert not wrong, f"requirements.txt pins (pinned, installed) that the venv does not match: {wrong}"


def _check_alone(folder: Path, env: dict[str, str]) -> None:
    """From the copy, with the student's environment, nothing of the kit imports."""
    probe = ("import importlib.util as u\nfor n in ('vitlab', 'autograder', 'tests.release'):\n"
             "    try: s = u.find_spec(n)\n    except ImportError: s = None\n"
             "    print(n, s.origin if s else None)")
    proc = _run([str(folder / ".venv" / "bin" / "python"), "-c", probe], folder, env, timeout=120)
    assert proc.returncode == 0, _tail(proc)
    assert all(line.endswith(" None") for line in proc.stdout.splitlines()), f"the kit is reachable:\n{proc.stdout}"


def _strip_fences(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not FENCE.match(line))


def _fill_in(folder: Path, ref: Path) -> tuple[list[str], list[str]]:
    """Stubbed .py files become the reference, fence lines removed; notebooks' solution cells
    take the reference notebook's sources. Returns (files replaced, notebook cells filled)."""
    import nbformat

    files = []
    for path in sorted(folder.rglob("*.py")):
        rel = path.relative_to(folder)
        if rel.parts[0] == "tests" or not STUB.search(path.read_text(encoding="utf-8")):
            continue
        text = (ref / rel).read_text(encoding="utf-8")
        assert "### BEGIN HIDDEN TESTS" not in text, rel
        path.write_text(_strip_fences(text), encoding="utf-8")
        assert not STUB.search(path.read_text(encoding="utf-8")), f"{rel}: the reference still raises"
        files.append(str(rel))
    cells = []
    for path in sorted(folder.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        reference = nbformat.read(ref / path.name, as_version=4)
        answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in reference.cells
                   if c.metadata.get("nbgrader", {}).get("solution")}
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                assert meta.get("grade_id") in answers, f"{path.name}: no reference cell {meta.get('grade_id')}"
                cell.source = _strip_fences(answers[meta["grade_id"]])
                cells.append(f"{path.name}:{meta['grade_id']}")
        nbformat.write(nb, path)
    return files, cells


def _grade(zip_path: Path, key: str, out: Path) -> list[dict]:
    """The kit's `make grade` on the zip, from the kit root; the gradebook's rows."""
    subs = out.parent / "submissions"
    subs.mkdir(parents=True)
    shutil.move(str(zip_path), subs / "student.zip")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    args = [f"ASSIGNMENT={key}", f"SUBMISSIONS={subs}", f"OUT={out}", "WORKERS=1"]
    dry = _run(["make", "-n", "grade", *args], ROOT, env, timeout=120)
    if dry.returncode == 0 and "scripts/setup.sh" not in dry.stdout:
        proc = _run(["make", "grade", *args], ROOT, env, timeout=1200)
    else:
        # the kit's set-up stamp does not match requirements.lock: `make grade` would reinstall
        # the kit's .venv (which a running suite uses), so the same engine is called directly
        proc = _run([str(ROOT / ".venv" / "bin" / "python"), "-m", "autograder", "grade", "-a", key,
                     "-s", str(subs), "-o", str(out), "-j", "1"], ROOT,
                    {k: v for k, v in env.items() if k != "PYTHONPATH"}, timeout=1200)
    assert proc.returncode == 0, _tail(proc)
    with open(out / "gradebook.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
@pytest.mark.parametrize("key", KEYS)
def test_student_walkthrough(key, tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    a = load_course().assignment(key)
    ref = ROOT / "solutions" / a.folder
    needs_data = "\ndatasets:" in (ROOT / "assignments" / a.folder / "Makefile").read_text()
    if needs_data and not (MIRROR / "MNIST").is_dir():
        pytest.skip(f"{key} reads MNIST and there is no mirror at {MIRROR} (set VITLAB_MIRROR)")
    steps = Steps(key)
    env = _student_env(tmp_path / "home")
    try:
        with steps("copy"):
            folder = _copy_alone(key, tmp_path / "student" / a.folder)

        with steps("setup"):
            (folder / ".venv").symlink_to(ROOT / ".venv", target_is_directory=True)
            _check_alone(folder, env)
            _check_pins(folder, env)
            proc = _run(["make", "setup", "PIP_ARGS=--no-index --dry-run"], folder, env, timeout=300)
            assert proc.returncode == 0, _tail(proc)
            assert "setup: done" in proc.stdout, _tail(proc)

        if needs_data:
            with steps("datasets"):
                proc = _run(f"make datasets DATASET=mnist MIRROR={MIRROR}", folder, env, timeout=900)
                assert proc.returncode == 0, _tail(proc)
                assert (tmp_path / "home" / ".cache" / "vitlab" / "datasets" / "mnist").is_dir(), _tail(proc)

        with steps("fill in"):
            files, cells = _fill_in(folder, ref)
            assert files, "no stubbed file in the released folder"
            print(f"{key}: filled in {files} and notebook cells {cells}")

        with steps("check"):
            proc = _run(["make", "check"], folder, env, timeout=900)
            assert proc.returncode == 0, _tail(proc)
            assert ".venv/bin/python -m pytest" in proc.stdout and " passed" in proc.stdout, _tail(proc)
            assert not re.search(r"\d+ (failed|error)", proc.stdout), _tail(proc)

        with steps("notebook"):
            names = sorted(p.name for p in folder.glob("*.ipynb"))
            assert names
            proc = _run([str(folder / ".venv" / "bin" / "python"), "-c", RUN_NOTEBOOKS, *names], folder, env,
                        timeout=1800)
            assert proc.returncode == 0, _tail(proc)
            runs = {r["name"]: r for r in (json.loads(line[len("NOTEBOOK "):]) for line in proc.stdout.splitlines()
                                            if line.startswith("NOTEBOOK "))}
            assert set(runs) == set(names), _tail(proc)
            for name, r in runs.items():
                assert not r["errors"], f"{name}: cells raise when run top to bottom: {r['errors']}"
                source = (folder / name).read_text(encoding="utf-8")
                if "matplotlib" in source:
                    assert r["images"] >= 1, f"{name} plots but holds no image/png output"
                else:   # a1: no plots; its checks print PASS/FAIL/SKIP and a count of gradient checks
                    assert "PASS" in r["text"] and "FAIL" not in r["text"] and "SKIP" not in r["text"], r["text"]
                    m = re.search(r"(\d+) of (\d+) gradient checks pass", r["text"])
                    assert m and m.group(1) == m.group(2) and int(m.group(1)) > 0, r["text"]
                    assert "not done yet" not in r["text"] and "the given ones" not in r["text"], r["text"]

        with steps("submit"):
            proc = _run(["make", "submit"], folder, env, timeout=1800)
            assert proc.returncode == 0, _tail(proc)
            out = proc.stdout + proc.stderr
            assert "VALIDATION FAILED" not in out and "WARNING" not in out, _tail(proc, 8000)
            assert "no warnings: every task has code and every graded file is there" in proc.stdout, _tail(proc)
            assert (folder / "submission.zip").is_file()

        with steps("grade"):
            rows = _grade(folder / "submission.zip", key, tmp_path / "grading" / "out")
            assert {r["student"] for r in rows} == {"student"}, rows
            assert {r["task"] for r in rows} == {t.id for t in a.tasks}, rows
            short = [r for r in rows if float(r["score"]) != float(r["max_score"]) or r["status"] != "passed"]
            assert not short, f"not full marks: {short}"
            assert sum(float(r["score"]) for r in rows) == sum(t.points for t in a.tasks)
    finally:
        print("\n" + steps.table())
