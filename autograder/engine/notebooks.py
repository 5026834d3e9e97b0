"""Notebook tasks: nbgrader's own `autograde` and `generate_feedback`, with the kernel
(the only place student code runs) started inside the sandbox.

A task whose `files` list a notebook is graded here. Its nbgrader grade cells are the
ones whose `grade_id` starts with the task marker (`task4_2_...`); the task scores
points x (nbgrader score of those cells / their max score).

Per student, a private copy of an nbgrader course (source notebooks and gradebook.db,
made once per run by `generate_assignment`) receives `submitted/<student>/<assignment>/`,
so students grade in parallel without sharing a database. The kernel spec's argv wraps
`kernel.py` (rlimits, no-fork seccomp, then ipykernel) in bubblewrap with only the
kernel's connection folder and the notebook's working copy writable; the kernel talks
ZeroMQ over `ipc` sockets in that folder, so it needs no network. Scores come from
nbgrader's gradebook.db, which stays outside the sandbox.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from autograder.engine.sandbox import ENV, GRADER_LIB, Sandbox, bwrap_args

KERNEL = "vitlab-sandbox"


@dataclass
class NotebookPlan:
    template: Path                                    # nbgrader course: source/ + gradebook.db
    folder: str                                       # assignment folder (nbgrader assignment id)
    notebooks: list[str]                              # relative paths of graded notebooks
    tasks: dict[str, list[str]] = field(default_factory=dict)   # task id -> notebooks
    markers: dict[str, str] = field(default_factory=dict)       # task id -> marker


def notebook_tasks(assignment) -> dict[str, list[str]]:
    return {t.id: [f for f in t.files if f.endswith(".ipynb")] for t in assignment.tasks
            if any(f.endswith(".ipynb") for f in t.files)}


def _config(root: Path, timeout_s: float | None = None, runtime: Path | None = None):
    from traitlets.config import Config
    c = Config()
    c.CourseDirectory.root = str(root)
    c.Application.log_level = "WARNING"
    c.Execute.kernel_name = KERNEL
    c.Execute.timeout = int(timeout_s or 60)
    c.Execute.startup_timeout = 120
    c.Execute.interrupt_on_timeout = True   # a hung cell fails, the rest still runs
    c.KernelManager.transport = "ipc"
    # feedback must not show hidden tests: their source, or what their failures print
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import ClearHiddenTests, GetGrades
    c.GenerateFeedback.preprocessors = [GetGrades, _hidden_test_preprocessor(), ClearHiddenTests,
                                        CSSHTMLHeaderPreprocessor]
    if runtime is not None:
        # one kernel at a time per student: a fixed connection file in the folder the
        # sandbox binds, and the ipc sockets beside it
        c.KernelManager.connection_file = str(runtime / "kernel.json")
        c.KernelManager.ip = str(runtime / "kernel-ipc")
    return c


def _hidden_test_preprocessor():
    from nbconvert.preprocessors import Preprocessor

    class HideHiddenTestOutputs(Preprocessor):
        """A test cell with hidden tests keeps only the name of the error it raised."""

        def __init__(self, **kw):
            super().__init__(**kw)
            self.enabled = True   # nbconvert skips preprocessors that are not enabled

        def preprocess_cell(self, cell, resources, index):
            if cell.cell_type == "code" and "### BEGIN HIDDEN TESTS" in cell.source:
                errors = [o.get("ename", "Error") for o in cell.get("outputs", []) if o.get("output_type") == "error"]
                text = (f"hidden tests failed ({errors[0]})" if errors else "hidden tests ran") + "\n"
                cell.outputs = [{"output_type": "stream", "name": "stdout", "text": text}]
            return cell, resources

    return HideHiddenTestOutputs


def __getattr__(name: str):
    if name == "HideHiddenTestOutputs":  # built lazily: nbconvert is slow to import
        return _hidden_test_preprocessor()
    raise AttributeError(name)


def _venv_on_path() -> None:
    bindir = str(Path(sys.executable).parent)  # nbgrader runs `alembic` from PATH
    if not os.environ.get("PATH", "").startswith(bindir):
        os.environ["PATH"] = f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"


CACHE = Path(__file__).resolve().parents[2] / "build" / "nbgrader-courses"


def prepare(assignment, work: Path, cache: Path | None = CACHE) -> NotebookPlan | None:
    """Once per run: an nbgrader course with the assignment's source notebooks and its
    gradebook.db. nbgrader takes seconds to make one, so it is cached by content."""
    import hashlib

    import nbgrader

    tasks = notebook_tasks(assignment)
    if not tasks:
        return None
    nbs = sorted({nb for files in tasks.values() for nb in files})
    h = hashlib.sha256(f"{assignment.folder}\0{nbgrader.__version__}\0".encode())
    for nb in nbs:
        src = assignment.source_dir / nb
        if not src.is_file():
            raise FileNotFoundError(f"{assignment.folder}: task notebook {nb} not found in {assignment.source_dir}")
        h.update(nb.encode() + b"\0" + src.read_bytes() + b"\0")
    plan = NotebookPlan(work / "nbgrader", assignment.folder, nbs, tasks,
                        {t.id: t.marker for t in assignment.tasks if t.id in tasks})
    cached = cache / h.hexdigest()[:16] if cache is not None else None
    if cached is not None and (cached / "gradebook.db").is_file():
        shutil.copytree(cached, plan.template)
        return plan
    _generate(assignment, nbs, plan.template)
    if cached is not None:
        tmp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
        shutil.copytree(plan.template, tmp)
        try:
            tmp.rename(cached)      # atomic: a half-written course is never used
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)   # another run cached it first
    return plan


def _generate(assignment, nbs: list[str], root: Path) -> None:
    from nbgrader.apps import NbGraderAPI

    for nb in nbs:
        dest = root / "source" / assignment.folder / nb
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(assignment.source_dir / nb, dest)
    _venv_on_path()
    result = NbGraderAPI(config=_config(root)).generate_assignment(assignment.folder, force=True)
    if not result.get("success"):
        raise RuntimeError(f"nbgrader generate_assignment {assignment.folder} failed:\n"
                           f"{result.get('error') or result.get('log')}")
    # release/<folder>/ stays: it is exactly what students were given


def kernel_argv(sandbox: Sandbox, workdir: Path, runtime: Path) -> list[str]:
    """The kernel spec's argv: kernel.py (confine, then ipykernel) inside bubblewrap."""
    limits = json.dumps(sandbox.limits.rlimits())
    tail = ["-I", "-u", "-X", "utf8"]
    if not sandbox.isolated:
        return [sandbox.python, *tail, str(sandbox.grader_lib / "autograder" / "engine" / "kernel.py"),
                limits, "-f", "{connection_file}"]
    env = {**ENV, "PYDEVD_DISABLE_FILE_VALIDATION": "1", "IPYTHONDIR": "/tmp/.ipython",
           "JUPYTER_RUNTIME_DIR": str(runtime)}
    binds = [("bind", str(runtime), str(runtime)), ("bind", str(workdir), str(workdir))]
    args = bwrap_args(sandbox.limits, sandbox.grader_lib, binds, env, chdir=str(workdir))
    return [*args, sandbox.python, *tail, f"{GRADER_LIB}/autograder/engine/kernel.py", limits,
            "-f", "{connection_file}"]


