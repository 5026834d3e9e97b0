"""Notebook tasks, scored on the trusted side.

A task whose `files` list a notebook is graded here. Its cells are the ones whose
`grade_id` starts with the task marker (`task2_10_...`). Per student:

1. The submitted notebook is read and checked on the trusted side: nbformat, nbgrader's
   own metadata validator, and nbgrader's checksums of the released locked cells (a
   deleted, retyped or edited test cell makes its task `tampered`).
2. The kernel (kernel.py, in the sandbox, see nbexec.py) runs the student's cells only,
   with locked cells restored from the release; autograded test cells never run there, so
   no hidden test source enters it.
3. The hidden notebook graders (`autograder/graders/<assignment>/nbtest_*.py`) run here
   under pytest with the `student` fixture (nbplugin.py): they call the names the task's
   test cells export (`metadata.vitlab.exports`) and check the values with
   `autograder.engine.checks`. Scores come only from those checks.
4. nbfeedback.py rebuilds the executed notebook from the bounded, validated outputs and
   has nbgrader write the feedback HTML.

`prepare` makes, once per run, an nbgrader course holding only the notebooks (source,
release and gradebook.db, from `generate_assignment`), cached by content.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

MAX_NOTEBOOK = 32 << 20            # bytes: a bigger submitted notebook is not read
MAX_CELLS = 1000                   # a release notebook has a few dozen; each one costs a kernel round trip
OUTPUT_BUDGET = 16 << 20           # bytes of outputs kept for one notebook (each cell's are bounded in nbexec)


@dataclass
class NotebookPlan:
    template: Path                                    # nbgrader course: source/, release/, gradebook.db
    folder: str                                       # assignment folder (nbgrader assignment id)
    notebooks: list[str]                              # relative paths of graded notebooks
    tasks: dict[str, list[str]] = field(default_factory=dict)   # task id -> notebooks
    markers: dict[str, str] = field(default_factory=dict)       # task id -> marker
    course: Path | None = None                        # the kit's nbgrader course for formgrader (nbcourse.py)

    def release(self, nb: str) -> Path:
        return self.template / "release" / self.folder / nb

    def source(self, nb: str) -> Path:
        return self.template / "source" / self.folder / nb


def notebook_tasks(assignment) -> dict[str, list[str]]:
    return {t.id: [f for f in t.files if f.endswith(".ipynb")] for t in assignment.tasks
            if any(f.endswith(".ipynb") for f in t.files)}


def owned(grade_id: str, marker: str) -> bool:
    return grade_id == marker or grade_id.startswith(marker + "_")


def nbmeta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def gid_of(cell) -> str:
    """The cell's grade_id, "" if it has none or a student wrote something else than a string."""
    gid = nbmeta(cell).get("grade_id")
    return gid if isinstance(gid, str) else ""


def is_test(cell) -> bool:
    """An autograded test cell: graded, not a solution. It never runs in the kernel."""
    m = nbmeta(cell)
    return cell.get("cell_type") == "code" and bool(m.get("grade")) and not m.get("solution")


def exports(cell) -> list[str]:
    names = cell.get("metadata", {}).get("vitlab", {}).get("exports", [])
    return [n for n in names if isinstance(n, str) and n.isidentifier()] if isinstance(names, list) else []


def venv_on_path() -> None:
    bindir = str(Path(sys.executable).parent)  # nbgrader runs `alembic` from PATH
    if not os.environ.get("PATH", "").startswith(bindir):
        os.environ["PATH"] = f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"


def config(root: Path):
    from traitlets.config import Config
    c = Config()
    c.CourseDirectory.root = str(root)
    c.Application.log_level = "WARNING"
    c.HTMLExporter.sanitize_html = True     # a student's markdown is text, never script
    c.HTMLExporter.exclude_raw = True       # nbconvert writes a raw cell into the page verbatim
    return c


CACHE = Path(__file__).resolve().parents[2] / "build" / "nbgrader-courses"


