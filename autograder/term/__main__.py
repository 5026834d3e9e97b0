"""`python -m autograder.term`: the term's commands behind `make term`, `regrade`, `export`,
`similarity` and `report`. Every mistake in an input file ends in one line naming the file,
line and value (exit status 2) before anything is written."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _setup(args):
    from vitlab.course import load_course
    course = load_course(args.course_root or ROOT)
    a = course.assignment(args.assignment)
    out = Path(args.out or (ROOT / "grading" / a.folder))
    return course, a, out


def cmd_final(args) -> int:
    from autograder.term import final
    course, a, out = _setup(args)
    term = final.compute(course, a, out)
    d = final.write(term)
    _summary(term)
    print(f"term: final gradebook {d / 'gradebook.csv'}, totals {d / 'totals.csv'}, feedback {d / 'feedback'}/")
    return 0


def _summary(term) -> None:
    from collections import Counter
    c = Counter(e.status for e in term.entries)
    late = sum(1 for e in term.entries if e.late.percent > 0)
    print(f"term: {term.assignment.folder}: {len(term.entries)} students: "
          + ", ".join(f"{n} {s}" for s, n in sorted(c.items())) + f"; {late} late")
    for sid, why in term.unknown:
        print(f"term: submission {sid}: {why}", file=sys.stderr)


def cmd_regrade(args) -> int:
    from autograder.term import regrade
    course, a, out = _setup(args)
    if args.submissions is None:
        raise _usage("regrade needs SUBMISSIONS=<folder> (the class's submissions)")
    kw = {"allow_unsandboxed": args.unsafe_no_sandbox, "course_root": args.course_root,
          "graders_root": args.graders_root, "harness_dir": args.harness}
    rec = regrade.regrade(course, a, args.submissions, out, args.student, args.who or os.environ.get("USER", ""),
                          args.reason, kw)
    print(f"regrade: {rec['student']}: {len(rec['changes'])} task(s) changed; "
          f"final {rec['before'].get('final_total')} -> {rec['after'].get('final_total')}; "
          f"history: {out / '_term' / regrade.HISTORY}")
    for ch in rec["changes"]:
        print(f"  {ch['task']}: {ch['before']} -> {ch['after']}")
    return 0


def cmd_export(args) -> int:
    from autograder.term import export, final
    course, a, out = _setup(args)
    term = final.compute(course, a, out)
    final.write(term)
    dest, warnings = export.export(term, args.format, args.dest)
    for line in warnings:
        print(line, file=sys.stderr)
    print(f"export: {args.format}: {dest}")
    return 0


def cmd_similarity(args) -> int:
    from autograder.term import config, similarity
    course, a, out = _setup(args)
    if args.submissions is None:
        raise _usage("similarity needs SUBMISSIONS=<folder>")
    thr = config.load(course).similarity_threshold
    released = Path(course.root) / "assignments" / a.folder
    pairs, skipped, n = similarity.compare(a, args.submissions, released if released.is_dir() else None, thr)
    d = similarity.write(out, a, pairs, skipped, n, thr)
    flagged = [p for p in pairs if p.flagged]
    print(f"similarity: {n} submissions, {len(pairs)} pairs with overlap, {len(flagged)} flagged; {d / 'report.html'}")
    for why in skipped[:5]:
        print(f"similarity: left out {why}", file=sys.stderr)
    if len(skipped) > 5:
        print(f"similarity: ... and {len(skipped) - 5} more left out (listed in the report)", file=sys.stderr)
    for p in flagged[:20]:
        print(f"  {p.score:.0%}  {p.a} <-> {p.b}  ({p.tokens} matching tokens)")
    return 0


def cmd_report(args) -> int:
    from autograder.term import final, report_html
    course, a, out = _setup(args)
    term = final.compute(course, a, out)
    path = report_html.write(term, course.settings)
    print(f"report: {path}")
    return 0


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _usage(msg: str):
    from autograder.term.errors import TermError
    return TermError(msg)


def main(argv=None) -> int:
    p = _Parser(prog="python -m autograder.term", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)
    specs = {"final": (cmd_final, "final gradebook: late penalty and overrides on top of grading"),
             "regrade": (cmd_regrade, "grade one student again and record what changed"),
             "export": (cmd_export, "one row per student for Canvas, Moodle or a plain CSV"),
             "similarity": (cmd_similarity, "rank every pair of submissions by similarity (copydetect)"),
             "report": (cmd_report, "one self-contained HTML page about the assignment")}
    for name, (fn, text) in specs.items():
        s = sub.add_parser(name, help=text, description=text)
        s.add_argument("-a", "--assignment", required=True)
        s.add_argument("-o", "--out", type=Path, help="grading output folder (default: grading/<assignment>)")
        s.add_argument("-s", "--submissions", type=Path)
        for flag in ("--course-root", "--graders-root", "--harness"):   # for the kit's own tests
            s.add_argument(flag, type=Path, help=argparse.SUPPRESS)
        s.set_defaults(fn=fn)
        if name == "regrade":
            s.add_argument("--student", required=True)
            s.add_argument("--who", default="")
            s.add_argument("--reason", default="")
            s.add_argument("--unsafe-no-sandbox", action="store_true")
        if name == "export":
            s.add_argument("--format", required=True, help="canvas, moodle or csv")
            s.add_argument("--dest", type=Path, help="file to write (default: <out>/_term/export-<format>.csv)")
    args = p.parse_args(argv)
    from autograder.engine.cli import SandboxUnavailable, SubmissionsFolderError
    from autograder.engine.safe_text import one_line
    from autograder.term.errors import TermError
    from vitlab.course import CourseError
    try:
        return args.fn(args)
    except (TermError, CourseError, SubmissionsFolderError, SandboxUnavailable) as e:
        print(f"{args.cmd}: {one_line(str(e))}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
