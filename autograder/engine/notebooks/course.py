"""The course as a real nbgrader course, for nbgrader's own workflow (generate, release,
fetch, submit, collect, autograde, feedback, formgrader, export) next to `make grade`.

    make nbgrader-course        # build/nbgrader/: source/<assignment>/, release/, gradebook.db

`nbgrader_config.py` at the repository root points nbgrader there. Each `source/<folder>/`
is the whole student folder `make release` writes to `assignments/<folder>/` (stubs, public
tests, data helpers, Makefile), with the instructor's notebooks (solutions, hidden tests)
in place of the released ones; nbgrader's `generate_assignment` turns it into
`release/<folder>/`, the same files as `assignments/<folder>/`. No reference module is
ever in it. When that course exists, `make grade` records each student's rebuilt notebook
and autograded scores in it, so formgrader can grade the written answers, and reads the
manual scores back into its own gradebook.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path

from autograder.engine.notebooks.cells import DEFAULT, ROOT

def build(course, dest: Path = DEFAULT, allow_open_given: bool = False) -> list[str]:
    """Write dest/source/<folder>/ for every assignment and release it with nbgrader's own
    generate_assignment; one line per assignment says what was done.

    An assignment that ships the reference of one still open (release order, see
    vitlab/release/open_given.py) is left out, its old source and release removed, unless
    `allow_open_given`; one without a notebook too: nbgrader releases no folder without one.
    """
    from autograder.engine.notebooks.prepare import generate
    from vitlab.release.build import build_assignment
    from vitlab.release.open_given import now, still_open

    today, done = now(), []
    for a in course.assignments:
        for stale in (dest / "source" / a.folder, dest / "release" / a.folder):
            if stale.exists():
                shutil.rmtree(stale)     # a file the release no longer has must not stay
        why = [] if allow_open_given else still_open(course, a, today)
        if why:
            done.append(f"{a.folder}: left out: {'; '.join(why)} (ALLOW_OPEN_GIVEN=1 builds it anyway)")
            continue
        src = dest / "source" / a.folder
        src.mkdir(parents=True)
        _, nbs = build_assignment(course, a, src)
        if not nbs and not list(src.rglob("*.ipynb")):
            shutil.rmtree(src)
            done.append(f"{a.folder}: left out: no notebook, and nbgrader releases no folder without one")
            continue
        generate(a.folder, nbs, dest)    # the instructor's notebooks join the folder, then nbgrader releases it
        done.append(f"{a.folder}: {len(list(src.rglob('*')))} files, notebooks: "
                    f"{', '.join(sorted(str(p.relative_to(src)) for p in src.rglob('*.ipynb')))}")
    return done


def _retry(fn, tries: int = 20):
    """Students are graded in parallel: sqlite is locked now and then."""
    from sqlalchemy.exc import OperationalError
    for i in range(tries):
        try:
            return fn()
        except (OperationalError, sqlite3.OperationalError):
            if i == tries - 1:
                raise
            time.sleep(0.2 * (i + 1))


def record(root: Path, folder: str, student: str, rebuilt: dict, scores: dict[str, float]) -> dict[str, tuple]:
    """Put one student's rebuilt notebooks and autograded scores into the course, keep any
    manual grade already given; return {grade_id: (manual score or None, max score)} of the
    manually graded cells."""
    import nbformat
    from nbgrader.api import Gradebook, MissingEntry

    from vitlab.io import atomic_write

    for nb_name, nb in rebuilt.items():
        atomic_write(root / "autograded" / student / folder / nb_name, nbformat.writes(nb))

    def update() -> dict[str, tuple]:
        manual = {}
        with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
            try:
                gb.find_assignment(folder)
            except MissingEntry:
                return {}
            gb.update_or_create_student(student)
            try:
                gb.find_submission(folder, student)
            except MissingEntry:
                gb.add_submission(folder, student)
            for nb_name in rebuilt:
                for grade in gb.find_submission_notebook(Path(nb_name).stem, folder, student).grades:
                    if grade.cell.cell_type == "markdown" or grade.name not in scores:
                        manual[grade.name] = (grade.manual_score, float(grade.max_score))
                    else:
                        grade.auto_score = scores[grade.name]
            gb.db.commit()
        return manual

    return _retry(update)


def merge_manual(result, manual: dict[str, tuple], marker: str, auto_points: float):
    """Fold the task's manual grades into its result: points x (auto + manual) / (both maxima).
    Until formgrader has a grade, the autograded part alone counts and the message says so."""
    from autograder.engine.scoring import ZERO

    mine = {g: v for g, v in manual.items() if g == marker or g.startswith(marker + "_")}
    if not mine or result.status in ZERO:
        return result
    waiting = sorted(g for g, (s, _) in mine.items() if s is None)
    if waiting:
        note = f"written answer {', '.join(waiting)} awaits grading by hand (formgrader)"
        result.message = f"{result.message}; {note}" if result.message else note
        return result
    got = sum(s for s, _ in mine.values())
    most = sum(m for _, m in mine.values())
    auto = auto_points * (result.score / result.max_score if result.max_score else 0.0)
    result.score = round(result.max_score * (auto + got) / (auto_points + most), 4) if auto_points + most else 0.0
    if result.score < result.max_score and result.status == "passed":
        result.status = "partial"
        result.message = f"written answers scored {got:g} of {most:g} by hand"
    return result


def main(argv: list[str]) -> int:
    import argparse

    from vitlab.course import CourseError, load_course

    p = argparse.ArgumentParser(prog="python -m autograder.engine.notebooks.course", description=__doc__.split("\n\n")[0])
    p.add_argument("dest", nargs="?", type=Path, default=None,
                   help="the course folder (default: $VITLAB_NBGRADER_COURSE, else build/nbgrader)")
    p.add_argument("--allow-open-given", action="store_true",
                   help="build folders that ship the reference of an assignment still open")
    args = p.parse_args(argv)
    env = os.environ.get("VITLAB_NBGRADER_COURSE")
    dest = args.dest or (Path(env) if env else DEFAULT)
    try:
        lines = build(load_course(ROOT), dest, args.allow_open_given)
    except CourseError as e:
        print(f"nbgrader-course: error: {e}", file=sys.stderr)
        return 2
    for line in lines:
        print(f"nbgrader-course: {line}")
    print(f"nbgrader-course: {dest} (nbgrader_config.py points there); release/<folder>/ is what "
          "`nbgrader release_assignment <folder>` hands out")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
