"""`make similarity`: every pair of submissions compared with copydetect (winnowing, as MOSS).

Each submission is staged the way grading stages it (bounded: archives, sizes, links) and
its task files (.py, and the code cells of .ipynb) become one document. The released
files of the assignment (stubs, docstrings, given code) are copydetect's boilerplate: code
every student was handed never counts. copydetect tokenizes first, so renamed variables and
functions, moved functions, new comments and reformatting do not hide a copy.

A pair's score is the larger of its two overlap fractions (a copy padded with other code
still shows on the copied side). Pairs at or above course.toml's similarity_threshold, with
at least MIN_TOKENS matching tokens, are flagged. Outputs in <OUT>/_term/similarity/:
pairs.csv (every pair, ranked) and report.html (the ranked table, then the flagged and the
closest pairs with their matching regions side by side). Student code is only read as text.
"""
from __future__ import annotations

import html
import json
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograder.engine.submissions import SubmissionError, discover_all, stage
from autograder.term import final
from vitlab.io import atomic_write

NOISE_T = 25           # copydetect's k (characters of the tokenized code)
GUARANTEE_T = 30       # window: every match this long is found
MIN_TOKENS = 40        # fewer matching tokens than this is never flagged (a stub left as given)
COMMON = 0.2           # a passage in more than this share of submissions (and in more than
MIN_COMMON = 4         # this many) is what everyone writes, not a copy: ignored, as MOSS's -m
MAX_DOC = 1 << 20      # characters of one student's document
SHOWN = 20             # pairs shown side by side besides the flagged ones


@dataclass
class Pair:
    a: str
    b: str
    score: float
    sim_a: float
    sim_b: float
    tokens: int
    flagged: bool = False
    code_a: str = ""
    code_b: str = ""