def prepare(assignment, work: Path, cache: Path | None = CACHE) -> NotebookPlan | None:
    """Once per run: an nbgrader course with the assignment's notebooks only (None, and
    nbgrader not imported, without a notebook task: a1's Gradescope image has no nbgrader)."""
    tasks = notebook_tasks(assignment)
    if not tasks:
        return None
    import nbgrader

    nbs = sorted({nb for files in tasks.values() for nb in files})
    h = hashlib.sha256(f"{assignment.folder}\0{nbgrader.__version__}\0v2\0".encode())
    for nb in nbs:
        src = assignment.source_dir / nb
        if not src.is_file():
            raise FileNotFoundError(f"{assignment.folder}: task notebook {nb} not found in {assignment.source_dir}")
        h.update(nb.encode() + b"\0" + src.read_bytes() + b"\0")
    from autograder.engine.nbcourse import course_root

    plan = NotebookPlan(work / "nbgrader", assignment.folder, nbs, tasks,
                        {t.id: t.marker for t in assignment.tasks if t.id in tasks},
                        course_root(Path(assignment.source_dir).parents[1]))
    cached = cache / h.hexdigest()[:16] if cache is not None else None
    if cached is not None and (cached / "gradebook.db").is_file():
        shutil.copytree(cached, plan.template)
        return plan
    generate(assignment.folder, {nb: assignment.source_dir / nb for nb in nbs}, plan.template)
    if cached is not None:
        tmp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
        shutil.copytree(plan.template, tmp)
        try:
            tmp.rename(cached)      # atomic: a half-written course is never used
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)   # another run cached it first
    return plan


def generate(folder: str, nbs: dict[str, Path], root: Path) -> None:
    """nbgrader's generate_assignment on a course that holds only these notebooks."""
    from nbgrader.apps import NbGraderAPI

    for rel, src in nbs.items():
        dest = root / "source" / folder / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
    venv_on_path()
    result = NbGraderAPI(config=config(root)).generate_assignment(folder, force=True)
    if not result.get("success"):
        raise RuntimeError(f"nbgrader generate_assignment {folder} failed:\n"
                           f"{result.get('error') or result.get('log')}")


# ----------------------------------------------------------------------------- checking

@dataclass
class Problem:
    status: str                      # error | missing | tampered
    message: str
    grade_ids: set[str] = field(default_factory=set)   # tampered cells (empty: the whole notebook)


def read_submitted(path: Path):
    """(notebook, None) or (None, Problem): nbformat's reader and validator, on the trusted side."""
    import nbformat

    if not path.is_file() or path.is_symlink():
        return None, Problem("missing", f"{path.name} is not in the submission")
    if path.stat().st_size > MAX_NOTEBOOK:
        return None, Problem("error", f"{path.name} is larger than {MAX_NOTEBOOK >> 20} MB; clear its outputs")
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as e:  # nbformat raises many unrelated types for damaged JSON
        why = next((ln.strip() for ln in str(e).splitlines() if ln.strip()), "")[:200]
        return None, Problem("error", f"{path.name} is not a readable notebook (corrupt or truncated): "
                                      f"{type(e).__name__}" + (f": {why}" if why else ""))
    if len(nb.cells) > MAX_CELLS:
        return None, Problem("error", f"{path.name} has {len(nb.cells)} cells, more than the {MAX_CELLS} "
                                      "graded; delete the cells you added")
    return nb, None


def _checksum(cell) -> str | None:
    from nbgrader.utils import compute_checksum
    try:
        return compute_checksum(cell)
    except Exception:  # noqa: BLE001 - missing or malformed nbgrader metadata
        return None


