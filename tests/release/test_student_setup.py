"""Every released folder carries its own pinned requirements.txt, and a student with only the
folder and Python 3.11+ gets a working environment from `make setup`."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.release.student_copies import ROOT, student_copy
from vitlab.course import CourseError, load_course
from vitlab.release import generated

NO_TORCH = {"a1", "a2"}      # NumPy assignments: small, CPU-only environments


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[generated._key(name)] = version.split()[0]
    return pins


@pytest.mark.parametrize("a", load_course().assignments, ids=lambda a: a.id)
def test_requirements_are_pinned_to_the_kits_lock(a):
    text = (ROOT / "assignments" / a.folder / "requirements.txt").read_text()
    pins = dict(line.split("==", 1) for line in text.splitlines() if line and not line.startswith("#"))
    lock = _lock()
    assert {"numpy", "pytest"} <= set(pins)
    for name, version in pins.items():
        assert lock[generated._key(name)] == version, name
    if a.id in NO_TORCH:
        assert not {"torch", "torchvision"} & set(pins)
    else:
        assert {"torch", "torchvision", "safetensors"} <= set(pins)


def test_a_name_missing_from_the_lock_is_one_line_naming_the_file(tmp_path):
    a = load_course().assignment("a1")
    fake = tmp_path / "a1"
    fake.mkdir()
    (fake / "requirements.in").write_text("numpy\nnot-a-locked-package\n")
    with pytest.raises(CourseError, match=r"requirements\.in: 'not-a-locked-package' is not pinned in"):
        generated.requirements(type(a)(a.folder, a.id, a.title, a.tasks, fake), ROOT / "requirements.lock")
    (fake / "requirements.in").write_text("numpy>=2\n")
    with pytest.raises(CourseError, match=r"requirements\.in:1: expected a package name"):
        generated.requirements(type(a)(a.folder, a.id, a.title, a.tasks, fake), ROOT / "requirements.lock")


def test_setup_without_the_python_says_what_to_install(tmp_path):
    folder = student_copy(tmp_path / "a1", "a1", done=set())
    proc = subprocess.run(["make", "-s", "setup", "SETUP_PYTHON=python3.99"], cwd=folder, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "no python3.99 on PATH; install Python 3.11 or newer" in proc.stdout + proc.stderr


def test_setup_with_an_old_python_says_which_it_needs(tmp_path):
    """A Python that reports 3.10 is refused before any .venv is made, in one line."""
    folder = student_copy(tmp_path / "a1", "a1", done=set())
    old = tmp_path / "python3.10"
    old.write_text(f"#!/bin/sh\n# a stand-in for Python 3.10: `python -c CODE` with version_info set back\n"
                   f"exec {sys.executable} -c 'import sys; sys.version_info = (3, 10, 12, \"final\", 0); "
                   f"exec(sys.argv[1])' \"$2\"\n")
    old.chmod(0o755)
    proc = subprocess.run(["make", "-s", "setup", f"SETUP_PYTHON={old}"], cwd=folder, capture_output=True, text=True)
    assert proc.returncode != 0
    assert f"make setup: {old} is Python 3.10; this assignment needs 3.11 or newer" in proc.stderr
    assert not (folder / ".venv").exists()


@pytest.mark.slow
def test_fresh_folder_fresh_venv_make_setup_then_check(tmp_path):
    """The student's path, for a1: its folder alone, `make setup` (a new .venv from its
    requirements.txt, through the same package index pip uses for the kit), `make check`."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    folder = student_copy(tmp_path / "a1_numpy_layers", "a1", done=None)
    # MAKEFLAGS: an outer `make -s test` would silence the command line this test looks for
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "MAKEFLAGS", "MAKELEVEL")}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if ".venv" not in p)
    base = shutil.which("python3", path=env["PATH"]) or sys.executable
    proc = subprocess.run(["make", "setup", f"SETUP_PYTHON={base}"], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    venv_py = folder / ".venv" / "bin" / "python"
    assert venv_py.is_file()
    probe = subprocess.run([str(venv_py), "-c", "import sys, numpy, pytest, nbgrader; print(sys.prefix)"],
                           capture_output=True, text=True, env=env)
    assert probe.returncode == 0 and probe.stdout.strip() == str(folder / ".venv"), probe.stderr
    assert subprocess.run([str(venv_py), "-c", "import torch"], capture_output=True, env=env).returncode != 0
    proc = subprocess.run(["make", "check"], cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert ".venv/bin/python -m pytest" in proc.stdout and "passed" in proc.stdout