def _code(path: Path) -> str:
    """The text of a .py, or the code cells of an .ipynb; '' when unreadable."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_DOC + 1)[:MAX_DOC]
        text = data.decode("utf-8", errors="replace")
        if path.suffix == ".ipynb":
            nb = json.loads(text)
            cells = nb.get("cells", []) if isinstance(nb, dict) else []
            text = "\n\n".join("".join(c.get("source", "")) if isinstance(c.get("source"), list) else
                               str(c.get("source", "")) for c in cells
                               if isinstance(c, dict) and c.get("cell_type") == "code")
        return canonical(text)
    except (OSError, ValueError, RecursionError):
        return ""


def canonical(code: str) -> str:
    """Python as its parser sees it (ast round trip, never executed): formatting, comments
    and redundant brackets no longer differ between a copy and its source. Code that does
    not parse is compared as written."""
    import ast
    try:
        return ast.unparse(ast.parse(code)) + "\n"
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return code


def document(folder: Path, files: list[str]) -> str:
    parts = []
    for rel in files:
        p = folder / rel
        if p.is_file() and not p.is_symlink():
            parts.append(f"# ==== {rel} ====\n{_code(p)}")
    return "\n\n".join(parts)[:MAX_DOC]


def _documents(assignment, subs: Path, work: Path) -> tuple[dict[str, Path], list[str]]:
    files = sorted({f for t in assignment.tasks for f in t.files})
    found = discover_all(Path(subs), assignment.folder, assignment.id, tuple(files))
    docs, skipped = {}, []
    for sub in found.submissions:
        try:
            staged, _ = stage(sub, work / "stage" / sub.student, assignment.folder)
        except Exception as e:  # noqa: BLE001 - one unreadable submission never stops the class
            why = str(e) if isinstance(e, SubmissionError) else f"could not be staged ({type(e).__name__})"
            skipped.append(f"{sub.student}: {why}")
            continue
        text = document(staged, files)
        shutil.rmtree(staged, ignore_errors=True)
        if not text.strip():
            skipped.append(f"{sub.student}: none of {', '.join(files)} found")
            continue
        path = work / "docs" / f"{sub.student}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        docs[sub.student] = path
    return docs, skipped


def _boilerplate(released: Path | None, files: list[str], work: Path) -> Path:
    d = work / "boilerplate"
    d.mkdir(parents=True, exist_ok=True)
    if released is not None and released.is_dir():
        for p in sorted(released.rglob("*")):
            if p.suffix in (".py", ".ipynb") and p.is_file():
                (d / (p.relative_to(released).as_posix().replace("/", "__") + ".py")).write_text(
                    _code(p), encoding="utf-8")
        # the release as a submission's document joins it: code running from the end of one
        # given file into the start of the next is starter code too
        (d / "__release_document__.py").write_text(document(released, files), encoding="utf-8")
    return d


def common_hashes(paths: list[Path]) -> set:
    """k-gram hashes of the tokenized code that appear in too many submissions to tell anyone
    apart (the one obvious line that solves a small task)."""
    from collections import Counter

    from copydetect.utils import filter_code, hashed_kgrams

    seen = Counter()
    for p in paths:
        filtered, _ = filter_code(p.read_text(encoding="utf-8"), str(p))
        seen.update(set(hashed_kgrams(filtered, NOISE_T).tolist()))
    limit = max(MIN_COMMON, int(COMMON * len(paths)))
    return {h for h, n in seen.items() if n > limit}


def _detector(common: set, **kw):
    import numpy as np
    from copydetect import CopyDetector

    class Detector(CopyDetector):
        """copydetect's detector with the class's common passages added to the boilerplate."""

        def _get_boilerplate_hashes(self):
            base = super()._get_boilerplate_hashes()
            extra = np.array(sorted(common), dtype=np.int64)
            return np.unique(np.concatenate([np.asarray(base, dtype=np.int64), extra]))

    return Detector(**kw)


def compare(assignment, subs: Path, released: Path | None, threshold: float) -> tuple[list[Pair], list[str], int]:
    """(pairs ranked by score, submissions left out and why, number of documents)."""
    with tempfile.TemporaryDirectory(prefix="vitlab-similarity-") as tmp:
        work = Path(tmp)
        docs, skipped = _documents(assignment, subs, work)
        if len(docs) < 2:
            return [], skipped, len(docs)
        files = sorted({f for t in assignment.tasks for f in t.files})
        det = _detector(common_hashes(list(docs.values())), test_dirs=[str(work / "docs")], ref_dirs=[str(work / "docs")],
                           boilerplate_dirs=[str(_boilerplate(released, files, work))], extensions=["py"],
                           noise_t=NOISE_T, guarantee_t=GUARANTEE_T, display_t=0.0, autoopen=False,
                           silent=True, out_file=str(work / "unused.html"))
        logging.disable(logging.WARNING)   # copydetect logs "no files found" for an empty boilerplate
        try:
            det.run()
        finally:
            logging.disable(logging.NOTSET)
        names = {str(p): s for s, p in docs.items()}
        pairs, seen = [], set()
        for sim_a, sim_b, fa, fb, code_a, code_b, tokens in det.get_copied_code_list():
            a, b = names[fa], names[fb]
            if (b, a) in seen:
                continue
            seen.add((a, b))
            if a > b:
                a, b, sim_a, sim_b, code_a, code_b = b, a, sim_b, sim_a, code_b, code_a
            score = max(sim_a, sim_b)
            pairs.append(Pair(a, b, float(score), float(sim_a), float(sim_b), int(tokens),
                              bool(score >= threshold and tokens >= MIN_TOKENS), code_a, code_b))
    pairs.sort(key=lambda p: (-p.score, -p.tokens, p.a, p.b))
    return pairs, skipped, len(docs)


def write(out_dir: Path, assignment, pairs: list[Pair], skipped: list[str], n_docs: int,
          threshold: float) -> Path:
    d = Path(out_dir) / final.TERM_DIR / "similarity"
    rows = [{"rank": i + 1, "student_a": p.a, "student_b": p.b, "score": f"{p.score:.4f}",
             "similarity_a": f"{p.sim_a:.4f}", "similarity_b": f"{p.sim_b:.4f}", "matching_tokens": p.tokens,
             "flagged": "yes" if p.flagged else "no"} for i, p in enumerate(pairs)]
    final.write_csv(d / "pairs.csv", ("rank", "student_a", "student_b", "score", "similarity_a", "similarity_b",
                                      "matching_tokens", "flagged"), rows)
    atomic_write(d / "report.html", _html(assignment, pairs, skipped, n_docs, threshold))
    return d


_CSS = """body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}td,th{border:1px solid #ccc;
padding:2px 8px}tr.flag{background:#fdd}.pair{display:flex;gap:1em}.pair>div{flex:1;overflow:auto}
pre{font-size:12px;background:#f7f7f7;padding:6px}.highlight-red{background:#fbb}.highlight-green{background:#bfb}"""


def _html(assignment, pairs: list[Pair], skipped: list[str], n_docs: int, threshold: float) -> str:
    e = html.escape
    flagged = [p for p in pairs if p.flagged]
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>Similarity: {e(assignment.folder)}</title>",
           f"<style>{_CSS}</style></head><body><h1>Similarity: {e(assignment.folder)}</h1>",
           f"<p>{n_docs} submissions, {len(pairs)} pairs with any overlap, {len(flagged)} flagged "
           f"(score &ge; {threshold:g} and at least {MIN_TOKENS} matching tokens). Released stubs and given code "
           f"are boilerplate and never count, and so are passages found in more than {COMMON:.0%} of the submissions. "
           "Code is shown as Python's parser reads it (comments and formatting dropped). "
           "A flag is a reason to look, not a finding.</p>"]
    if skipped:
        out.append("<p>Left out: " + "; ".join(e(s) for s in skipped) + "</p>")
    out.append("<table><tr><th>rank</th><th>student A</th><th>student B</th><th>score</th><th>A's share</th>"
               "<th>B's share</th><th>matching tokens</th></tr>")
    for i, p in enumerate(pairs[:500]):
        out.append(f"<tr class='{'flag' if p.flagged else ''}'><td>{i + 1}</td><td><a href='#p{i}'>{e(p.a)}</a></td>"
                   f"<td>{e(p.b)}</td><td>{p.score:.0%}</td><td>{p.sim_a:.0%}</td><td>{p.sim_b:.0%}</td>"
                   f"<td>{p.tokens}</td></tr>")
    out.append("</table>")
    for i, p in enumerate(pairs):
        if not p.flagged and i >= SHOWN:
            continue
        # copydetect escapes the code (escape_html=True) and adds only its highlight spans
        out.append(f"<h2 id='p{i}'>{i + 1}. {e(p.a)} &harr; {e(p.b)}: {p.score:.0%}"
                   f"{' (flagged)' if p.flagged else ''}</h2><div class='pair'>"
                   f"<div><h3>{e(p.a)} ({p.sim_a:.0%} matches)</h3><pre>{p.code_a}</pre></div>"
                   f"<div><h3>{e(p.b)} ({p.sim_b:.0%} matches)</h3><pre>{p.code_b}</pre></div></div>")
    out.append("</body></html>\n")
    return "\n".join(out)
