"""No solution of the graded assignment exists where student code runs: not as files, not
as source, strings or code objects reachable through `gc`, frames or modules. The untouched
release of a2 and a3, with a probe that searches everything it can reach in every task's
sandbox for any line of a solution fence or a hidden grader, finds none."""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from autograder.engine.examples import write_base
from vitlab.course import load_course
from vitlab.release.leaks import feedback_leaks, feedback_secrets

COURSE = load_course()

PROBE = '''
def _vitlab_probe(secret_hashes):
    import gc, hashlib, os, sys, types
    seen, found, scanned = set(), set(), [0]

    def text(s):
        for line in s.splitlines():
            n = " ".join(line.split())
            if len(n) >= 20:
                scanned[0] += 1
                h = hashlib.sha256(n.encode()).hexdigest()[:16]
                if h in secret_hashes:
                    found.add(h)

    def walk(v, depth=0):
        if depth > 4 or id(v) in seen:
            return
        seen.add(id(v))
        if isinstance(v, str):
            text(v)
        elif isinstance(v, bytes):
            text(v.decode("utf-8", "replace"))
        elif isinstance(v, dict):
            for k, x in list(v.items())[:5000]:
                walk(k, depth + 1)
                walk(x, depth + 1)
        elif isinstance(v, (list, tuple, set, frozenset)):
            for x in list(v)[:5000]:
                walk(x, depth + 1)
        elif isinstance(v, types.CodeType):
            for x in v.co_consts:
                walk(x, depth + 1)
            walk(v.co_names, depth + 1)
        elif isinstance(v, types.FunctionType):
            walk(v.__code__, depth + 1)
            walk(v.__doc__, depth + 1)
            walk(v.__defaults__, depth + 1)
        elif isinstance(v, types.ModuleType):
            walk(vars(v), depth + 1)

    for obj in gc.get_objects():
        if isinstance(obj, (types.FunctionType, types.CodeType, types.ModuleType, dict, list, tuple)):
            walk(obj)
    frame = sys._getframe()
    while frame is not None:
        walk(frame.f_locals)
        walk(frame.f_globals)
        frame = frame.f_back
    skip = ("/proc", "/sys", "/dev", "/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin",
            os.path.realpath(sys.base_prefix))
    for root, dirs, files in os.walk("/"):
        dirs[:] = [d for d in dirs if not os.path.join(root, d).startswith(skip) and d != "site-packages"]
        for f in files:
            if os.path.realpath(os.path.join(root, f)).startswith(skip):
                continue                    # a link into a skipped tree (/etc/alternatives)
            try:
                with open(os.path.join(root, f), "rb") as fh:
                    text(fh.read(1 << 20).decode("utf-8", "replace"))
            except OSError:
                pass
    for p in ("/proc/self/environ", "/proc/self/cmdline", "/proc/1/cmdline"):
        try:
            text(open(p, "rb").read().replace(b"\\0", b"\\n").decode("utf-8", "replace"))
        except OSError:
            pass
    print("SCANNED", scanned[0], "FOUND", sorted(found))


import os as _os
if not _os.environ.get("VITLAB_PROBED"):   # once per worker: at the first task module's import,
    _os.environ["VITLAB_PROBED"] = "1"      # the worker's own frames still hold its init message
    _vitlab_probe({hashes!r})
'''


def _public_lines() -> set[str]:
    """Lines of the third-party files the probe reads in the sandbox (the venv outside
    site-packages: scripts such as bin/jsonpointer): a solution line that is also there
    (`except UnicodeDecodeError as e:`) says nothing about where the solution went."""
    out = set()
    for root, dirs, files in os.walk(sys.prefix):
        dirs[:] = [d for d in dirs if d != "site-packages"]
        for f in files:
            try:
                with open(os.path.join(root, f), "rb") as fh:
                    text = fh.read(1 << 20).decode("utf-8", "replace")
            except OSError:
                continue
            out |= {" ".join(line.split()) for line in text.splitlines()}
    return out


def _submission(root, a, secrets):
    public = _public_lines()
    hashes = {hashlib.sha256(s.encode()).hexdigest()[:16] for s, (pos, _) in secrets.items()
              if pos >= COURSE.assignments.index(a) and " ".join(s.split()) not in public}
    dest = root / a.folder
    write_base(a, dest, "release")
    for rel in {f for t in a.tasks for f in t.files if f.endswith(".py")}:
        path = dest / rel
        path.write_text(path.read_text(encoding="utf-8") + PROBE.format(hashes=sorted(hashes)), encoding="utf-8")
    return dest


