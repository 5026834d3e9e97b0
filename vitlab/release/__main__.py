"""`python -m vitlab.release [--check] [--out DIR]`: regenerate assignments/ from solutions/."""
from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from pathlib import Path

from vitlab.course import CourseError, load_course
from vitlab.release import guides
from vitlab.release.build import build, readme_with_course_map, release
from vitlab.release.fences import FenceError
from vitlab.release.open_given import FLAG, OpenGivenError, refuse_open


def diff_trees(a: Path, b: Path) -> list[str]:
    """Relative paths that differ between two folders (missing on either side included)."""
    out: list[str] = []

    def walk(cmp: filecmp.dircmp, prefix: str) -> None:
        out.extend(f"{prefix}{n} (only in {cmp.left.name if n in cmp.left_only else cmp.right.name})"
                   for n in sorted(cmp.left_only + cmp.right_only))
        out.extend(f"{prefix}{n}" for n in sorted(cmp.diff_files + cmp.funny_files))
        for name, sub in sorted(cmp.subdirs.items()):
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(a, b, ignore=["__pycache__", ".pytest_cache"]), "")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vitlab.release", description=__doc__)
    p.add_argument("--check", action="store_true", help="build into a temporary folder and report differences from assignments/; change nothing")
    p.add_argument("--out", type=Path, help="release into this folder instead of assignments/")
    p.add_argument("--root", type=Path, default=None, help="the course's root folder (default: this kit)")
    p.add_argument(FLAG, action="store_true", help="write folders whose given code is the reference of an "
                   "assignment still open by course.toml [gradebook.deadlines] (docs/instructors/index.md, Release order)")
    args = p.parse_args(argv)
    try:
        course = load_course(args.root) if args.root else load_course()
        if args.check:
            with tempfile.TemporaryDirectory(prefix="vitlab-release-check-") as tmp:
                build(course, Path(tmp))
                diffs = []
                for a in course.assignments:
                    committed = course.root / "assignments" / a.folder
                    if not committed.is_dir():
                        diffs.append(f"{a.folder}/ (not released yet)")
                        continue
                    diffs += [f"{a.folder}/{d}" for d in diff_trees(Path(tmp) / a.folder, committed)]
            readme = readme_with_course_map(course)
            if readme is not None and readme != (course.root / "README.md").read_text(encoding="utf-8"):
                diffs.append("README.md (course map)")
            diffs += [f"{g.relative_to(course.root)} (generated blocks)" for g in guides.refreshed(course)]
            if diffs:
                print("assignments/ is out of sync with solutions/ (run `make release`):")
                print("\n".join(f"  {d}" for d in diffs))
                return 1
            print("assignments/ is in sync with solutions/")
            return 0
        refuse_open(course, course.assignments, args.allow_open_given, "make release")
        for line in release(course, args.out):
            print(line)
        return 0
    except OpenGivenError as e:   # a refusal, not a fault: one line, and it says nothing was written
        print(f"release: {e}", file=sys.stderr)
        return 2
    except (CourseError, FenceError) as e:
        print(f"release: error: {e}", file=sys.stderr)
        print("release: assignments/ was left unchanged", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
