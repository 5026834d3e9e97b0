"""Suite-wide guard: no feedback this suite produces reveals a solution or a hidden grader.

Every feedback.md and results.json written under pytest's temporary folders (where the
suite's grading runs write) and under grading/ is scanned at the end of the session with
the release leak guard's rules (vitlab.release.leaks.feedback_leaks); any hit fails the run.
Under pytest-xdist the controller scans once, after every worker is done: the workers'
temporary folders lie inside its own.
"""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def pytest_sessionfinish(session, exitstatus):
    if hasattr(session.config, "workerinput"):      # an xdist worker: the controller scans
        return
    factory = getattr(session.config, "_tmp_path_factory", None)
    roots = [ROOT / "grading"]
    if factory is not None and getattr(factory, "_basetemp", None) is not None:
        roots.append(factory.getbasetemp())
    files = [p for r in roots if r.is_dir() for name in ("feedback.md", "results.json") for p in r.rglob(name)]
    if not files:
        return
    from vitlab.course import load_course
    from vitlab.release.leaks import feedback_leaks
    leaks = feedback_leaks(load_course(ROOT), files)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("")
        reporter.write_line(f"feedback leak scan: {len(files)} files, {len(leaks)} leaks")
    if leaks:
        for leak in leaks[:20]:
            (reporter.write_line if reporter else print)(f"LEAK {leak}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_collection_modifyitems(config, items):
    """A test that bakes a course (it uses tests/template's `bake_root`) is in the deep tier.
    Files that hold a deep test run first, those that bake first of all: xdist hands out files
    in this order, and a long pipeline started last keeps one worker busy while the other has
    nothing left to do."""
    for item in items:
        if "bake_root" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.bake)
    rank = {}                         # file -> 0: bakes a course (the longest), 1: other deep, 2: fast
    for item in items:
        mine = 0 if item.get_closest_marker("bake") else 1 if item.get_closest_marker("slow") else 2
        rank[item.path] = min(rank.get(item.path, 2), mine)
    items.sort(key=lambda item: rank[item.path])          # stable: the order within a file stays
