"""Grade a folder of submissions in parallel and write the gradebook.

Each student is graded in a fresh trusted process (forkserver with numpy/pytest, and torch
when the assignment needs it, already imported; one student per process). A student's
files are written atomically as soon as that student is done; a submission whose content
and graders are unchanged is skipped unless `force`. The gradebook is rebuilt at the end
from every student's results.json, so an interrupted run resumed later gives the same
gradebook.
"""
from __future__ import annotations

import multiprocessing as mp
import multiprocessing.util as mp_util
import os
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field, replace
from multiprocessing.connection import wait
from pathlib import Path

from autograder.engine import leaderboard, needs, outdir, report, safe_text
from vitlab.io import atomic_write
from autograder.engine.plan import Plan, make_plan
from autograder.engine.sandbox import UNPRIVILEGED, unsandboxed_problem
from autograder.engine.session import Job
from autograder.engine.stage_sandbox import Prestager
from autograder.engine.submissions import SubmissionError, Submission, content_hash, discover_all
from vitlab.course import load_course
try:   # the term's records beside results.json; a Gradescope zip carries no term package
    from autograder.term import record as term_record
except ImportError:  # pragma: no cover
    term_record = None

# imported once by the forkserver; every per-student process starts with them loaded
PRELOAD = ["numpy", "numpy.random", "pytest", "hypothesis", "autograder.engine.runner",
           "autograder.engine.plugin", "autograder.engine.checks", "pdb", "_pytest.faulthandler",
           "_pytest.helpconfig", "_pytest.junitxml", "_pytest.pastebin", "_pytest.skipping",
           "_pytest.unittest", "_pytest.warnings", "_pytest.threadexception",
           "_pytest.unraisableexception", "_pytest.tracemalloc", "_pytest.setuponly", "_pytest.setupplan"]
GRACE_S = 120.0     # on top of the sum of task timeouts, for pytest itself
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Outcome:
    student: str
    graded: bool                 # False: skipped (unchanged)
    results: dict | None = None
    seconds: float = 0.0


@dataclass
class RunSummary:
    plan: Plan
    out_dir: Path
    outcomes: list[Outcome] = field(default_factory=list)
    results: list[dict] = field(default_factory=list)
    wall_s: float = 0.0
    ignored: list[str] = field(default_factory=list)   # entries of SUBMISSIONS passed over, and why
    sandbox_cpu_s: float = 0.0     # as reported by the sandboxes (for benchmarks)

    @property
    def graded(self) -> int:
        return sum(o.graded for o in self.outcomes)


def _child(job: Job, conn) -> None:
    """Entry point of a per-student process."""
    import gc
    gc.freeze()   # the preloaded modules never need collecting: keeps gc.collect() cheap
    if "torch" in sys.modules:   # one thread per student process: the pool runs them in parallel
        sys.modules["torch"].set_num_threads(1)
    try:
        from autograder.engine.runner import run_job
        conn.send(("ok", run_job(job)))
    except BaseException:  # noqa: BLE001 - report anything, the parent records it
        conn.send(("crash", traceback.format_exc()[-8000:]))
    finally:
        conn.close()
    # The result is sent: skip interpreter teardown (torch's takes a while), but not
    # multiprocessing's finalizers. A lock made in this process (tqdm makes one for every bar,
    # even a disabled one) is a named semaphore in /dev/shm that they unlink; without them it
    # would stay until the whole run ends, one per student.
    mp_util._run_finalizers()
    os._exit(0)


def _context(plan: Plan):
    """The forkserver starts with PYTHONPATH & co. removed, so nothing a student's folder
    could be named in (a sitecustomize.py on PYTHONPATH, say) runs in the trusted process."""
    from multiprocessing import forkserver

    from autograder.engine.runner import SCRUB_ENV

    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD + plan.trusted_preload)
    saved = {k: os.environ.pop(k) for k in SCRUB_ENV if k in os.environ}
    try:
        forkserver.ensure_running()
    finally:
        os.environ.update(saved)
    return ctx


def _meta(plan: Plan, chash: str, complete: bool, sub: Submission | None = None,
          notes: list[str] = ()) -> dict:
    meta = {"content_hash": chash, "grader_hash": plan.grader_hash, "complete": complete,
            "sandbox": "bubblewrap" if plan.isolated else "rlimits-only",
            "sandbox_problem": plan.sandbox_problem}
    if sub is not None:   # which entry of SUBMISSIONS this id stands for, and what was left out of it
        meta.update(submission=safe_text.clean(sub.name), left_out=[safe_text.clean(n) for n in notes])
    return meta


def _failed_tasks(plan: Plan, message: str, status: str = "error") -> list[dict]:
    return [{"task": t.id, "title": t.title, "max_score": t.points, "score": 0.0, "status": status,
             "message": message, "hint": None, "passed": 0, "total": 0, "output": "", "output_bytes": 0,
             "tests": []} for t in plan.assignment.tasks]


