"""Assignment 3 graders: the ban on library attention, checked before every test.

Before a task's first test, the submission's files are scanned (a3_ban.py, static, in this
trusted process). A finding that counts against the task fails each of its tests with
status `banned`, naming the call, file and line; the engine scores a banned task 0.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import a3_ban
from autograder.engine.student import StudentError

_CACHE: dict = {}


def _session(config):
    from autograder.engine.plugin import _session as find
    return find(config)


def _task_files(solutions_dir: str) -> dict[str, list[str]]:
    raw = tomllib.loads((Path(solutions_dir) / "assignment.toml").read_text(encoding="utf-8"))
    return {str(t["id"]): list(t.get("files", [])) for t in raw.get("tasks", [])}


@pytest.fixture(autouse=True)
def no_library_attention(request):
    session = _session(request.config)
    task = session.task_of(request.node)
    if task is None:
        return
    job = session.job
    key = (job.submission, task)
    if key not in _CACHE:
        if job.submission not in _CACHE:
            _CACHE[job.submission] = a3_ban.scan_submission(job.submission)
        _CACHE[key] = a3_ban.findings_for_task(_CACHE[job.submission], task, job.owners,
                                               _task_files(job.solutions_dir))
    found = _CACHE[key]
    if found:
        calls = "; ".join(str(f) for f in found[:3])
        raise StudentError("BannedCall", f"library attention is not allowed in task {task}: {calls}. "
                           "Write attention by hand (see the task's docstrings).", kind="banned")
