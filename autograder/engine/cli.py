"""The `grade` and `check` commands behind `python -m autograder` and `make grade`."""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from rich.console import Console

from autograder.engine import examples, report
from autograder.engine.grade import SandboxUnavailable, grade_all
from autograder.engine.needs import check as check_needs
from autograder.engine.outdir import OutDirError
from autograder.engine.safe_text import one_line
from autograder.engine.submissions import SubmissionsFolderError, discover_all
from vitlab.course import CourseError, load_course
from vitlab.io import atomic_write

ROOT = Path(__file__).resolve().parents[2]


class UsageError(ValueError):
    """A wrong value on the command line: reported in one line, exit status 2."""


def usage_errors(fn):
    """Run a command; a wrong assignment, path or folder ends in one line on stderr."""
    def wrapped(args) -> int:
        try:
            return fn(args)
        except (UsageError, CourseError, SubmissionsFolderError, SandboxUnavailable, OutDirError) as e:
            print(f"{getattr(args, 'cmd', None) or 'autograder'}: {one_line(str(e))}", file=sys.stderr)
            return 2
    return wrapped


def _check_paths(subs: Path, out: Path) -> None:
    """OUT must be a folder that is neither inside SUBMISSIONS (its folders would be graded
    as students next time) nor holds it (a student's id could overwrite a submission)."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    s, o = subs.resolve(), out.resolve()
    if s.is_dir() and (o == s or o.is_relative_to(s) or s.is_relative_to(o)):
        raise UsageError(f"--out {out} and --submissions {subs} overlap; "
                         "write the results to a folder outside the submissions")


def _progress(total: int, quiet: bool):
    """A rich progress bar; returns (callback, stop)."""
    if quiet or total == 0:
        return None, lambda: None
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("{task.description}"), console=Console(stderr=True), transient=False)
    task = bar.add_task("", total=total)
    bar.start()

    def step(outcome) -> None:
        what = "unchanged" if not outcome.graded else f"{report.score_text(outcome.results['score'])} pts"
        bar.update(task, advance=1, description=escape(f"{one_line(outcome.student, 40)}: {what}"))

    return step, bar.stop


@usage_errors
def grade_command(args) -> int:
    course = load_course(args.course_root or ROOT)
    a = course.assignment(args.assignment)
    check_needs(course, a)   # missing data: one line now, not an internal error for every student
    subs = args.submissions
    if subs is None:
        subs = ROOT / "build" / "examples" / a.folder
        names = examples.materialize(a, subs)
        print(f"grade: {len(names)} example submissions of {a.folder} rebuilt in {subs.relative_to(ROOT)}")
    out = args.out or (ROOT / "grading" / ("examples" if args.submissions is None else a.folder))
    _check_paths(Path(subs), Path(out))
    task_files = tuple(sorted({f for t in a.tasks for f in t.files}))
    found = discover_all(Path(subs), a.folder, a.id, task_files)
    for line in found.ignored:
        print(f"grade: passed over {one_line(line)}", file=sys.stderr)
    step, stop = _progress(len(found.submissions), args.quiet)
    try:
        summary = grade_all(a.folder, Path(subs), Path(out), workers=args.workers, force=args.force,
                            allow_unsandboxed=args.unsafe_no_sandbox,
                            progress=step, course_root=args.course_root, graders_root=args.graders_root,
                            harness_dir=args.harness)
    finally:
        stop()
    n_tasks = len(summary.plan.assignment.tasks)
    console = Console(width=max(Console().width, 24 + 12 * n_tasks))  # never squash the table
    if not summary.plan.isolated:
        console.print(f"[bold red]WARNING: student code ran WITHOUT the sandbox "
                      f"({summary.plan.sandbox_problem}); resource limits only.[/bold red]")
    console.print(report.summary_table(summary.results, f"{a.folder}: {len(summary.results)} students"))
    book = Path(out).resolve() / "gradebook.csv"
    shown = book.relative_to(Path.cwd()) if book.is_relative_to(Path.cwd()) else book
    unreadable = sum(1 for r in summary.results if r["extra_data"].get("content_hash") == "unreadable")
    print(f"grade: {summary.graded} graded, {len(summary.outcomes) - summary.graded} unchanged"
          + (f" ({unreadable} could not be read: see their messages)" if unreadable else "")
          + f", {summary.wall_s:.1f} s; gradebook: {one_line(str(shown))}; ids: students.csv")
    _write_review(course, a, Path(out), [r["extra_data"]["student"] for r in summary.results])
    return 0


REVIEW = "review.txt"


def _write_review(course, a, out: Path, students: list[str]) -> None:
    """OUT/review.txt: the capstone's instructor-only flags of every student (rebuilt each run;
    none: no file), and one line on the terminal naming the flagged students."""
    specs = course.settings.get("capstone", {}).get("checkpoints", {})
    names = [n for n, spec in specs.items() if str(spec.get("task")) in {t.id for t in a.tasks}]
    flags = review_flags(out, students, names) if names else {}
    if not flags:
        (out / REVIEW).unlink(missing_ok=True)
        return
    atomic_write(out / REVIEW, "".join(f"{s}: {line}\n" for s, lines in flags.items() for line in lines))
    print(f"grade: {len(flags)} student(s) flagged for your review (never shown to them): "
          f"{one_line(', '.join(list(flags)[:10]))}{' ...' if len(flags) > 10 else ''}; see {REVIEW}")


def review_flags(out: Path, students: list[str], checkpoints: list[str]) -> dict[str, list[str]]:
    """student -> the instructor-only review flags in their grader.log: the lines the capstone's
    review writes ("FLAG <checkpoint>: ..."), escaped, one line each."""
    starts = tuple(f"FLAG {name}: " for name in checkpoints)
    flags = {}
    for student in students:
        try:
            log = (out / student / "grader.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        lines = [one_line(line, limit=300) for line in log.splitlines() if line.startswith(starts)]
        if lines:
            flags[student] = lines[:20]
    return flags


def _produced_tasks(a) -> dict[str, list[str]]:
    """Tasks graded on files the reference folder does not hold (the capstone's trained
    checkpoints): task id -> those files."""
    return {t.id: list(t.files) for t in a.tasks
            if t.files and not any((a.source_dir / f).exists() for f in t.files)}


@usage_errors
def check_command(args) -> int:
    """Reference must get full marks and the release zero, cleanly (not_implemented)."""
    course = load_course()
    a = course.assignment(args.assignment)
    with tempfile.TemporaryDirectory(prefix="vitlab-check-") as tmp:
        subs = Path(tmp) / "submissions"
        examples.write_base(a, subs / "reference", "reference")
        examples.write_base(a, subs / "release", "release")
        out = args.out or Path(tmp) / "out"
        # the reference and the release hold no trained checkpoint: no data is read for them
        summary = grade_all(a.folder, subs, Path(out), force=True, check_data=False)
        Console(width=max(Console().width, 24 + 12 * len(a.tasks))).print(
            report.summary_table(summary.results, f"check {a.folder}"))
        by = {r["extra_data"]["student"]: r for r in summary.results}
        produced = _produced_tasks(a)
        problems = []
        for t in by["reference"]["extra_data"]["tasks"]:
            if t["task"] in produced:     # a trained checkpoint: the reference has none to give
                if t["score"] != 0 or t["status"] != "missing":
                    problems.append(f"reference: task {t['task']} is {t['status']} without its files")
            elif t["status"] != "passed":
                problems.append(f"reference: task {t['task']} is {t['status']}: {one_line(t['message'])}")
        for t in by["release"]["extra_data"]["tasks"]:
            want = "missing" if t["task"] in produced else "not_implemented"
            if t["score"] != 0 or t["status"] != want:
                problems.append(f"release: task {t['task']} is {t['status']} with {report.score_text(t['score'])} points")
        for tid in sorted(produced):
            print(f"check: task {tid} is graded on files a student produces ({produced[tid][0]} ...): "
                  "neither the reference nor the release has them, so both must score 0 (missing)")
        for p in problems:
            print("check:", p, file=sys.stderr)
        if problems:
            log = (Path(out) / "reference" / "grader.log").read_text(encoding="utf-8")
            print(f"check: graders' log for the reference:\n{log[-6000:]}", file=sys.stderr)  # written escaped
        return 1 if problems else 0
