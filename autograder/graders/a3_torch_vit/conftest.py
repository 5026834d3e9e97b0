"""Assignment 3 graders: the ban on library attention, checked twice.

Static: before a task's first test, the submission's files are scanned (a3_ban.py, inside a
sandbox of its own started by a3_parse.py, never importing them). A finding that counts against the task fails each
of its tests with status `banned`, naming the call, file and line.

At run time: the `student` fixture below wraps the engine's; before each test it switches on
the guard in the task's sandbox (harness a3.install_ban), and a BannedCallError raised
there (the student called library attention) becomes status `banned` too. The engine
scores a banned task 0.

Untouched stubs: a check tied (by contracts.toml) to a definition of its task that the
submission still holds exactly as released fails as not implemented before it runs
(a3_stubs.py), so rerouting a stub at run time earns nothing.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import torch

import a3_ban
import a3_parse
import a3_stubs
from autograder.engine.student import StudentError

_CACHE: dict = {}
torch.set_num_threads(1)   # reference runs on tiny tensors; threads only add contention


def _session(config):
    from autograder.engine.plugin import _session as find
    return find(config)


def _task_files(solutions_dir: str) -> dict[str, list[str]]:
    raw = tomllib.loads((Path(solutions_dir) / "assignment.toml").read_text(encoding="utf-8"))
    return {str(t["id"]): list(t.get("files", [])) for t in raw.get("tasks", [])}


def _parsed(job) -> tuple[list, dict]:
    """The submission's findings and definitions, parsed once, inside a sandbox."""
    if ("parsed", job.submission) not in _CACHE:
        _CACHE[("parsed", job.submission)] = a3_parse.scan(job.submission, job.solutions_dir, job.owners,
                                                           bool(getattr(job, "isolated", True)))
    return _CACHE[("parsed", job.submission)]


@pytest.fixture(autouse=True)
def no_library_attention(request):
    session = _session(request.config)
    task = session.task_of(request.node)
    if task is None:
        return
    job = session.job
    key = (job.submission, task)
    if key not in _CACHE:
        _CACHE[key] = a3_ban.findings_for_task(_parsed(job)[0], task, job.owners, _task_files(job.solutions_dir))
    found = _CACHE[key]
    if found:
        calls = "; ".join(str(f) for f in found[:3])
        raise StudentError("BannedCall", f"not allowed in task {task}: {calls}. Write attention by hand, "
                           "with no library attention, reflection or computed names (see modules.py's "
                           "docstring).", kind="banned")


@pytest.fixture(autouse=True)
def no_untouched_stub(request, no_library_attention):
    session = _session(request.config)
    task = session.task_of(request.node)
    if task is None:
        return
    job = session.job
    key = ("untouched", job.submission)
    if key not in _CACHE:
        _CACHE[key] = a3_stubs.untouched(_parsed(job)[1], job.solutions_dir, job.owners)
    own = {f"{mod}.{q}" for mod, quals in job.owners.items() for q, t in quals.items() if t == task}
    left = sorted(a3_stubs.needs().get(request.node.originalname, frozenset()) & own & _CACHE[key])
    if left:
        raise StudentError("NotImplementedError", f"{left[0]} is still the released stub: write your code in "
                           "place of its `raise NotImplementedError`", kind="not_implemented")


class _BanAwareStudent:
    """The engine's Student, with the sandbox guard on and banned calls reported as `banned`."""

    def __init__(self, inner):
        self._inner = inner

    def _translate(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except StudentError as e:
            if e.type == "BannedCallError" and e.kind == "error":
                raise StudentError(e.type, e.message, "banned", e.traceback, e.target) from None
            raise

    def call(self, target, /, *args, **kwargs):
        return self._translate(self._inner.call, target, *args, **kwargs)

    def getattr(self, target, name=None):
        return self._translate(self._inner.getattr, target, name)

    @property
    def task(self):
        return self._inner.task


@pytest.fixture
def student(student, no_library_attention, no_untouched_stub):
    wrapped = _BanAwareStudent(student)
    wrapped.call("harness:a3.install_ban")
    return wrapped
