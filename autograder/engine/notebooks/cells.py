"""What a notebook task is made of: the plan, cell metadata, the submitted notebook read
with bounds, and where the kit's nbgrader course lives (no kernel, no pytest here)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

MAX_NOTEBOOK = 32 << 20            # bytes: a bigger submitted notebook is not read
MAX_CELLS = 1000                   # a release notebook has a few dozen; each one costs a kernel round trip
OUTPUT_BUDGET = 16 << 20           # bytes of outputs kept for one notebook (each cell's are bounded in kernel_host)


@dataclass
class NotebookPlan:
    template: Path                                    # nbgrader course: source/, release/, gradebook.db
    folder: str                                       # assignment folder (nbgrader assignment id)
    notebooks: list[str]                              # relative paths of graded notebooks
    tasks: dict[str, list[str]] = field(default_factory=dict)   # task id -> notebooks
    markers: dict[str, str] = field(default_factory=dict)       # task id -> marker
    course: Path | None = None                        # the kit's nbgrader course for formgrader (course.py)

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


ROOT = Path(__file__).resolve().parents[3]
DEFAULT = ROOT / "build" / "nbgrader"


def course_root(repo: Path = ROOT) -> Path | None:
    """The nbgrader course make grade reports to: $VITLAB_NBGRADER_COURSE, else build/nbgrader
    of the kit, if its gradebook exists."""
    env = os.environ.get("VITLAB_NBGRADER_COURSE")
    root = Path(env) if env else repo / "build" / "nbgrader"
    return root if (root / "gradebook.db").is_file() else None


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


def keep_outputs(cell: dict, used: int) -> int:
    """Bound what all of a notebook's cells keep on the trusted side, not only each one's."""
    import json

    size = len(json.dumps(cell["outputs"]))
    if used + size <= OUTPUT_BUDGET:
        return used + size
    cell["outputs"] = [{"output_type": "stream", "name": "stderr",
                        "text": f"[output not kept: the notebook's outputs passed {OUTPUT_BUDGET >> 20} MB]\n"}]
    return used
