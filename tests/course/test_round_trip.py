"""Round trip: the reference passes every public test; the stubs fail each with NotImplementedError."""
import pytest

from vitlab.course import load_course

from .conftest import ROOT, run_public_tests

FOLDERS = [a.folder for a in load_course(ROOT).assignments if a.tasks]


def _task_markers(course, folder):
    return {t.marker for t in course.assignment(folder).tasks}


@pytest.mark.parametrize("folder", FOLDERS)
def test_reference_passes_every_public_test(course, folder, tmp_path):
    results = run_public_tests(ROOT / "solutions" / folder, tmp_path)
    # a skip is allowed (e.g. the capstone's checks of checkpoints not exported yet)
    failed = {k: v["longrepr"][-800:] for k, v in results.items() if v["outcome"] not in ("passed", "skipped")}
    assert results and not failed, failed
    for nodeid, r in results.items():
        assert r["markers"], f"{nodeid} carries no task marker"
    covered = {m for r in results.values() for m in r["markers"]}
    missing = _task_markers(course, folder) - covered
    assert not missing, f"tasks without a public test: {sorted(missing)}"


@pytest.mark.parametrize("folder", FOLDERS)
def test_stubs_fail_every_public_test_with_not_implemented(course, folder, tmp_path):
    """Stubs import cleanly; a failing test fails with NotImplementedError, never a crash;
    every task with fenced code has a test that fails that way. (Bad-input checks live outside
    the fences, so their tests may pass on stubs.)"""
    results = run_public_tests(ROOT / "assignments" / folder, tmp_path)
    errors = {k: v["longrepr"][-800:] for k, v in results.items() if k.startswith("collect:")}
    assert not errors, f"stubs do not import cleanly: {errors}"
    crashes = {k: v["longrepr"][-800:] for k, v in results.items()
               if v["outcome"] == "failed" and "NotImplementedError" not in v["longrepr"]}
    assert not crashes, crashes
    stubbed = {m for r in results.values() if r["outcome"] == "failed" for m in r["markers"]}
    missing = _fenced_task_markers(course, folder) - stubbed
    assert not missing, f"tasks whose stubs no public test catches: {sorted(missing)}"


def _fenced_task_markers(course, folder):
    from vitlab.release import fences, sources

    a = course.assignment(folder)
    tasks = set()
    for f in sources.walk(a):
        if f.kind == "python" and not f.given:
            tasks |= {x.task for x in fences.parse(f.path.read_text(encoding="utf-8"), str(f.path)) if x.task}
    return {t.marker for t in a.tasks if t.id in tasks}
