"""A task's section in an assignment's nbgrader source notebook.

Three cells, with nbgrader's own metadata: a read-only markdown cell (the maths), a
solution cell (`### BEGIN SOLUTION` ... `### END SOLUTION`, replaced by nbgrader's stub on
release) and a locked self-check cell (not graded: the task's hidden graders grade its
`.py` code).
"""
from __future__ import annotations

from pathlib import Path

import nbformat

KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def _cell(kind: str, source: str, grade_id: str, **flags) -> nbformat.NotebookNode:
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source.rstrip("\n"))
    cell["id"] = grade_id[:64]          # stable ids: re-running a release changes nothing
    cell.metadata["nbgrader"] = {"schema_version": 3, "grade_id": grade_id, "solution": False,
                                 "grade": False, "locked": False, "task": False, **flags}
    return cell


def section(ex, staged: Path) -> list[nbformat.NotebookNode]:
    """The cells for exercise `ex` from the baked `notebook_*` files in `staged`."""
    read = lambda name: (staged / name).read_text(encoding="utf-8")  # noqa: E731
    gid = f"{ex.marker}_{ex.slug}"
    return [
        _cell("markdown", read("notebook_intro.md"), f"{gid}_intro", locked=True),
        _cell("code", read("notebook_solution.py"), f"{gid}_solution", solution=True),
        # a self-check, not graded: the task is graded on its .py files, and a graded cell
        # no task's `files` include would never be scored
        _cell("code", read("notebook_check.py"), f"{gid}_test", locked=True),
    ]


def append_section(ex, staged: Path) -> str:
    """The notebook's text with the section added at the end, or before its closing
    `## Summary` section (a new notebook when the assignment has none)."""
    path = ex.notebook_path
    if path.exists():
        nb = nbformat.read(path, as_version=4)
    else:
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = KERNEL
        nb.cells.append(_cell("markdown", f"# {ex.folder}\n\nEach section derives one task's maths and checks "
                              "your code from the `.py` modules.", f"{ex.folder}_title", locked=True))
        nb.cells.append(_cell("code", "%load_ext autoreload\n%autoreload 2", f"{ex.folder}_setup", locked=True))
    ids = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
    cells = section(ex, staged)
    clash = [c.metadata.nbgrader.grade_id for c in cells if c.metadata.nbgrader.grade_id in ids]
    if clash:
        from template.options import TemplateError

        raise TemplateError(f"{path}: nbgrader grade_id {clash[0]!r} is already used; choose another slug")
    if nb.nbformat_minor < 5:             # cell ids came with nbformat 4.5
        for cell in cells:
            del cell["id"]
    at = next((i for i, c in enumerate(nb.cells)       # before a closing summary, if any
               if c.cell_type == "markdown" and c.source.lstrip().lower().startswith("## summary")), len(nb.cells))
    nb.cells[at:at] = cells
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"
