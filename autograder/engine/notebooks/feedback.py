"""The executed notebook, rebuilt on the trusted side, and nbgrader's feedback HTML for it.

The kernel's outputs arrive as bounded plain data (kernel_host.clean_outputs); here they are
put back into the trusted copy of the submitted notebook, test cells get their released
source (hidden tests already removed) and, as output, what the hidden graders found, and
the result is validated with nbformat. The scores go into a private copy of the course's
gradebook.db (one grade per test cell, from the trusted checks only), and nbgrader's
`generate_feedback` writes the HTML, with student markdown sanitised.
"""
from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path

import nbformat

from autograder.engine.notebooks.cells import cell_name, config, is_test, nbmeta, released_cells, venv_on_path


def cell_scores(plan, runs: dict, records: list, results: dict) -> dict[str, float]:
    """grade_id -> autograded score: the cell's points x the weight of its passed tests."""
    from autograder.engine.notebooks.plugin import _cell_facts, owned_by

    _, points = _cell_facts(plan)
    zero = {plan.markers[t] for t, r in results.items() if r.status in ("tampered", "banned")}
    out = {}
    for gid, pts in points.items():
        recs = [r for r in records if r.cell == gid and r.outcome != "skipped"]
        total = sum(r.weight for r in recs)
        won = sum(r.weight for r in recs if r.status == "passed")
        tampered = any(owned_by(gid, m) for m in zero)
        out[gid] = 0.0 if tampered or total <= 0 else round(pts * won / total, 4)
    return out


def _test_output(gid: str, records: list) -> list[dict]:
    recs = [r for r in records if r.cell == gid and r.outcome != "skipped"]
    if not recs:
        return [{"output_type": "stream", "name": "stdout", "text": "not graded\n"}]
    lines = [f"hidden check {i}: " + ("passed" if r.status == "passed" else f"{r.status}: {r.message}")
             for i, r in enumerate(recs, 1)]
    return [{"output_type": "stream", "name": "stdout", "text": "\n".join(lines)[:8000] + "\n"}]


def fenced(text: str) -> str:
    """Markdown the student wrote, as a plain-text code block: nbconvert escapes it, and
    neither raw HTML, links, mermaid blocks nor MathJax (which skips <pre>) can act in the
    feedback page or in formgrader."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


MARKDOWN_TAGS = {"a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h1", "h2",
                 "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "span", "strong", "sub", "sup",
                 "table", "tbody", "td", "th", "thead", "tr", "ul"}


def safe_markdown(source: str) -> str:
    """nbconvert's markdown2html with every other tag, attribute and URL scheme escaped.
    nbgrader's feedback and formgrade templates render markdown without nbconvert's
    sanitizer; nbgrader_config.py puts this filter in for notebooks nbgrader autograded
    by hand (make grade's own notebooks already hold student markdown as text)."""
    import bleach
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return bleach.clean(markdown2html_mistune(str(source)), tags=MARKDOWN_TAGS,
                        attributes={"*": ["id"], "span": ["class"], "a": ["href", "title"],
                                    "img": ["src", "alt", "title"]},
                        protocols={"http", "https", "mailto"})


def trusted_cell(cell, i: int, rel: dict, instructor_text: set[str]) -> str:
    """Reset what nbgrader's templates read from a submitted cell to released values; return
    the cell's name. Metadata, attachments and markdown are student data: the feedback and
    formgrader templates put nbgrader metadata (grade_id, comment) into the page unescaped."""
    name = cell_name(cell, i, rel)
    mine = rel.get(name)
    cell.metadata = nbformat.from_dict({"nbgrader": copy.deepcopy(nbmeta(mine))} if mine is not None else {})
    cell.pop("attachments", None)
    if mine is not None and (nbmeta(mine).get("locked") or is_test(mine)):
        cell.source = mine.source
    if cell.cell_type == "markdown" and cell.source not in instructor_text:
        cell.source = fenced(cell.source)
    return name


def as_text(cell):
    """A raw cell as a markdown cell of plain text: nbconvert writes a raw cell without a
    mimetype into the HTML page verbatim."""
    if cell.cell_type != "raw":
        return cell
    text = nbformat.v4.new_markdown_cell(fenced(cell.source))
    text.pop("id", None)
    if "id" in cell:          # nbformat 4.4 has no cell ids
        text.id = cell.id
    return text


def rebuild(released, ex, records: list):
    """The submitted notebook with the kernel's outputs, as nbgrader should see it: released
    notebook metadata, released cell metadata, student text only as text."""
    rel = released_cells(released)
    instructor_text = {c.source for c in released.cells if c.cell_type == "markdown"}
    nb = copy.deepcopy(ex.nb)
    nb.metadata = copy.deepcopy(released.metadata)
    nb.cells = [as_text(c) for c in nb.cells]
    for i, cell in enumerate(nb.cells):
        name = trusted_cell(cell, i, rel, instructor_text)
        if cell.cell_type != "code":
            continue
        cell.execution_count = None
        if is_test(cell):
            cell.outputs = [nbformat.from_dict(o) for o in _test_output(name, records)]
            continue
        ran = ex.cells.get(name)
        outputs = list(ran["outputs"]) if ran else []
        if ran and ran["error"]:
            e = ran["error"]
            outputs.append({"output_type": "error", "ename": e["ename"], "evalue": e["evalue"],
                            "traceback": e["traceback"].splitlines()[-40:]})
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
    try:
        nbformat.validate(nb)
    except Exception:  # noqa: BLE001 - drop outputs rather than feed nbgrader a bad notebook
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = []
        nbformat.validate(nb)
    return nb


def feedback(plan, student: str, runs: dict, records: list, results: dict, work: Path):
    """({feedback file name: html bytes}, log, {notebook: rebuilt}, {test cell grade_id: score})."""
    import nbformat
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI

    ready = {nb: ex for nb, ex in runs.items() if ex.nb is not None}
    if not ready:
        return {}, "", {}, {}
    root = work / "course"
    shutil.copytree(plan.template, root)
    rebuilt = {}
    for nb_name, ex in ready.items():
        released = nbformat.read(plan.release(nb_name), as_version=4)
        dest = root / "autograded" / student / plan.folder / nb_name
        dest.parent.mkdir(parents=True, exist_ok=True)
        rebuilt[nb_name] = rebuild(released, ex, records)
        nbformat.write(rebuilt[nb_name], dest)
    scores = cell_scores(plan, runs, records, results)
    tests = {nbmeta(c).get("grade_id") for nb_name in ready
             for c in nbformat.read(plan.source(nb_name), as_version=4).cells if is_test(c)}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        gb.update_or_create_student(student)
        gb.add_submission(plan.folder, student)
        for nb_name in ready:
            for grade in gb.find_submission_notebook(Path(nb_name).stem, plan.folder, student).grades:
                if grade.name in scores and grade.name in tests:   # manual answers wait for formgrader
                    grade.auto_score = scores[grade.name]
        gb.db.commit()
    venv_on_path()
    result = NbGraderAPI(config=config(root)).generate_feedback(plan.folder, student, force=True)
    log = f"nbgrader generate_feedback: success={result.get('success')}\n{result.get('error', '') or ''}"
    html = {p.name: p.read_bytes() for p in sorted((root / "feedback" / student / plan.folder).rglob("*.html"))}
    return html, log, rebuilt, {g: v for g, v in scores.items() if g in tests}
