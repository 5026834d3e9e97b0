"""The datasets a Gradescope autograder grades on: which ones, fetched and verified once.

`setup.sh` runs `python -m autograder.engine.gradescope.data -a <assignment> --data-dir DIR`
while Gradescope builds the image. It fetches exactly the datasets this assignment's graders
load (no more: the image stays small, the build fast) with vitdata, which checks the md5 of
every official file before decoding it, then re-hashes the decoded cache (sha256) and fails
the build on any difference. `run_autograder` points vitdata at DIR (`VITLAB_DATA`).

Which datasets: the capstone's come from course.toml [capstone.checkpoints] (the `dataset`
of each checkpoint task in the assignment); any other assignment's from course.toml
[gradescope] `datasets` (e.g. `datasets = { a2 = ["mnist"] }`: a2's training test loads an
MNIST subset). An assignment named in neither fetches nothing.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vitlab.course import DATASETS, Course, CourseError, load_course


def grading_datasets(course: Course, assignment: str) -> list[str]:
    """The datasets `assignment`'s graders load, in course order; CourseError on a bad name."""
    a = course.assignment(assignment)
    wanted = set(checkpoint_datasets(course, a))
    listed = course.settings.get("gradescope", {}).get("datasets", {})
    if not isinstance(listed, dict):
        raise CourseError(f"{course.root / 'course.toml'}: [gradescope] datasets = {listed!r} must be a "
                          "table such as { a2 = [\"mnist\"] }")
    names = listed.get(a.id, listed.get(a.folder, []))
    if not isinstance(names, list):
        raise CourseError(f"{course.root / 'course.toml'}: [gradescope] datasets.{a.id} = {names!r} "
                          "must be a list such as [\"mnist\"]")
    wanted |= {_check(course, f"[gradescope] datasets.{a.id}", n) for n in names}
    return [d for d in DATASETS if d in wanted]


def checkpoint_datasets(course: Course, a) -> list[str]:
    """The datasets the capstone's checkpoint graders of assignment `a` evaluate on (course.toml
    [capstone.checkpoints.*] `dataset` of each of its tasks), in course order. These are needed:
    unlike a2's training test, which falls back to synthetic digits, they have no stand-in."""
    tasks = {t.id for t in a.tasks}
    wanted = set()
    for name, spec in course.settings.get("capstone", {}).get("checkpoints", {}).items():
        if str(spec.get("task")) in tasks:
            wanted.add(_check(course, f"[capstone.checkpoints.{name}] dataset", spec.get("dataset")))
    return [d for d in DATASETS if d in wanted]


def _check(course: Course, where: str, name) -> str:
    if name not in DATASETS:
        raise CourseError(f"{course.root / 'course.toml'}: {where} = {name!r} is not one of "
                          f"{', '.join(map(repr, DATASETS))}")
    return name


def fetch_and_verify(names: list[str], data_dir: Path, mirror: Path | None = None, log=print) -> list[dict]:
    """Fetch each dataset into `data_dir` (vitdata: official md5s checked on import), then
    re-hash the cache. Raises RuntimeError naming the dataset on any failure."""
    import vitdata
    from vitdata import cache
    from vitdata.errors import DatasetCorruptError, DatasetMissingError

    metas = []
    for name in names:
        try:
            meta = vitdata.fetch(name, mirror=mirror, data_dir=data_dir, log=log)
        except (DatasetMissingError, DatasetCorruptError) as e:
            raise RuntimeError(f"{name}: {e}") from None
        bad = cache.verify(meta)
        if bad:
            raise RuntimeError(f"{name}: the cached arrays {', '.join(bad)} in {meta['cache']} do not match "
                               "the sha256 recorded when they were decoded; fetch again with an empty --data-dir")
        for fname, record in meta["checksums"].items():
            what = "md5 verified" if record.get("official") else "sha256 recorded (no official checksum)"
            log(f"  {meta['display_name']}: {fname}: {what}")
        log(f"{meta['display_name']}: {meta['counts']['test']} test images in {meta['cache']} (cache sha256 OK)")
        metas.append(meta)
    return metas


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m autograder.engine.gradescope.data",
                                description="fetch and verify the datasets an assignment grades on")
    p.add_argument("-a", "--assignment", required=True)
    p.add_argument("--data-dir", type=Path, required=True, help="the cache run_autograder reads (VITLAB_DATA)")
    p.add_argument("--mirror", type=Path, default=None, help="a local mirror instead of downloading")
    p.add_argument("--list", action="store_true", help="only print the datasets, one a line")
    args = p.parse_args(argv)
    try:
        names = grading_datasets(load_course(), args.assignment)
        if args.list:
            print("\n".join(names))
            return 0
        print(f"gradescope data: {args.assignment} grades on {', '.join(names) or 'no dataset'}")
        fetch_and_verify(names, args.data_dir, args.mirror)
    except (CourseError, RuntimeError) as e:
        print(f"gradescope data: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
