"""`python -m autograder`: grade submissions with the hidden graders.

    python -m autograder grade                         # the bundled example submissions of a1
    python -m autograder grade -a a1 -s subs/ -o out/  # a class: one folder or .zip per student
    python -m autograder check a1                      # reference = full marks, release = zero
    python -m autograder gradescope -a a1              # build autograder.zip for Gradescope
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

DESCRIPTION = """\
Grade student submissions with the hidden graders in autograder/graders/<assignment>/.

Student code runs only in sandboxed worker processes (bubblewrap: no network, read-only
filesystem, own PID namespace; plus rlimits, a no-fork seccomp filter and a wall-clock
timeout per task). Writes <out>/gradebook.csv (student,assignment,task,score,max_score,
status,message) and, per student, results.json (Gradescope schema), feedback.md and
grader.log (instructor only). Unchanged submissions are not re-graded unless --force.
"""


def _grade(args) -> int:
    from autograder.engine.cli import grade_command
    return grade_command(args)


def _check(args) -> int:
    from autograder.engine.cli import check_command
    return check_command(args)


def _gradescope(args) -> int:
    from autograder.engine.cli import usage_errors
    from autograder.engine.gradescope.build import build_command
    return usage_errors(build_command)(args)


def _gradescope_run(args) -> int:
    from autograder.engine.cli import usage_errors
    from autograder.engine.gradescope.build import run_command
    return usage_errors(run_command)(args)


class _Parser(argparse.ArgumentParser):
    """Every mistake on the command line is one line naming the value and what is allowed."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def workers(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of workers; use a whole number >= 1")
    return n


def main(argv: list[str] | None = None) -> int:
    p = _Parser(prog="python -m autograder", description=DESCRIPTION,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    g = sub.add_parser("grade", help="grade a folder of submissions (default: the bundled examples)",
                       description="Grade every submission in SUBMISSIONS (one folder or .zip per student, "
                       "or nbgrader's submitted/<student>/<assignment>/). Without --submissions, grades "
                       "the bundled example submissions of the assignment.")
    g.add_argument("-a", "--assignment", default="a1", help="assignment id, number or folder (default: a1)")
    g.add_argument("-s", "--submissions", type=Path, help="folder of submissions (default: bundled examples)")
    g.add_argument("-o", "--out", type=Path, help="output folder (default: grading/<assignment>/ or "
                   "grading/examples/ for the examples)")
    g.add_argument("-j", "--workers", type=workers, default=None, help="parallel students (default: one per core)")
    g.add_argument("-f", "--force", action="store_true", help="re-grade unchanged submissions too")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    g.add_argument("--unsafe-no-sandbox", action="store_true",
                   help="UNSAFE: where bubblewrap cannot run, run student code anyway, as the user nobody "
                   "with resource limits only (needs root; graders, reference, submissions and output "
                   "must be unreadable by other users)")
    for flag in ("--course-root", "--graders-root", "--harness"):  # for the kit's own tests
        g.add_argument(flag, type=Path, help=argparse.SUPPRESS)
    g.set_defaults(fn=_grade)

    c = sub.add_parser("check", help="grade the reference (must be full marks) and the release (must be 0)")
    c.add_argument("assignment", help="assignment id, number or folder")
    c.add_argument("-o", "--out", type=Path, help="output folder (default: a temporary one)")
    c.set_defaults(fn=_check)

    s = sub.add_parser("gradescope", help="build a Gradescope autograder.zip")
    s.add_argument("-a", "--assignment", required=True, help="assignment id, number or folder")
    s.add_argument("-o", "--out", type=Path, help="where to write the zip (default: build/gradescope/<a>/autograder.zip)")
    s.add_argument("--allow-open-given", action="store_true", help="build it even though its given code is "
                   "the reference of an assignment still open by course.toml [gradebook.deadlines]")
    s.set_defaults(fn=_gradescope)

    r = sub.add_parser("gradescope-run", help="(inside Gradescope) grade /autograder/submission")
    r.add_argument("-a", "--assignment", required=True)
    r.add_argument("--submission", type=Path, default=Path("/autograder/submission"))
    r.add_argument("--results", type=Path, default=Path("/autograder/results/results.json"))
    r.add_argument("--unsafe-no-sandbox", action="store_true",
                   help="UNSAFE: where bubblewrap cannot run, run student code anyway, as the user nobody "
                   "with resource limits only (needs root; graders, reference, submissions and output "
                   "must be unreadable by other users)")
    r.set_defaults(fn=_gradescope_run)

    args = p.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
