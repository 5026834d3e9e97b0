"""One student's grading session inside the trusted process: a pytest plugin object.

The runner builds a `Job`, creates a `GradingSession` and passes it to `pytest.main` as a
plugin. The session owns the per-task sandboxes (`TaskWorker`), orders the tests task by
task so each sandbox is closed as soon as its task is done, and records every test's
outcome in memory, where nothing the student's process does can reach it.
"""
from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from autograder.engine.inside import doubles
from autograder.engine.checks import GradingFailure
from autograder.engine.scoring import check_text
from autograder.engine.sandbox import Limits, Sandbox
from autograder.engine.student import StudentError, TaskWorker

NAME = "vitlab_session"
# errors in code that does not load or names nothing: a check's hint (about its maths) would mislead
NO_HINT = frozenset({"SyntaxError", "IndentationError", "TabError", "ImportError", "ModuleNotFoundError",
                     "NameError", "UnboundLocalError"})


@dataclass
class TaskInfo:
    id: str
    title: str
    points: float
    timeout_s: float

    @property
    def marker(self) -> str:
        return "task" + self.id.replace(".", "_")


@dataclass
class Job:
    """Everything one student's grading needs; plain data so it can cross processes."""
    student: str
    assignment: str                     # folder name, e.g. a1_numpy_layers
    assignment_id: str                  # e.g. a1
    tasks: list[TaskInfo]
    all_markers: list[str]              # every task marker of the course (--strict-markers)
    graders_dir: str
    solutions_dir: str                  # reference modules, importable by the graders
    submission: str                     # the staged submission (read-only in the sandbox)
    given: dict[str, str]               # given module -> its released source (earlier assignments' code)
    owners: dict[str, dict[str, str]]   # module -> {qualname: task id}
    grader_lib: str
    harness_dir: str                    # the harness staged into every sandbox (test doubles included)
    isolated: bool
    run_as: tuple[int, int] | None      # without bubblewrap: the unprivileged uid/gid of student code
    limits: Limits = field(default_factory=Limits)
    preload: list[str] = field(default_factory=list)
    notebooks: object = None            # notebooks.NotebookPlan when some tasks are notebooks
    numpy_only: bool = False            # importing an autograd library is banned (a1, a2)
    given_files: dict[str, str] = field(default_factory=dict)   # exempt from that scan (plan.released_given)


@dataclass
class TestRecord:
    nodeid: str
    name: str
    task: str | None
    weight: float = 1.0
    outcome: str = "pending"            # passed | failed | skipped
    status: str = "passed"              # passed or one of the failure statuses
    message: str = ""                   # safe to show the student
    hint: str | None = None             # the failure's own hint, else the test's hint marker
    internal: str = ""                  # for the instructor's log only
    check: str = ""                     # "name: docstring" of the test (trusted grader text)
    credit: float = 0.0                 # share of a failed sweep's cases that passed (checks.sweep)
    property: bool = False              # marked property: counts only when a value check of its task earns