def _finish(plan: Plan, out_dir: Path, student: str, chash: str, tasks: list[dict], log: str,
            complete: bool, files: dict[str, bytes] | None = None, sub: Submission | None = None,
            notes: list[str] = (), board: dict | None = None) -> dict:
    res = report.results_json(student, plan.assignment.folder, tasks, _meta(plan, chash, complete, sub, notes))
    if board:   # the capstone's measured accuracies and sizes (leaderboard.py validates them)
        res["leaderboard"] = leaderboard.entries(board, leaderboard.checkpoints(plan.course, plan.assignment))
    fb = report.feedback_md(student, plan.assignment.folder, tasks, plan.isolated, notes)
    if notes:
        log = "left out of the submission:\n" + "".join(f"  {n}\n" for n in notes) + "\n" + log
    report.write_student(out_dir, student, res, fb, log, files or {})
    return res


def _test_table(tasks: list[dict]) -> str:
    """Per-test outcomes for the instructor's log (results.json carries only counts)."""
    lines = []
    for t in tasks:
        for test in t.get("tests", []):
            lines.append(f"{t['task']:>6}  {test['status']:<16} w={test['weight']:g}  {test['name']}")
    return "\n".join(lines) + "\n\n" if lines else ""


def _up_to_date(out_dir: Path, student: str, chash: str, plan: Plan) -> dict | None:
    old = report.read_results(out_dir, student)
    meta = (old or {}).get("extra_data", {})
    if meta.get("content_hash") == chash and meta.get("grader_hash") == plan.grader_hash \
            and meta.get("complete"):
        return old
    return None


