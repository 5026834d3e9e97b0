"""Hidden notebook graders: pytest in the trusted process, against the notebook's exports.

The graders of an assignment's notebook tasks live in
`autograder/graders/<assignment>/notebook/nbtest_*.py` (a folder of their own, so the
`.py` graders' conftest and collection never mix with them). A test is marked with its
task, and with the test cell it stands for (`@pytest.mark.cell("task2_10_test_...")`),
whose nbgrader points it shares with that cell's other tests. It receives:

    student.call("vit_num_params", **cfg)        # a name the task's test cells export
    student.getattr("ce_at_init")                # an exported variable, as a plain value
    student.call("@namespace", **fields)         # a plain-attribute object, stays in the kernel
    reference("models")                          # a reference module, here in the trusted process

Every value crossed the wire (JSON + .npy/safetensors), so the strict checks of
`autograder.engine.checks` apply exactly as for `.py` tasks.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from autograder.engine import scoring
from autograder.engine.checks import GradingFailure
from autograder.engine.notebooks.kernel_host import CallError, KernelError
from autograder.engine.inside.wire import Handle
from autograder.engine.student import Student

INI = Path(__file__).resolve().parents[1] / "grading.ini"


@dataclass
class Record:
    nodeid: str
    name: str
    task: str | None
    cell: str | None
    weight: float = 1.0
    outcome: str = "pending"
    status: str = "passed"
    message: str = ""
    hint: str | None = None
    internal: str = ""


class KernelChannel:
    """A notebook task's side of `student` (engine/student.py's Student): calls go to the
    kernel that ran the task's notebook, each under the task's deadline."""

    def __init__(self, session: "NotebookSession", task: str):
        self._session, self.task_id = session, task

    def check_handle(self, h: Handle) -> None:
        if h.origin != id(self._session.kernel(self.task_id, None)):
            raise CallError("LostObject", f"{h!r} came from another kernel", "error")

    def call(self, op: str, target, args: tuple, kwargs: dict):
        return self._session.call(self.task_id, op, target, args, kwargs)


class NotebookSession:
    def __init__(self, plan, job, runs: dict):
        self.plan, self.job, self.runs = plan, job, runs
        self.infos = {t.id: t for t in job.tasks if t.id in plan.tasks}
        self.by_marker = {plan.markers[t]: t for t in self.infos}
        self.records: dict[str, Record] = {}
        self.collect_errors: list[str] = []
        self.deadlines: dict[str, float] = {}
        self.exports, self.points = _cell_facts(plan)
        self._refs: dict[str, object] = {}

    # -- pytest hooks ----------------------------------------------------------------------
    def pytest_configure(self, config) -> None:
        for marker in self.job.all_markers:
            config.addinivalue_line("markers", f"{marker}: a course task")
        config.addinivalue_line("markers", "weight(w): relative weight of a test within its task")
        config.addinivalue_line("markers", "cell(grade_id): the notebook test cell this test stands for")
        sys.path.insert(0, self.job.solutions_dir)

    def task_of(self, item) -> str | None:
        found = [m.name for m in item.iter_markers() if m.name in self.by_marker]
        return self.by_marker[found[0]] if found else None

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session, config, items) -> None:
        per_cell: dict[str, int] = {}
        for item in items:
            cell = item.get_closest_marker("cell")
            gid = str(cell.args[0]) if cell and cell.args else None
            per_cell[gid] = per_cell.get(gid, 0) + 1
            w = item.get_closest_marker("weight")
            self.records[item.nodeid] = Record(item.nodeid, item.name, self.task_of(item), gid,
                                               float(w.args[0]) if w and w.args else 1.0)
        for rec in self.records.values():
            if rec.cell is not None:
                if rec.cell not in self.points:
                    rec.internal = f"cell marker names {rec.cell!r}, which is no graded cell of the notebook"
                else:
                    rec.weight = self.points[rec.cell] / per_cell[rec.cell]

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
            rec.outcome = "failed"
            exc = call.excinfo.value if call.excinfo is not None else None
            rec.status, rec.message, rec.hint = _describe(exc)
            rec.internal = rep.longreprtext[-6000:]

    # -- what the fixtures use -------------------------------------------------------------
    def call(self, task: str, op: str, target, args, kwargs):
        """target: a name a test cell exports, or {"handle", "attr", "type"} (a handle checked
        by KernelChannel.check_handle)."""
        if task not in self.infos:
            raise pytest.UsageError(f"task {task} is not a notebook task")
        by_name = isinstance(target, str)
        if by_name and target != "@namespace" and target not in self.exports.get(task, ()):
            raise pytest.UsageError(f"{target!r} is not exported by a test cell of task {task} "
                                    "(metadata.vitlab.exports)")
        kernel = self.kernel(task, target if by_name else None)
        if task not in self.deadlines:
            self.deadlines[task] = time.monotonic() + self.infos[task].timeout_s
        name = target if by_name else f"{target.get('type', 'object')}.{target['attr']}"
        return kernel.call(op, target, tuple(args), dict(kwargs), self.deadlines[task], f"calling {name}")

    def kernel(self, task: str, name):
        for nb in self.plan.tasks[task]:
            ex = self.runs.get(nb)
            if ex is None or ex.kernel is None:
                continue
            if ex.failure is not None:
                raise ex.failure
            return ex.kernel
        problem = next((self.runs[nb].problem for nb in self.plan.tasks[task] if nb in self.runs), None)
        raise KernelError(problem.status if problem else "missing", problem.message if problem else "no notebook")

    def reference(self, name: str):
        if name not in self._refs:
            self._refs[name] = importlib.import_module(name)
        return self._refs[name]


def _cell_facts(plan) -> tuple[dict[str, set[str]], dict[str, float]]:
    """{task: names its test cells export}, {grade_id: points} from the source notebooks."""
    import nbformat

    from autograder.engine.notebooks.cells import exports, is_test, nbmeta, owned

    names: dict[str, set[str]] = {t: set() for t in plan.tasks}
    points: dict[str, float] = {}
    for nb in plan.notebooks:
        for cell in nbformat.read(plan.source(nb), as_version=4).cells:
            m = nbmeta(cell)
            if m.get("grade") and m.get("grade_id"):
                points[m["grade_id"]] = float(m.get("points", 0))
            if is_test(cell):
                for t, marker in plan.markers.items():
                    if owned(m.get("grade_id", ""), marker):
                        names[t].update(exports(cell))
    return names, points


def _describe(exc) -> tuple[str, str, str | None]:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, CallError):
        where = f" in {exc.target}" if exc.target else ""
        if exc.kind == "not_implemented":
            return "not_implemented", f"not implemented yet{where}: {exc.message}".rstrip(": "), None
        if exc.kind == "missing":
            return "missing", f"{exc.ename}: {exc.message} (run every cell top to bottom)", None
        return exc.kind, f"{exc.ename}{where}: {exc.message}" if exc.message else exc.ename + where, None
    if isinstance(exc, KernelError):
        return exc.kind, exc.message, None
    if isinstance(exc, GradingFailure):
        return "failed", exc.message, exc.hint
    if isinstance(exc, AssertionError):
        return "failed", "a hidden check failed", None
    return "error", "internal grader error (reported to the instructor)", None


def _session(config) -> NotebookSession:
    for plugin in config.pluginmanager.get_plugins():
        if isinstance(plugin, NotebookSession):
            return plugin
    raise pytest.UsageError("notebook graders run through the grading engine: python -m autograder grade --help")


@pytest.fixture
def student(request) -> Student:
    session = _session(request.config)
    task = session.task_of(request.node)
    if task is None:
        raise pytest.UsageError(f"{request.node.nodeid}: a test using `student` needs a task marker")
    return Student(KernelChannel(session, task))


@pytest.fixture
def reference(request):
    return _session(request.config).reference


@pytest.fixture
def rng(request) -> np.random.Generator:
    return np.random.default_rng(int.from_bytes(hashlib.sha256(request.node.nodeid.encode()).digest()[:8], "little"))


# ----------------------------------------------------------------------------- running

def grader_files(job) -> list[Path]:
    return sorted((Path(job.graders_dir) / "notebook").glob("nbtest_*.py"))


def run_tests(plan, job, runs: dict):
    """({task id: TaskResult}, [Record], log) for the notebook tasks of `job`."""
    session = NotebookSession(plan, job, runs)
    files = grader_files(job)
    out = io.StringIO()
    code = "not run (no notebook graders)"
    if files:
        folder = files[0].parent
        args = [*map(str, files), "-c", str(INI), "-o", "python_files=nbtest_*.py", "--rootdir",
                str(folder.parent.parent), "--confcutdir", str(folder), "-p", "autograder.engine.notebooks.plugin",
                "-p", "no:cacheprovider", "-p", "no:randomly", "--strict-markers", "-q", "--no-header",
                "-rN", "--tb=short", "-W", "ignore::DeprecationWarning"]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = int(pytest.main(args, plugins=[session]))
    records = list(session.records.values())
    results = {t: _task_result(session, info, records) for t, info in session.infos.items()}
    log = [f"notebook pytest exit code {code}", *session.collect_errors,
           *(f"== {r.nodeid} [{r.status}]\n{r.internal}" for r in records if r.internal),
           "---- notebook pytest output ----", out.getvalue()[-20000:]]
    return results, records, "\n".join(s for s in log if s)


def _task_result(session: NotebookSession, info, records: list[Record]):
    plan, marker = session.plan, session.plan.markers[info.id]
    for nb in plan.tasks[info.id]:
        ex = session.runs[nb]
        p = ex.problem
        if p is not None and (ex.nb is None or any(owned_by(g, marker) for g in p.grade_ids)):
            return scoring.TaskResult(info.id, info.title, info.points, 0.0, p.status, p.message)
    printed = _printed(session, info.id)
    res = scoring.score_task(info, records, [(len(printed), printed)] if printed else [])
    slow = [name for nb in plan.tasks[info.id] for name, c in session.runs[nb].cells.items()
            if c["timed_out"] and owned_by(name, marker)]
    if slow and res.status != "passed":
        res.status = "timeout"
        res.message = f"cell {slow[0]} ran past its {info.timeout_s:g} s time limit; " + res.message
    return res


def owned_by(grade_id: str, marker: str) -> bool:
    return grade_id == marker or grade_id.startswith(marker + "_")


def _printed(session: NotebookSession, task: str) -> str:
    """What the task's own cells printed (and the errors they raised), for the student."""
    marker, parts = session.plan.markers[task], []
    for nb in session.plan.tasks[task]:
        for name, cell in session.runs[nb].cells.items():
            if not owned_by(name, marker):
                continue
            for o in cell["outputs"]:
                if o["output_type"] == "stream":
                    parts.append(o["text"])
            if cell["error"]:
                parts.append(f"[{name}] {cell['error']['ename']}: {cell['error']['evalue']}\n")
    return "".join(parts)