class GradingSession:
    def __init__(self, job: Job):
        self.job = job
        self.sandbox = Sandbox(Path(job.grader_lib), job.limits, isolated=job.isolated,
                               preload=tuple(job.preload), run_as=job.run_as)
        self.tasks = {t.id: t for t in job.tasks}
        self.by_marker = {t.marker: t.id for t in job.tasks}
        self.workers: dict[str, TaskWorker] = {}
        self.records: dict[str, TestRecord] = {}
        self.collect_errors: list[str] = []
        self._refs: dict[str, object] = {}
        self._doubles = doubles.table(job.harness_dir, job.assignment_id)
        self._doubled_for: str | None = None
        self._undo: list = []

    # -- pytest hooks ----------------------------------------------------------------------
    def pytest_configure(self, config) -> None:
        for marker in self.job.all_markers:
            config.addinivalue_line("markers", f"{marker}: a course task")
        config.addinivalue_line("markers", "weight(w): relative weight of a test within its task")
        config.addinivalue_line("markers", "hint(text): the common cause of this check's failure, shown with it")
        config.addinivalue_line("markers", "property: a property of working code, scored only when one of the "
                                "task's value checks earns credit (scoring.py)")
        sys.path.insert(0, self.job.solutions_dir)
        _hypothesis_profile()

    def task_of(self, item) -> str | None:
        found = [m.name for m in item.iter_markers() if m.name in self.by_marker]
        return self.by_marker[found[0]] if found else None

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session, config, items) -> None:
        order = {t.id: i for i, t in enumerate(self.job.tasks)}
        keyed = []
        for i, item in enumerate(items):
            task = self.task_of(item)
            w = item.get_closest_marker("weight")
            weight = float(w.args[0]) if w and w.args else 1.0
            self.records[item.nodeid] = TestRecord(item.nodeid, item.name, task, weight, **_described(item))
            if task is None:
                self.records[item.nodeid].internal = "test has no task marker of this assignment"
            keyed.append((order.get(task, len(order)), i, item))
        items[:] = [it for _, _, it in sorted(keyed, key=lambda k: (k[0], k[1]))]

    def pytest_collectreport(self, report) -> None:
        if report.failed:
            self.collect_errors.append(f"{report.nodeid}: {report.longreprtext}")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        rep = outcome.get_result()
        rec = self.records.get(item.nodeid)
        if rec is None:
            return
        if rep.when == "call" and rep.passed and rec.outcome == "pending":
            rec.outcome, rec.status = "passed", "passed"
        elif rep.skipped and rec.outcome == "pending":
            rec.outcome, rec.status = "skipped", "skipped"
        elif rep.failed and rec.outcome in ("pending", "passed"):
            self._failed(rec, call.excinfo, rep)

    def _failed(self, rec: TestRecord, excinfo, rep) -> None:
        rec.outcome = "failed"
        exc = _first(excinfo.value) if excinfo is not None else None
        if isinstance(exc, StudentError):
            rec.status = exc.kind
            rec.message = _bounded(_student_message(exc), 4000)
            if exc.kind in ("not_implemented", "timeout", "tampered", "memory") or exc.type in NO_HINT:
                rec.hint = None             # the status or the traceback says it all
        elif isinstance(exc, GradingFailure):
            rec.status, rec.message, rec.hint = "failed", _bounded(exc.message, 600), exc.hint or rec.hint
            rec.credit = exc.credit
        elif isinstance(exc, AssertionError):
            rec.status, rec.message = "failed", "a hidden check failed"
        else:
            rec.status, rec.hint = "error", None
            rec.message = "internal grader error (reported to the instructor)"
        rec.internal = rep.longreprtext[-6000:]

    def pytest_runtest_teardown(self, item, nextitem) -> None:
        task = self.task_of(item)
        if task is not None and (nextitem is None or self.task_of(nextitem) != task):
            self.close(task)

    def pytest_sessionfinish(self, session) -> None:
        doubles.uninstall(self._undo)   # the reference modules are the plain reference again
        self._undo, self._doubled_for = [], None
        for task in list(self.workers):
            self.close(task)
        self.sandbox.close()

    # -- what the fixtures use -------------------------------------------------------------
    def worker(self, task_id: str) -> TaskWorker:
        if task_id not in self.workers:
            t = self.tasks[task_id]
            init = {"owners": self.job.owners, "given_sources": self.job.given,
                    "assignment": self.job.assignment_id,
                    "doubles": self.double_pairs(task_id)}
            self.workers[task_id] = TaskWorker(self.sandbox, Path(self.job.submission), init,
                                               task_id, t.timeout_s)
        return self.workers[task_id]

    # -- test doubles on the trusted side ---------------------------------------------------
    def double_pairs(self, task_id: str) -> list[tuple[str, str]]:
        return doubles.pairs_for(self.job.owners, task_id, set(self.job.given), self._doubles)

    def pytest_runtest_setup(self, item) -> None:
        """Before the first test of each task, the reference modules get the same doubles
        as that task's sandbox, so expected values are T's reference over T's stand-ins."""
        task = self.task_of(item)
        if task is None or task == self._doubled_for:
            return
        doubles.uninstall(self._undo)
        pairs = self.double_pairs(task)
        modules = {mod: self.reference(mod) for mod in {m for m, _ in pairs}}
        undo = doubles.install(modules, pairs, self._doubles)
        root = str(Path(self.job.solutions_dir))
        refs = [m for m in list(sys.modules.values()) if str(getattr(m, "__file__", "") or "").startswith(root)]
        self._undo, self._doubled_for = undo + doubles.rebind(refs, undo), task

    def close(self, task_id: str) -> None:
        w = self.workers.get(task_id)
        if w is not None:
            w.close()

    def reference(self, name: str):
        import importlib
        if name not in self._refs:
            self._refs[name] = importlib.import_module(name)
        return self._refs[name]

    def outputs(self, task_id: str) -> list[tuple[int, str]]:
        w = self.workers.get(task_id)
        return w.outputs if w is not None else []


def _described(item) -> dict:
    """The test's own description and hint marker, as feedback shows them when it fails."""
    h = item.get_closest_marker("hint")
    params = getattr(getattr(item, "callspec", None), "params", None)
    return {"hint": str(h.args[0]) if h and h.args else None,
            "check": check_text(item.name, getattr(item, "obj", None), params),
            "property": item.get_closest_marker("property") is not None}


def _first(exc: BaseException) -> BaseException:
    """Hypothesis may group several failures; the first one speaks for the test."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _bounded(text: str, limit: int) -> str:
    """A check's message may quote student data (a file listing, a type name): it is a channel
    out of the sandbox like any other, so it is cut to a bounded excerpt (escaped when shown)."""
    text = str(text)
    return text if len(text) <= limit else text[:limit - 20] + " ... (message cut)"


def _student_message(e: StudentError) -> str:
    where = f" in {e.target}" if e.target and e.kind not in ("timeout", "tampered") else ""
    if e.kind == "not_implemented":
        return f"not implemented yet{where}: {e.message}".rstrip(": ")
    if e.kind in ("timeout", "tampered", "memory") or e.type in ("ProcessExited", "Killed"):
        return e.message
    msg = f"{e.type}{where}: {e.message}" if e.message else f"{e.type}{where}"
    return msg + (f"\n{e.traceback.rstrip()}" if e.traceback else "")


def seed_for(nodeid: str) -> int:
    return int.from_bytes(hashlib.sha256(nodeid.encode()).digest()[:8], "little")


def _hypothesis_profile() -> None:
    try:
        from hypothesis import HealthCheck, settings
    except ImportError:
        return
    settings.register_profile("vitlab-grading", derandomize=True, database=None, deadline=None,
                              print_blob=False, suppress_health_check=list(HealthCheck))
    settings.load_profile("vitlab-grading")


def internal_log(records: dict[str, TestRecord]) -> str:
    parts = []
    for r in records.values():
        if r.internal:
            parts.append(f"== {r.nodeid} [{r.status}]\n{r.internal}\n")
    return "\n".join(parts)

