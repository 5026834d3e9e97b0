"""Similarity on planted near-copies and on independent correct solutions.

Five authors solved the same seven small NumPy tasks independently (fixtures/similarity/).
Each author's file is handed in as written, as a disguised copy (every local name and
argument renamed, functions reordered, comments dropped, reformatted) and as a disguised
copy with one function taken from the next author instead. Pairs from one author are
copies; pairs whose files share no author's code are independent. At the course's
threshold every copy must be flagged and no independent pair. The measured rates are
written to the test's output (docs/instructors/term.md, make similarity)."""
from __future__ import annotations

import itertools
import shutil

from near_copy import disguise, swap_in
from term_helpers import SIMILAR
from autograder.term import similarity
from vitlab.course import Assignment, Task

THRESHOLD = 0.5


def _corpus(tmp):
    authors = {k: (SIMILAR / f"author{k}.py").read_text() for k in range(1, 6)}
    sources = {}
    subs = tmp / "subs"
    for k, src in authors.items():
        nxt = k % 5 + 1
        docs = {f"a{k}": (src, {k}), f"c{k}": (disguise(src, k), {k}),
                f"p{k}": (disguise(swap_in(src, authors[nxt], "softmax_cross_entropy"), 10 + k), {k, nxt})}
        for name, (text, srcs) in docs.items():
            (subs / name).mkdir(parents=True)
            (subs / name / "layers.py").write_text(text)
            sources[name] = (k, srcs)
    released = tmp / "released"
    released.mkdir()
    shutil.copy(SIMILAR / "stub.py", released / "layers.py")
    return subs, released, sources


def test_near_copies_flagged_independent_solutions_not(tmp_path):
    subs, released, sources = _corpus(tmp_path)
    a = Assignment("a9_layers", "a9", "Layers", (Task("9.1", "layers", 10.0, ("layers.py",)),), released)
    pairs, skipped, n = similarity.compare(a, subs, released, THRESHOLD)
    assert n == 15 and not skipped
    by = {(p.a, p.b): p for p in pairs}
    copies, independent = [], []
    for x, y in itertools.combinations(sorted(sources), 2):
        p = by.get((x, y))
        if sources[x][0] == sources[y][0]:
            copies.append(p)
        elif not sources[x][1] & sources[y][1]:
            independent.append(p)
    detected = sum(1 for p in copies if p is not None and p.flagged)
    false = sum(1 for p in independent if p is not None and p.flagged)
    lowest_copy = min(p.score for p in copies)
    highest_indep = max((p.score for p in independent if p is not None), default=0.0)
    print(f"\nsimilarity: {detected}/{len(copies)} near-copy pairs flagged (lowest score {lowest_copy:.2f}); "
          f"{false}/{len(independent)} independent pairs flagged (highest score {highest_indep:.2f})")
    assert len(copies) == 15 and len(independent) == 75
    assert detected == len(copies)
    assert false == 0
    assert lowest_copy > highest_indep + 0.15        # a margin, not a coin toss


def test_stubs_alone_are_never_flagged(tmp_path):
    subs = tmp_path / "subs"
    for name in ("u1", "u2", "u3"):
        (subs / name).mkdir(parents=True)
        shutil.copy(SIMILAR / "stub.py", subs / name / "layers.py")
    released = tmp_path / "released"
    released.mkdir()
    shutil.copy(SIMILAR / "stub.py", released / "layers.py")
    a = Assignment("a9_layers", "a9", "Layers", (Task("9.1", "layers", 10.0, ("layers.py",)),), released)
    pairs, _, n = similarity.compare(a, subs, released, THRESHOLD)
    assert n == 3 and not any(p.flagged for p in pairs)


def test_report_escapes_student_code(tmp_path):
    evil = ('def f(x):\n    s = "</pre><script>alert(1)</script>"\n'
            '    return [x * i + 3 for i in range(100) if i % 7 == 1] + [s, s, s]\n\n'
            'def g(y):\n    return sum(v * v for v in y) / (len(y) + 1e-9) - max(y) + min(y) * 2.5\n')
    for name in ("u1", "u2<img src=x onerror=alert(2)>"):
        (tmp_path / "subs" / name).mkdir(parents=True)
        (tmp_path / "subs" / name / "m.py").write_text(evil)
    a = Assignment("a9_x", "a9", "X", (Task("9.1", "x", 1.0, ("m.py",)),), tmp_path)
    pairs, skipped, n = similarity.compare(a, tmp_path / "subs", None, THRESHOLD)
    page = (similarity.write(tmp_path / "out", a, pairs, skipped, n, THRESHOLD) / "report.html").read_text()
    assert len(pairs) == 1 and pairs[0].flagged
    assert "<script>" not in page and "&lt;/pre&gt;&lt;script&gt;" in page and "<img" not in page


def test_unreadable_submissions_are_left_out_not_fatal(tmp_path):
    subs = tmp_path / "subs"
    for name in ("u1", "u2"):
        (subs / name).mkdir(parents=True)
        shutil.copy(SIMILAR / "author1.py", subs / name / "layers.py")
    (subs / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    (subs / "empty").mkdir()
    a = Assignment("a9_layers", "a9", "Layers", (Task("9.1", "layers", 10.0, ("layers.py",)),), tmp_path)
    pairs, skipped, n = similarity.compare(a, subs, None, THRESHOLD)
    assert n == 2 and pairs[0].flagged and len(skipped) == 2
    assert any(s.startswith("broken: ") for s in skipped) and any(s.startswith("empty: ") for s in skipped)