def _write_kernelspec(jupyter: Path, argv: list[str]) -> None:
    spec = jupyter / "kernels" / KERNEL
    spec.mkdir(parents=True, exist_ok=True)
    # interrupts go as messages: a signal would reach bwrap, not the kernel inside it
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Python 3 (sandboxed)",
                                                  "language": "python", "interrupt_mode": "message"},
                                                 indent=1))


def autograde(nbplan: NotebookPlan, student: str, submission: Path, sandbox: Sandbox, work: Path,
              timeout_s: float) -> tuple[dict[str, dict], str, dict[str, bytes]]:
    """Grade one student's notebooks. Returns ({task id: {status, fraction, message}},
    the instructor's log, {feedback file name: html bytes})."""
    from nbgrader.apps import NbGraderAPI

    root = work / "course"
    shutil.copytree(nbplan.template, root)
    sub = root / "submitted" / student / nbplan.folder
    shutil.copytree(submission, sub, dirs_exist_ok=True)
    problems = {nb: _check_structure(nbplan.template / "source" / nbplan.folder / nb, sub / nb)
                for nb in nbplan.notebooks}
    for nb, problem in problems.items():
        if problem and problem[0] != "tampered":
            (sub / nb).unlink(missing_ok=True)   # unreadable: grade the others without it
    workdir = root / "autograded" / student / nbplan.folder
    runtime = work / "runtime"
    runtime.mkdir(parents=True)
    workdir.mkdir(parents=True)
    _write_kernelspec(work / "jupyter", kernel_argv(sandbox, workdir, runtime))
    os.environ["JUPYTER_PATH"] = str(work / "jupyter")
    os.environ["JUPYTER_RUNTIME_DIR"] = str(runtime)
    _venv_on_path()
    api = NbGraderAPI(config=_config(root, timeout_s, runtime))
    present = [nb for nb in nbplan.notebooks if (sub / nb).is_file()]
    result = api.autograde(nbplan.folder, student, force=True) if present else {"success": False}
    log = f"nbgrader autograde: success={result.get('success')}\n{result.get('log', '')}\n{result.get('error', '')}"
    tasks = {task_id: _task_result(api, nbplan, student, task_id, nbs, problems, result, log, workdir)
             for task_id, nbs in nbplan.tasks.items()}
    feedback: dict[str, bytes] = {}
    if result.get("success"):
        fb = api.generate_feedback(nbplan.folder, student, force=True)
        log += f"\nnbgrader generate_feedback: success={fb.get('success')}\n{fb.get('error', '')}"
        for html in sorted((root / "feedback" / student / nbplan.folder).rglob("*.html")):
            feedback[html.name] = html.read_bytes()
    return tasks, log, feedback


