"""Notebook tasks, scored on the trusted side.

A task whose `files` list a notebook is graded here. Its cells are the ones whose
`grade_id` starts with the task marker (`task2_10_...`). Per student:

1. The submitted notebook is read and checked on the trusted side: nbformat, nbgrader's
   own metadata validator, and nbgrader's checksums of the released locked cells (a
   deleted, retyped or edited test cell makes its task `tampered`).
2. The kernel (inside/kernel.py, in the sandbox, see kernel_host.py) runs the student's cells only,
   with locked cells restored from the release; autograded test cells never run there, so
   no hidden test source enters it.
3. The hidden notebook graders (`autograder/graders/<assignment>/nbtest_*.py`) run here
   under pytest with the `student` fixture (plugin.py): they call the names the task's
   test cells export (`metadata.vitlab.exports`) and check the values with
   `autograder.engine.checks`. Scores come only from those checks.
4. feedback.py rebuilds the executed notebook from the bounded, validated outputs and
   has nbgrader write the feedback HTML.

`prepare` makes, once per run, an nbgrader course holding only the notebooks (source,
release and gradebook.db, from `generate_assignment`), cached by content.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder.engine.notebooks.cells import (NotebookPlan, Problem, cells_to_run, check_cells, check_metadata, is_test,
                                              keep_outputs, nbmeta, owned, read_submitted)


@dataclass
class Executed:
    """One notebook after the kernel ran it."""
    nb: object = None                                  # the submitted notebook (trusted copy)
    problem: Problem | None = None
    kernel: object = None                              # kernel_host.NotebookKernel, open for the tests
    cells: dict[str, dict] = field(default_factory=dict)   # name -> cleaned reply
    failure: object = None                             # kernel_host.KernelError that ended the run


def execute(plan: NotebookPlan, nb_name: str, submission: Path, sandbox, cell_timeout: float,
            budget_s: float) -> Executed:
    import nbformat

    from autograder.engine.notebooks.kernel_host import KernelError, NotebookKernel

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


def grade(plan: NotebookPlan, job, sandbox, work: Path):
    """Grade one student's notebook tasks: ({task id: TaskResult}, instructor log, {feedback name: html})."""
    from autograder.engine.notebooks import feedback as nbfeedback, plugin as nbplugin

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
    from autograder.engine.notebooks import course as nbcourse

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
