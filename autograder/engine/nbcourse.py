"""The course as a real nbgrader course, for nbgrader's own workflow (collect, formgrader,
export) next to `make grade`.

    make nbgrader-course        # build/nbgrader/: source/<assignment>/*.ipynb, release/, gradebook.db

`nbgrader_config.py` at the repository root points nbgrader there. Its `source/` tree holds
the notebooks only (never a `.py` file: nbgrader copies a source folder verbatim into the
release and over autograded submissions). When that course exists, `make grade` records
each student's rebuilt notebook and autograded scores in it, so formgrader can grade the
written answers, and reads the manual scores back into its own gradebook.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "build" / "nbgrader"


def course_root(repo: Path = ROOT) -> Path | None:
    """The nbgrader course make grade reports to: $VITLAB_NBGRADER_COURSE, else build/nbgrader
    of the kit, if its gradebook exists."""
    env = os.environ.get("VITLAB_NBGRADER_COURSE")
    root = Path(env) if env else repo / "build" / "nbgrader"
    return root if (root / "gradebook.db").is_file() else None


def build(course, dest: Path = DEFAULT) -> list[str]:
    """Write dest/source/<folder>/ with each assignment's task notebooks and release them."""
    from autograder.engine.notebooks import generate, notebook_tasks

    done = []
    for a in course.assignments:
        nbs = sorted({nb for files in notebook_tasks(a).values() for nb in files})
        if not nbs:
            continue
        src = dest / "source" / a.folder
        if src.exists():
            shutil.rmtree(src)      # a notebook no task lists any more must not stay
        generate(a.folder, {nb: a.source_dir / nb for nb in nbs}, dest)
        done.append(f"{a.folder}: {', '.join(nbs)}")
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
    from vitlab.course import load_course

    dest = Path(argv[0]) if argv else DEFAULT
    for line in build(load_course(ROOT), dest):
        print(f"nbgrader-course: {line}")
    print(f"nbgrader-course: {dest} (nbgrader_config.py points there); the source tree holds notebooks only")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
