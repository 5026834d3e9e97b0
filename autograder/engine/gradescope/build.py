"""Gradescope: build `autograder.zip`, and grade `/autograder/submission` inside it.

The zip is Gradescope's layout (https://gradescope-autograders.readthedocs.io/en/latest/specs/):
everything at its root, because Gradescope unpacks it into /autograder/source. It holds
`setup.sh` and `run_autograder` (scripts.py) and exactly what grading needs: the
engine, this assignment's hidden graders and harness, its reference solution (trusted side
only; symlinked given code such as `vitdata/` resolved to files), every assignment.toml (task
ids are course-wide), the course registry, `datasets/vitdata` and `requirements.txt`: what grading
this assignment imports, pinned from the kit's requirements.lock (requirements.py).

`run_autograder` calls `python -m autograder gradescope-run`, which grades the one submission
with the same engine as `make grade` and writes /autograder/results/results.json. Where the
output goes (same page): results.json is what students see; stdout is kept in
/autograder/results/stdout and "only shown to instructors, for debugging purposes" unless
`stdout_visibility` says otherwise, so the grader's log, the sandbox state and the timings
are printed there and results.json says `"stdout_visibility": "hidden"`. (Not a hidden test:
the same page says that when tests are hidden students cannot see their total score.)
"""
from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time
import traceback
import zipfile
from pathlib import Path

from autograder.engine.gradescope import requirements as gradescope_requirements
from autograder.engine.gradescope.scripts import BASE_IMAGE, run_autograder, setup_sh
from vitlab.course import load_course
from vitlab.io import atomic_path, atomic_write_json
from vitlab.release.open_given import refuse_open

ROOT = Path(__file__).resolve().parents[3]
SKIP = {"__pycache__", ".pytest_cache", ".hypothesis", ".ipynb_checkpoints", "data", "runs", "checkpoints"}
STAFF_LOG_CHARS = 200_000     # Gradescope keeps stdout for staff; bound it all the same
KIT_FILES = ("course.toml", "vitlab", "autograder/__init__.py", "autograder/__main__.py",
             "autograder/engine", "autograder/harness", "datasets/vitdata")


def _files(src: Path):
    """(path, relative name) of every file under `src`, symlinked folders and files followed
    (a solution's `vitdata -> ../../datasets/vitdata` must arrive as files)."""
    if src.is_file():
        yield src, ""
        return
    for folder, dirs, names in os.walk(src, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d not in SKIP)
        for name in sorted(names):
            p = Path(folder) / name
            if p.suffix != ".pyc" and p.is_file():
                yield p, p.relative_to(src).as_posix()


def _add_tree(z: zipfile.ZipFile, src: Path, arc: str) -> None:
    for p, rel in _files(src):
        info = zipfile.ZipInfo(f"{arc}/{rel}" if rel else arc, date_time=(2020, 1, 1, 0, 0, 0))
        info.external_attr = (stat.S_IFREG | 0o644) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, p.read_bytes())


def _add_script(z: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = (stat.S_IFREG | 0o755) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, text)


def build(assignment: str, out: Path | None = None, allow_open_given: bool = False) -> Path:
    """Write the assignment's autograder.zip (deterministic: same inputs, same bytes). Refused
    while given code in it is the reference of an assignment still open (vitlab.release.open_given)."""
    course = load_course()
    a = course.assignment(assignment)
    refuse_open(course, [a], allow_open_given, f"make gradescope ASSIGNMENT={a.id}")
    out = Path(out or ROOT / "build" / "gradescope" / a.folder / "autograder.zip")
    graders = ROOT / "autograder" / "graders" / a.folder
    reqs = gradescope_requirements.requirements(a)
    torch_cpu = gradescope_requirements.torch_lines(reqs) if gradescope_requirements.uses_cpu_torch(a) else []
    with atomic_path(out) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        _add_script(z, "setup.sh", setup_sh(a.id, torch_cpu))
        _add_script(z, gradescope_requirements.FILE, reqs)
        _add_script(z, "run_autograder", run_autograder(a.id))
        for rel in KIT_FILES:
            if (ROOT / rel).exists():
                _add_tree(z, ROOT / rel, rel)
        if graders.is_dir():
            _add_tree(z, graders, f"autograder/graders/{a.folder}")
        for other in course.assignments:
            _add_tree(z, other.source_dir / "assignment.toml", f"solutions/{other.folder}/assignment.toml")
        for p, rel in _files(a.source_dir):
            if rel != "assignment.toml":
                _add_tree(z, p, f"solutions/{a.folder}/{rel}")
    return out