class _Graded(dict):
    """Each assignment graded once, on first use (so `-k a1` grades only a1)."""

    def __init__(self, factory, secrets):
        super().__init__()
        self.factory, self.secrets = factory, secrets

    def __missing__(self, aid):
        from autograder.engine.grade import grade_all
        root = self.factory.mktemp(f"probe_{aid}")
        a = COURSE.assignment(aid)
        _submission(root / "subs", a, self.secrets)
        summary = grade_all(aid, root / "subs", root / "out", workers=2, force=True,
                            graders_root=_graders_without_static_scan(root, a))
        self[aid] = (summary.results[0]["extra_data"]["tasks"], root / "out")
        return self[aid]


def _graders_without_static_scan(root: Path, a) -> Path | None:
    """a3's static scan refuses the probe (gc, frames) before it can run, and its stub check
    fails every check of a released stub before the task's code is imported; this test asks
    what the sandbox holds, so it grades with a copy of the graders whose scan finds nothing
    and whose stubs count as written (their own tests: tests/a3/test_a3_ban.py,
    test_grading_a3_ban_more.py and test_a3_contracts.py)."""
    src = COURSE.root / "autograder" / "graders"
    if not (src / a.folder / "a3_ban.py").is_file():
        return None
    dest = root / "graders"
    shutil.copytree(src / a.folder, dest / a.folder, ignore=shutil.ignore_patterns("__pycache__"))
    ban = dest / a.folder / "a3_ban.py"
    ban.write_text(ban.read_text(encoding="utf-8") + "\n\ndef scan_submission(*_args, **_kw):\n    return []\n",
                   encoding="utf-8")
    stubs = dest / a.folder / "a3_stubs.py"
    stubs.write_text(stubs.read_text(encoding="utf-8") + "\n\ndef untouched(*_args, **_kw):\n    return frozenset()\n",
                     encoding="utf-8")
    return dest


# a1 too: its tasks share layers.py and have no test doubles, so the probe shows that no
# reference of another a1 task is swapped in where a task runs
AIDS = [aid for aid in ("a1", "a2", "a3") if aid in {a.id for a in COURSE.assignments}]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    secrets = feedback_secrets(COURSE)
    return _Graded(tmp_path_factory, secrets), secrets


@pytest.mark.slow
@pytest.mark.parametrize("aid", AIDS)
def test_the_probe_searched_every_task_and_found_nothing(graded, aid):
    tasks, _ = graded[0][aid]
    probed = [t for t in tasks if "SCANNED" in t["output"]]
    assert len(probed) >= len(tasks) - 1, [t["task"] for t in tasks if "SCANNED" not in t["output"]]
    for t in probed:
        n = int(t["output"].split("SCANNED ", 1)[1].split()[0])
        assert n > 1000, (t["task"], n)                    # it really read code, modules and files
        assert "FOUND []" in t["output"], (t["task"], t["output"][-500:])


@pytest.mark.slow
@pytest.mark.parametrize("aid", AIDS)
def test_feedback_holds_no_solution_or_grader_line(graded, aid):
    (_, out), secrets = graded[0][aid], graded[1]
    files = list(out.rglob("feedback.md")) + list(out.rglob("results.json"))
    assert files and feedback_leaks(COURSE, files, secrets) == []


def test_the_leak_scan_finds_a_planted_line():
    secrets = feedback_secrets(COURSE)
    with tempfile.TemporaryDirectory() as tmp:   # outside pytest's folders: the suite-wide scan skips it
        _planted(Path(tmp), secrets)


def _planted(tmp_path, secrets):
    a2_line = next(s for s, (pos, o) in secrets.items() if pos == 1 and "solutions/" in o)
    a1_line = next(s for s, (pos, o) in secrets.items() if pos == 0 and "solutions/" in o)
    grader_line = next(s for s, (pos, o) in secrets.items() if pos == 1 and "hidden grader" in o)
    fb = tmp_path / "feedback.md"
    fb.write_text(f"# Feedback: a2_numpy_vit (x)\n\n```\n  {a2_line}\n{a1_line}\n{grader_line}\n```\n")
    found = feedback_leaks(COURSE, [fb], secrets)
    assert [leak.lineno for leak in found] == [4, 6]           # a1's given code may show in a2
    fb.write_text(f"# Feedback: a1_numpy_layers (x)\n{a1_line}\n")
    assert len(feedback_leaks(COURSE, [fb], secrets)) == 1
    # a warning quotes the line of the student's own file that warned; any other file's does not count
    fb.write_text(f"# Feedback: a1_numpy_layers (x)\n/submission/layers.py:3: RuntimeWarning: overflow\n  {a1_line}\n"
                  f"/opt/x/harness.py:9: UserWarning: w\n  {a1_line}\n"
                  f"/submission/layers.py:3: RuntimeWarning: overflow\n{a1_line}\n")
    assert [leak.lineno for leak in feedback_leaks(COURSE, [fb], secrets)] == [5, 7]
