"""A test double is not a solution. The doubles are staged into every sandbox, where student
code can import them (or print them into its feedback), so a submission made of the doubles,
each bound where the task's own code belongs, must score nothing: a double that passed a
hidden test would be that task's solution handed out by the grader."""
from __future__ import annotations

from pathlib import Path

import pytest

from autograder.engine.inside import doubles
from autograder.engine.examples import write_base
from vitlab.course import load_course

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "autograder" / "harness"
COURSE = load_course()
ASSIGNMENTS = tuple(a for a in ("a2", "a3") if a in {x.id for x in COURSE.assignments}
                    and (HARNESS / f"doubles_{a}.py").is_file())


def _bind_doubles(aid: str, dest: Path) -> None:
    """The released stubs, with each doubled name bound to its double at the end of its module."""
    table = doubles.table(HARNESS, aid)
    by_module: dict[str, list[str]] = {}
    for key in table:
        mod, qual = key.split(":", 1)
        by_module.setdefault(mod, []).append(qual)
    for mod, quals in by_module.items():
        path = dest / f"{mod.replace('.', '/')}.py"
        if not path.is_file():
            continue
        lines = [f"\nfrom autograder.harness import doubles_{aid} as _vitlab_doubles"]
        for qual in sorted(quals):
            lines.append(f"{qual} = _vitlab_doubles.DOUBLES[{f'{mod}:{qual}'!r}]")
        path.write_text(path.read_text(encoding="utf-8") + "\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module", params=ASSIGNMENTS or [None])
def graded(request, tmp_path_factory):
    from autograder.engine.grade import grade_all
    aid = request.param
    if aid is None:
        pytest.skip("no a2/a3 doubles in this course")
    root = tmp_path_factory.mktemp(f"doubles_as_solution_{aid}")
    dest = root / "subs" / "doubles"
    write_base(COURSE.assignment(aid), dest, "release")
    for nb in dest.rglob("*.ipynb"):   # notebook tasks are not part of this check
        nb.unlink()
    _bind_doubles(aid, dest)
    summary = grade_all(aid, root / "subs", root / "out", workers=1, force=True)
    return aid, {t["task"]: t for t in summary.results[0]["extra_data"]["tasks"]}


def test_a_submission_of_the_doubles_scores_nothing(graded):
    aid, tasks = graded
    scored = {t: (r["score"], r["status"], r.get("passed"), r.get("message", "")[:200])
              for t, r in tasks.items() if r["score"] > 0}
    assert not scored, f"{aid}: the doubles earn points: {scored}"