def settings(course, a) -> dict:
    """What to pick on Gradescope's Configure Autograder page for assignment `a`.

    timeout: the engine's own bound for one submission (every task's timeout_s, plus 120 s for
    pytest) and a minute to start. memory: the address-space limit each task's code may use
    (4 GiB, or assignment.toml memory_limit_gb) plus the grading process beside it (1 GB, 2 GB
    with torch): with less, code that allocates up to its limit gets the container killed
    instead of the `memory` status. cpus: the capstone's eval_threads (its evaluation budget
    assumes them; Gradescope has no GPU), else one."""
    from autograder.engine.grade import GRACE_S
    from autograder.engine.leaderboard import checkpoints

    bound = sum(t.timeout_s for t in a.tasks) + GRACE_S + 60
    torch = bool(a.extra.get("gpu")) or any("import torch" in p.read_text(encoding="utf-8", errors="replace")
                                            for p in a.source_dir.glob("*.py"))
    memory = float(a.extra.get("memory_limit_gb", 4)) + (2 if torch else 1)
    return {"image": BASE_IMAGE, "timeout_min": -(-int(bound) // 60), "memory_gb": int(-(-memory // 1)),
            "cpus": int(course.settings["capstone"].get("eval_threads", 2)) if checkpoints(course, a) else 1}


def build_command(args) -> int:
    path = build(args.assignment, args.out, args.allow_open_given)
    course = load_course()
    s = settings(course, course.assignment(args.assignment))
    print(f"gradescope: wrote {path} ({path.stat().st_size >> 10} KiB): upload it as the autograder with "
          f"base image {s['image']}, timeout {s['timeout_min']} min, at least {s['memory_gb']} GB of memory "
          f"and {s['cpus']} CPU(s) (docs/instructors/gradescope.md)")
    return 0


# ----------------------------------------------------------------------------- inside Gradescope
def student_view(res: dict) -> dict:
    """results.json as Gradescope gets it: the scores, the per-task feedback and the leaderboard.
    Staff-only state (sandbox problem, hashes) stays out; stdout is hidden from students."""
    meta = res.get("extra_data", {})
    out = {k: res[k] for k in ("score", "output", "output_format", "test_output_format", "tests") if k in res}
    out["stdout_visibility"] = "hidden"
    out["extra_data"] = {"assignment": meta.get("assignment"), "max_score": meta.get("max_score")}
    if res.get("leaderboard"):
        out["leaderboard"] = res["leaderboard"]
    return out


def failure_view(assignment: str) -> dict:
    """What the student sees when grading itself failed: no score, and staff told (stdout)."""
    return {"score": 0.0, "output": f"{assignment}: the autograder failed before grading your submission; "
            "the course staff can see why. Nothing was graded.", "output_format": "text",
            "stdout_visibility": "hidden", "tests": [], "extra_data": {"assignment": assignment}}


def _cpu_quota() -> int:
    """CPUs this container may use: the cgroup quota where there is one (Gradescope's
    containers report the host's cores), else the CPUs this process may run on."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, int(int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def _staff_report(summary, out_dir: Path, wall: float) -> str:
    """For /autograder/results/stdout (staff only): sandbox state, timings, the grader's log."""
    plan = summary.plan
    lines = [f"gradescope-run: {plan.assignment.folder}",
             f"sandbox: {'bubblewrap' if plan.isolated else 'NONE (rlimits only, as nobody): ' + str(plan.sandbox_problem)}",
             f"cpu quota {_cpu_quota()} of {os.cpu_count()} cores; wall {wall:.1f} s; "
             f"sandbox cpu {summary.sandbox_cpu_s:.1f} s"]
    for res in summary.results:
        for t in res.get("extra_data", {}).get("tasks", []):
            lines.append(f"  {t['task']:>6} {t['status']:<16} {t['score']:g}/{t['max_score']:g}")
    log = out_dir / "submission" / "grader.log"
    text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else "(no grader.log)"
    lines += ["---- grader.log ----", text[-STAFF_LOG_CHARS:]]
    return "\n".join(lines)


def run_command(args) -> int:
    """Grade one Gradescope submission folder and write results.json (always: on an internal
    failure, a zero with a message, and the traceback for staff on stdout)."""
    results = Path(args.results)
    results.parent.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:   # without a sandbox student code runs as nobody: it must not write here
        os.chmod(results.parent, results.parent.stat().st_mode & ~0o022)
    t0 = time.monotonic()
    try:
        res, staff = _grade(args)
    except Exception:  # noqa: BLE001 - the student gets a clear result, staff the traceback
        print(f"gradescope-run: grading failed:\n{traceback.format_exc()[-STAFF_LOG_CHARS:]}")
        atomic_write_json(results, failure_view(args.assignment))
        return 0   # results.json says what happened; a failed script would show students nothing
    atomic_write_json(results, student_view(res))
    print(staff)
    print(f"gradescope-run: {res['score']:g} points; results in {results} ({time.monotonic() - t0:.1f} s)")
    return 0


def _grade(args) -> tuple[dict, str]:
    from autograder.engine.grade import grade_all

    with tempfile.TemporaryDirectory(prefix="vitlab-gradescope-") as tmp:
        os.chmod(tmp, 0o700)   # submissions and results: root's only (nobody must not read them)
        subs = Path(tmp) / "submissions"
        subs.mkdir()
        src = Path(args.submission)
        if src.is_dir():
            shutil.copytree(src, subs / "submission", symlinks=True)
        else:
            (subs / "submission").mkdir()
        quota = _cpu_quota()
        # one student: workers chosen so that its CPU share is this container's quota
        workers = max(1, (os.cpu_count() or 1) // quota)
        t0 = time.monotonic()
        summary = grade_all(args.assignment, subs, Path(tmp) / "out", workers=workers, force=True,
                            allow_unsandboxed=args.unsafe_no_sandbox)
        staff = _staff_report(summary, Path(tmp) / "out", time.monotonic() - t0)
        if not summary.results:
            raise RuntimeError("the submission was not graded (see the log above)")
        return summary.results[0], staff