def check_cells(released, nb, source=None) -> Problem | None:
    """Every released nbgrader cell must still be there, with its type; locked ones unchanged
    (as released, or as in the instructor's source: the reference submission is the source)."""
    original = {nbmeta(c)["grade_id"]: _checksum(c) for c in (source.cells if source is not None else [])
                if nbmeta(c).get("grade_id")}
    have: dict[str, list] = {}
    for cell in nb.cells:
        if gid_of(cell):
            have.setdefault(gid_of(cell), []).append(cell)
    what, ids = [], set()
    for cell in released.cells:
        m = nbmeta(cell)
        gid = m.get("grade_id")
        if not gid or not (m.get("grade") or m.get("locked") or m.get("solution")):
            continue
        mine = have.get(gid, [])
        if not mine:
            what.append(f"cell {gid} was deleted")
        elif len(mine) > 1:
            what.append(f"cell {gid} appears {len(mine)} times")
        elif mine[0].cell_type != cell.cell_type:
            what.append(f"cell {gid} changed type")
        elif m.get("locked") and _checksum(mine[0]) not in (_checksum(cell), original.get(gid)):
            what.append(f"locked cell {gid} was edited")
        else:
            continue
        ids.add(gid)
    return Problem("tampered", "; ".join(what), ids) if what else None


def check_metadata(path: Path, nb) -> Problem | None:
    """nbgrader's own validator: a notebook it rejects is reported with nbgrader's reason."""
    from nbgrader.nbgraderformat import MetadataValidator
    try:
        MetadataValidator().validate_nb(nb)
    except Exception as e:  # nbgrader's ValidationError, or a KeyError on odd metadata
        why = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
        return Problem("error", f"{path.name}: nbgrader cannot read its cell metadata ({why}); "
                                "start again from the released notebook and copy your answers over")
    return None


def cells_to_run(released, nb) -> list[tuple[str, str]]:
    """(name, source) of each cell the kernel runs: every code cell but the released test
    cells, locked ones with their released source. What a cell is comes from the release,
    never from the metadata the student sent (a test cell re-labelled as a plain one still
    never runs; a cell the student labels a test is the student's own code and runs)."""
    rel = released_cells(released)
    out = []
    for i, cell in enumerate(nb.cells):
        mine = rel.get(gid_of(cell))
        if cell.cell_type != "code" or (mine is not None and is_test(mine)):
            continue
        source = mine.source if mine is not None and nbmeta(mine).get("locked") else cell.source
        out.append((cell_name(cell, i, rel), source))
    return out


def released_cells(released) -> dict:
    """grade_id -> the released cell: the only source of what a cell is."""
    return {nbmeta(c)["grade_id"]: c for c in released.cells if nbmeta(c).get("grade_id")}


def cell_name(cell, i: int, rel: dict) -> str:
    """A released cell's grade_id, else its position: a grade_id only the student's copy
    claims names nothing (it could pose as another task's cell)."""
    gid = gid_of(cell)
    mine = rel.get(gid)
    return gid if mine is not None and mine.cell_type == cell.cell_type else f"cell {i + 1}"


# ----------------------------------------------------------------------------- grading

@dataclass
class Executed:
    """One notebook after the kernel ran it."""
    nb: object = None                                  # the submitted notebook (trusted copy)
    problem: Problem | None = None
    kernel: object = None                              # nbexec.NotebookKernel, open for the tests
    cells: dict[str, dict] = field(default_factory=dict)   # name -> cleaned reply
    failure: object = None                             # nbexec.KernelError that ended the run


def execute(plan: NotebookPlan, nb_name: str, submission: Path, sandbox, cell_timeout: float,
            budget_s: float) -> Executed:
    import nbformat

    from autograder.engine.nbexec import KernelError, NotebookKernel

    nb, problem = read_submitted(submission / nb_name)
    ex = Executed(nb, problem)
    if nb is None:
        return ex
    released = nbformat.read(plan.release(nb_name), as_version=4)
    ex.problem = check_cells(released, nb, nbformat.read(plan.source(nb_name), as_version=4))
    if ex.problem is None:
        ex.problem = check_metadata(submission / nb_name, nb)
    if ex.problem is not None and ex.problem.status == "error":
        ex.nb = None            # nothing of it is graded: every task of the notebook says why
        return ex
    try:
        ex.kernel = NotebookKernel(sandbox, submission)
        deadline = time.monotonic() + budget_s
        used = 0
        for name, source in cells_to_run(released, nb):
            ex.cells[name] = ex.kernel.run_cell(source, cell_timeout, deadline, name)
            used = keep_outputs(ex.cells[name], used)
    except KernelError as e:
        ex.failure = e
    return ex