def _graded_cells(nb) -> dict[str, str]:
    """grade_id -> cell type of every cell nbgrader grades, locks or expects a solution in."""
    out = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade_id") and (meta.get("grade") or meta.get("locked") or meta.get("solution")):
            out[meta["grade_id"]] = cell.cell_type
    return out


def _check_structure(source: Path, submitted: Path) -> tuple[str, str, set[str]] | None:
    """None if fine, else (status, message, affected grade ids)."""
    import nbformat

    if not submitted.is_file():
        return ("missing", f"{submitted.name} is not in the submission", set())
    try:
        nb = nbformat.read(submitted, as_version=4)
        nbformat.validate(nb)
    except Exception as e:  # nbformat raises many unrelated types for damaged JSON
        return ("error", f"{submitted.name} is not a readable notebook (corrupt or truncated): "
                         f"{type(e).__name__}", set())
    want = _graded_cells(nbformat.read(source, as_version=4))
    have = _graded_cells(nb)
    gone = {g for g in want if g not in have}
    retyped = {g for g in want if g in have and have[g] != want[g]}
    if gone or retyped:
        what = [f"cell {g} was deleted" for g in sorted(gone)] + [f"cell {g} changed type" for g in sorted(retyped)]
        return ("tampered", "; ".join(what), gone | retyped)
    return None


def _owned(grade_id: str, marker: str) -> bool:
    return grade_id == marker or grade_id.startswith(marker + "_")


def _task_result(api, nbplan, student, task_id, nbs, problems, result, log, workdir) -> dict:
    marker = nbplan.markers[task_id]
    for nb in nbs:
        p = problems.get(nb)
        if p and (p[0] != "tampered" or any(_owned(g, marker) for g in p[2])):
            return {"status": p[0], "fraction": 0.0, "message": p[1]}
    if not result.get("success"):
        return {"status": "timeout" if "timeout" in log.lower() else "error", "fraction": 0.0,
                "message": "the notebook could not be autograded (the kernel died or did not start); "
                           "run it top to bottom with a fresh kernel"}
    score = max_score = 0.0
    failing: list[str] = []
    with api.gradebook as gb:
        for nb in nbs:
            for grade in gb.find_submission_notebook(Path(nb).stem, nbplan.folder, student).grades:
                if _owned(grade.name, marker):
                    score, max_score = score + (grade.score or 0.0), max_score + grade.max_score
                    if (grade.score or 0.0) < grade.max_score:
                        failing.append(grade.name)
    if max_score == 0:
        return {"status": "error", "fraction": 0.0, "message": f"no autograded cells named {marker}_* (instructor)"}
    errors = _errors(workdir, nbs, marker)
    fraction = score / max_score
    status = "passed" if fraction >= 1 else "partial" if fraction > 0 else _zero_status(errors)
    message = ""
    if failing:
        message = f"failing test cells: {', '.join(failing)}"
        if errors:
            message += f"; first error: {errors[0][1]}"
    return {"status": status, "fraction": fraction, "message": message}


def _errors(workdir: Path, nbs: list[str], marker: str) -> list[tuple[str, str]]:
    """(ename, what the student may see) for each error output in this task's cells."""
    import nbformat

    out = []
    for nb in nbs:
        try:
            graded = nbformat.read(workdir / nb, as_version=4)
        except Exception:  # noqa: BLE001 - nothing to report from an unreadable notebook
            continue
        for cell in graded.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell.cell_type != "code" or not _owned(meta.get("grade_id", ""), marker):
                continue
            hidden = "### BEGIN HIDDEN TESTS" in cell.source
            for o in cell.get("outputs", []):
                if o.get("output_type") == "error":
                    ename = str(o.get("ename", "Error"))
                    shown = f"{ename} in hidden tests" if hidden else f"{ename}: {str(o.get('evalue', ''))[:200]}"
                    out.append((ename, shown))
    return out


def _zero_status(errors: list[tuple[str, str]]) -> str:
    names = {e for e, _ in errors}
    for ename, status in (("NotImplementedError", "not_implemented"), ("CellTimeoutError", "timeout"),
                          ("MemoryError", "memory")):
        if ename in names:
            return status
    return "failed"
