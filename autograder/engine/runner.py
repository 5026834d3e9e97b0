"""Grade one staged submission: run the hidden graders under pytest in this (trusted)
process, with the grading plugin and our own ini, and score the outcomes.

`run_job` is what each per-student process executes. pytest is pointed at the
assignment's graders folder with `-c grading.ini`, `--rootdir`/`--confcutdir` at the
graders' parent and PYTEST_ADDOPTS/PYTHONPATH/PYTEST_PLUGINS removed, so nothing from
the student's folder (conftest.py, pytest.ini, pyproject.toml, plugins) can load.
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings
from pathlib import Path

from autograder.engine import scan, scoring
from autograder.engine.parse_sandbox import ParseFailed
from autograder.engine.session import GradingSession, Job, internal_log

ENGINE_DIR = Path(__file__).resolve().parent
ROOT = ENGINE_DIR.parent.parent
INI = ENGINE_DIR / "grading.ini"
SCRUB_ENV = ("PYTEST_ADDOPTS", "PYTHONPATH", "PYTEST_PLUGINS", "PYTHONSTARTUP", "PYTHONHOME",
             "PYTHONUSERBASE", "PYTHONSAFEPATH", "PYTEST_CURRENT_TEST")


def pytest_args(job: Job) -> list[str]:
    graders = Path(job.graders_dir)
    base = graders.parent.parent
    return [str(graders), "-c", str(INI), "--rootdir", str(base), "--confcutdir", str(graders.parent),
            "-p", "autograder.engine.plugin", "-p", "no:cacheprovider", "-p", "no:randomly",
            "--strict-markers", "-q", "--no-header", "-rN", "--tb=short", "-W", "ignore::DeprecationWarning"]


def run_job(job: Job) -> dict:
    """Grade `job` here and return {"tasks": [TaskResult dicts], "log": instructor text}."""
    import pytest

    for name in SCRUB_ENV:
        os.environ.pop(name, None)
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    refused = _refused(job)
    if refused is not None:   # no code of this submission runs at all
        tasks = [scoring.TaskResult(t.id, t.title, t.points, 0.0, "banned", refused).to_dict() for t in job.tasks]
        return {"tasks": tasks, "log": f"refused before grading: {refused}", "files": {}, "sandbox_cpu_s": 0.0}
    session = GradingSession(job)
    nb_tasks = set(job.notebooks.tasks) if job.notebooks is not None else set()
    out = io.StringIO()
    code = "not run (notebook tasks only)"
    timer = _Timer()
    if len(nb_tasks) < len(job.tasks):
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = int(pytest.main(pytest_args(job), plugins=[session, timer]))
    results = {t.id: scoring.score_task(t, list(session.records.values()), session.outputs(t.id))
               for t in job.tasks if t.id not in nb_tasks}
    log = [f"pytest exit code {code}", *session.collect_errors, internal_log(session.records),
           "---- pytest output ----", out.getvalue()[-20000:]]
    files: dict[str, bytes] = {}
    if nb_tasks:
        nb_results, nb_log, feedback = _notebooks(job, session)
        results.update(nb_results)
        log += ["---- notebooks ----", nb_log[-20000:]]
        files = {f"feedback/{name}": data for name, data in feedback.items()}
    session.sandbox.close()
    return {"tasks": [results[t.id].to_dict() for t in job.tasks],
            "log": "\n".join(s for s in log if s), "files": files, "sandbox_cpu_s": session.sandbox.cpu_s,
            "task_seconds": timer.per_task(session.records),
            "leaderboard": getattr(session, "leaderboard", {})}   # leaderboard.record (capstone)


class _Timer:
    """Seconds each test took here (setup, call, teardown), summed per task: the term
    report's runtime per task. Measured in this trusted process, never by student code."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def pytest_runtest_logreport(self, report) -> None:
        self.seconds[report.nodeid] = self.seconds.get(report.nodeid, 0.0) + float(report.duration)

    def per_task(self, records) -> dict[str, float]:
        out: dict[str, float] = {}
        for nodeid, s in self.seconds.items():
            task = getattr(records.get(nodeid), "task", None)
            if task is not None:
                out[task] = out.get(task, 0.0) + s
        return out


def _refused(job: Job) -> str | None:
    """Why the staged files cannot be graded at all (scan.py), or None."""
    staged = Path(job.submission)
    hidden = scan.sourceless(staged)
    if hidden:
        return (f"{_quote(hidden[0])} is a module without source ({len(hidden)} such file(s)); "
                "only .py source is graded: remove compiled files and submit again")
    if job.numpy_only:
        try:
            found = scan.autograd_imports(staged, job.given_files, job.isolated)
        except ParseFailed as e:
            return f"{e}: refused (a file that cannot be scanned is not graded as importing nothing)"
        if found:
            rel, lib = next(iter(found.items()))
            return (f"{_quote(rel)} imports {lib}: this assignment is NumPy only (hand-written backprop), "
                    "so autograd libraries are not allowed")
    return None


def _quote(rel: str) -> str:
    return repr(rel[:80])


def _notebooks(job: Job, session: GradingSession):
    """The notebook tasks: the kernel in the sandbox, the hidden notebook graders here."""
    import tempfile

    from autograder.engine.notebooks import run as notebooks

    out = io.StringIO()
    with tempfile.TemporaryDirectory(prefix="vitlab-nb-") as tmp, warnings.catch_warnings(), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        warnings.simplefilter("ignore")   # nbgrader's sqlalchemy warnings are noise here
        results, log, feedback = notebooks.grade(job.notebooks, job, session.sandbox, Path(tmp))
    return results, log + "\n" + out.getvalue()[-5000:], feedback