def cpu_share(n_workers: int, cores: int | None = None) -> int:
    """CPU threads each of `n_workers` students graded at once may use: an equal share of the cores."""
    return max(1, (cores or os.cpu_count() or 1) // max(1, n_workers))


def grade_all(assignment: str, submissions: Path, out_dir: Path, workers: int | None = None,
              force: bool = False, progress=None, plan: Plan | None = None,
              course_root: Path | None = None, graders_root: Path | None = None,
              harness_dir: Path | None = None, allow_unsandboxed: bool = False,
              only: set[str] | None = None, check_data: bool = True) -> RunSummary:
    """Grade every submission under `submissions` into `out_dir`. Without bubblewrap this
    raises SandboxUnavailable before any student code runs, unless `allow_unsandboxed`.
    `only`: grade just these ids (a regrade); the gradebook still lists every student.
    Missing data the graders read raises GradingInputMissing before anything is written
    (`check_data=False`: submissions known to need none, such as grade-check's)."""
    t0 = time.monotonic()
    out_dir = Path(out_dir)
    if check_data:
        course = plan.course if plan is not None else load_course(course_root or ROOT)
        needs.check(course, course.assignment(assignment))
    work = Path(tempfile.mkdtemp(prefix="vitlab-grade-"))
    try:
        with outdir.hold(out_dir):   # one run per folder; a killed run's debris is swept
            plan = plan or make_plan(assignment, work / "plan", course_root, graders_root, harness_dir)
            _no_sandbox_no_student_code(plan, allow_unsandboxed, [Path(submissions), out_dir], work)
            task_files = tuple(sorted({f for t in plan.assignment.tasks for f in t.files}))
            found = discover_all(Path(submissions), plan.assignment.folder, plan.assignment.id, task_files)
            subs = found.submissions
            summary = RunSummary(plan, out_dir, ignored=found.ignored)
            n_workers = workers or os.cpu_count() or 1
            plan.limits = replace(plan.limits, cpu_share=cpu_share(n_workers))
            todo = subs if only is None else [s for s in subs if s.student in only]
            _run(plan, todo, work / "stage", out_dir, n_workers, force, summary, progress)
            students = [s.student for s in subs]
            summary.results = [r for s in students if (r := report.read_results(out_dir, s)) is not None]
            report.write_gradebook(out_dir / "gradebook.csv", report.gradebook_rows(summary.results))
            report.write_students(out_dir / "students.csv", subs, found.ignored)
            leaderboard.write(out_dir, summary.results, plan.course, plan.assignment)   # capstone only
            if not plan.isolated:
                atomic_write(out_dir / "WARNING-NOT-SANDBOXED.txt",
                             f"Student code ran WITHOUT the bubblewrap sandbox: {plan.sandbox_problem}\n")
            summary.wall_s = time.monotonic() - t0
            return summary
    finally:
        shutil.rmtree(work, ignore_errors=True)


class SandboxUnavailable(RuntimeError):
    """bubblewrap cannot run here, and running student code without it was not allowed."""


def _no_sandbox_no_student_code(plan: Plan, allowed: bool, private: list[Path], work: Path) -> None:
    """Trust boundary: without bubblewrap, student code runs only if the instructor asked for
    it by name, and then only as nobody, which must not be able to read anything secret."""
    if plan.isolated:
        return
    if not allowed:
        raise SandboxUnavailable(
            f"bubblewrap cannot run here ({plan.sandbox_problem}), so no student code was run. Install "
            "bubblewrap (apt-get install bubblewrap), or pass --unsafe-no-sandbox (make grade "
            "UNSAFE_NO_SANDBOX=1) to run student code as the user nobody with resource limits only")
    secret = [plan.graders_dir, plan.assignment.source_dir, *private]
    problem = unsandboxed_problem(secret)
    if problem is not None:
        raise SandboxUnavailable(f"--unsafe-no-sandbox: {problem}")
    plan.run_as = UNPRIVILEGED
    for folder in (work, work / "plan", work / "stage"):   # nobody may pass through, not list
        folder.mkdir(exist_ok=True)
        os.chmod(folder, 0o711)


def _run(plan: Plan, subs: list[Submission], stage_root: Path, out_dir: Path, n_workers: int,
         force: bool, summary: RunSummary, progress) -> None:
    prestager = Prestager(stage_root, stage_root.parent, plan.isolated, n_workers + 1)
    try:
        _loop(plan, subs, prestager, out_dir, n_workers, force, summary, progress)
    finally:
        prestager.close()


def _loop(plan: Plan, subs: list[Submission], prestager: Prestager, out_dir: Path, n_workers: int,
          force: bool, summary: RunSummary, progress) -> None:
    ctx = None
    running: dict = {}      # conn -> (process, student, chash, started)
    queue = list(subs)
    budget = sum(t.timeout_s for t in plan.assignment.tasks) + GRACE_S

    def done(outcome: Outcome) -> None:
        summary.outcomes.append(outcome)
        if progress is not None:
            progress(outcome)

    while queue or running:
        while queue and len(running) < n_workers:
            staging = prestager.ready(queue)
            if staging is None:      # still unpacking: grade what runs meanwhile
                break
            sub, future = staging
            try:
                staged, notes = future.result()
                chash = content_hash(staged, notes)
                if term_record is not None:   # the late policy's submission time
                    term_record.submission(out_dir, sub.student, staged)
            except Exception as e:  # noqa: BLE001 - one submission never stops the class
                why = str(e) if isinstance(e, SubmissionError) else \
                    f"{sub.name}: could not be staged ({type(e).__name__}: {e})"
                res = _finish(plan, out_dir, sub.student, "unreadable", _failed_tasks(plan, why, "missing"),
                              why, complete=True, sub=sub)
                done(Outcome(sub.student, True, res))
                continue
            old = None if force else _up_to_date(out_dir, sub.student, chash, plan)
            if old is not None:
                done(Outcome(sub.student, False, old))
                continue
            ctx = ctx or _context(plan)
            parent, child = ctx.Pipe(duplex=False)
            p = ctx.Process(target=_child, args=(plan.job(sub.student, staged), child), daemon=True)
            p.start()
            child.close()
            running[parent] = (p, sub.student, chash, time.monotonic(), sub, notes)
        if not running:
            time.sleep(0.05)
            continue
        ready = wait(list(running), timeout=0.2 if queue else 1.0)
        now = time.monotonic()
        for conn in list(running):
            p, student, chash, started, sub, notes = running[conn]
            msg = None
            if conn in ready:
                try:
                    msg = conn.recv()
                except (EOFError, OSError):
                    msg = ("crash", f"grading process ended without a result (exit code {p.exitcode})")
            elif now - started > budget:
                p.kill()
                msg = ("crash", f"grading took longer than {budget:.0f} s and was stopped")
            if msg is None:
                continue
            del running[conn]
            conn.close()
            p.join(5)
            if msg[0] == "ok":
                msg[1]["log"] = _test_table(msg[1]["tasks"]) + msg[1]["log"]
                summary.sandbox_cpu_s += float(msg[1].get("sandbox_cpu_s", 0.0))
                if term_record is not None:
                    term_record.runtime(out_dir, student, msg[1].get("task_seconds"))
                res = _finish(plan, out_dir, student, chash, msg[1]["tasks"], msg[1]["log"], complete=True,
                              files=msg[1].get("files"), sub=sub, notes=notes, board=msg[1].get("leaderboard"))
            else:
                print(f"grade: internal error while grading {student}:\n{safe_text.clean(msg[1])}", file=sys.stderr)
                res = _finish(plan, out_dir, student, chash,
                              _failed_tasks(plan, "internal grader error (reported to the instructor)"),
                              msg[1], complete=False, sub=sub, notes=notes)
            done(Outcome(student, True, res, now - started))
