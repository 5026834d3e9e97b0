"""`python -m vitlab.course_site shown | scan [SITE]`.

shown  which assignments the course part of the site shows today, and why each other one is
       left out (VITLAB_SITE_ASSIGNMENTS and VITLAB_TODAY apply, as in `make docs`);
scan   the leak guard over a built site (default build/site): every solution or hidden-grader
       line in any of its files, one a line; exit 1 when there is one.
"""
from __future__ import annotations

import sys
from pathlib import Path

from vitlab.course import CourseError, load_course
from vitlab.course_site import leaks, pages


def main(argv: list[str]) -> int:
    try:
        course = load_course()
        if argv[:1] == ["shown"] and len(argv) == 1:
            shown, notes = pages.published(course)
            print("\n".join([f"shown: {a.folder}" for a in shown] + [f"left out: {n}" for n in notes]))
            return 0
        if argv[:1] == ["scan"] and len(argv) <= 2:
            site = Path(argv[1]) if len(argv) == 2 else course.root / "build" / "site"
            if not site.is_dir():
                print(f"course_site: error: {site} is not a folder (build the site with `make docs`)", file=sys.stderr)
                return 2
            found = leaks.scan_site(course, site)
            print("\n".join(str(leak) for leak in found) or f"leak guard: no solution or hidden-grader line in {site}")
            return 1 if found else 0
    except CourseError as e:
        print(f"course_site: error: {e}", file=sys.stderr)
        return 2
    print("usage: python -m vitlab.course_site shown | scan [SITE]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