def keep_outputs(cell: dict, used: int) -> int:
    """Bound what all of a notebook's cells keep on the trusted side, not only each one's."""
    import json

    size = len(json.dumps(cell["outputs"]))
    if used + size <= OUTPUT_BUDGET:
        return used + size
    cell["outputs"] = [{"output_type": "stream", "name": "stderr",
                        "text": f"[output not kept: the notebook's outputs passed {OUTPUT_BUDGET >> 20} MB]\n"}]
    return used


def grade(plan: NotebookPlan, job, sandbox, work: Path):
    """Grade one student's notebook tasks: ({task id: TaskResult}, instructor log, {feedback name: html})."""
    from autograder.engine import nbfeedback, nbplugin

    infos = {t.id: t for t in job.tasks if t.id in plan.tasks}
    submission = Path(job.submission)
    runs: dict[str, Executed] = {}
    log = []
    for nb_name in plan.notebooks:
        mine = [infos[t] for t, nbs in plan.tasks.items() if nb_name in nbs]
        t0 = time.monotonic()
        runs[nb_name] = execute(plan, nb_name, submission, sandbox, max(t.timeout_s for t in mine),
                                sum(t.timeout_s for t in mine))
        ex = runs[nb_name]
        log.append(f"{nb_name}: ran {len(ex.cells)} cells in {time.monotonic() - t0:.1f} s"
                   + (f"; {ex.problem.status}: {ex.problem.message}" if ex.problem else "")
                   + (f"; kernel: {ex.failure}" if ex.failure else ""))
    try:
        results, records, test_log = nbplugin.run_tests(plan, job, runs)
    finally:
        for ex in runs.values():
            if ex.kernel is not None:
                log.append(f"kernel output (instructor only):\n{ex.kernel.log.text()[-3000:]}")
                ex.kernel.close()
    log.append(test_log)
    feedback, fb_log, rebuilt, scores = nbfeedback.feedback(plan, job.student, runs, records, results, work)
    log.append(fb_log)
    log.append(_formgrader(plan, job, results, rebuilt, scores))
    return results, "\n".join(s for s in log if s), feedback


def _formgrader(plan: NotebookPlan, job, results: dict, rebuilt: dict, scores: dict[str, float]) -> str:
    """Record the student in the kit's nbgrader course (if there is one) and fold in the
    grades given there by hand."""
    from autograder.engine import nbcourse

    root = plan.course
    manual: dict[str, tuple] = {}
    if root is not None and rebuilt:
        manual = nbcourse.record(root, plan.folder, job.student, rebuilt, scores)
    else:      # no course to grade in: the written answers still show as waiting
        import nbformat
        for nb in plan.notebooks:
            for cell in nbformat.read(plan.source(nb), as_version=4).cells:
                m = nbmeta(cell)
                if m.get("grade") and m.get("solution"):
                    manual[m["grade_id"]] = (None, float(m.get("points", 0)))
    for tid, res in results.items():
        marker = plan.markers[tid]
        auto = sum(p for g, p in _test_points(plan).items() if owned(g, marker))
        nbcourse.merge_manual(res, manual, marker, auto)
    return f"nbgrader course {root}: manual grades {manual}" if root is not None else ""


def _test_points(plan: NotebookPlan) -> dict[str, float]:
    import nbformat
    return {nbmeta(c)["grade_id"]: float(nbmeta(c).get("points", 0)) for nb in plan.notebooks
            for c in nbformat.read(plan.source(nb), as_version=4).cells if is_test(c)}
