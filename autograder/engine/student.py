"""The `student` fixture's object: calls into one task's sandboxed worker.

    out, cache = student.call("layers.linear_forward", x, w, b)
    dx, dw, db = student.call("layers.linear_backward", dout, cache)   # cache is a Handle
    y = student.call(model, "forward", x)                              # a method of a Handle
    loss = student.call("harness:a3.train_step", model, batch)         # autograder/harness/a3.py

One worker per (student, task) is started lazily on the first call and reused by that
task's tests; the task's wall-clock budget (`Task.timeout_s`) starts with it. A crashed
worker is restarted for the next call; a timed-out or tampering one is not.
"""
from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Protocol

from autograder.engine.inside import wire
from autograder.engine.sandbox import ForkedWorker, Sandbox, WorkerDied
from autograder.engine.inside.wire import Handle

# statuses a StudentError can carry; the engine's task status is derived from them
KINDS = ("error", "not_implemented", "missing", "memory", "timeout", "tampered", "banned")
# what a worker's reply may claim: timeout and memory come only from the trusted side's own
# clock and from how the sandboxed process ended
REPLY_KINDS = ("error", "not_implemented", "missing")
MEMORY_EXIT = 75     # worker.MEMORY_EXIT: the worker ends this way on a MemoryError


class StudentError(Exception):
    """The student's code raised, crashed, hung or misbehaved during a call.

    `.type` is the exception's class name (e.g. "ValueError"), `.message` its text,
    `.kind` one of KINDS, `.traceback` the frames from the student's own files.
    """

    def __init__(self, type: str, message: str, kind: str = "error", traceback: str = "", target: str = ""):
        super().__init__(f"{type}: {message}" if message else type)
        self.type, self.message, self.kind = type, message, kind if kind in KINDS else "error"
        self.traceback, self.target = traceback, target


class TaskWorker:
    """The sandbox of one task for one student."""

    def __init__(self, sandbox: Sandbox, submission: Path, init: dict, task_id: str, timeout_s: float):
        self.sandbox, self.submission = sandbox, submission
        self.init, self.task_id, self.timeout_s = init, task_id, timeout_s
        self.worker: ForkedWorker | None = None
        self.deadline: float | None = None
        self.fatal: StudentError | None = None
        self.generation = 0
        self.outputs: list[tuple[int, str]] = []   # (bytes printed, head+tail text) per worker
        self.import_errors: dict[str, dict] = {}
        self.calls = 0

    # -- life cycle ------------------------------------------------------------------------
    def _start(self) -> ForkedWorker:
        self.generation += 1
        w = self.sandbox.start(self.submission)
        if self.deadline is None:   # from the worker's start: what an earlier task left costs this one nothing
            self.deadline = time.monotonic() + self.timeout_s
        self.worker = w
        sub = self.sandbox.paths(self.submission)
        cwd = "/tmp" if self.sandbox.isolated else str(self.sandbox.scratch_dir())
        init = dict(self.init, task=self.task_id, submission_dir=sub, cwd=cwd,
                    rlimits=self.sandbox.limits.rlimits(), seccomp=True)
        reply, _ = self._request(init, [], "importing your modules")
        if not isinstance(reply.get("import_errors", {}), dict):
            self._tampered("the sandboxed process answered with malformed data")
        self.import_errors = reply.get("import_errors", {})
        if reply.get("tampered"):
            self._tampered(_tamper_message(reply["tampered"]))
        return w

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()
            self.outputs.append((self.worker.output.total, self.worker.output.text()))
            self.worker = None

    # -- calls -----------------------------------------------------------------------------
    def call(self, op: str, target, args: tuple, kwargs: dict):
        if self.fatal is not None:
            raise self.fatal
        if self.worker is None:
            self._start()
        self.calls += 1
        node, blobs = wire.encode([list(args), kwargs], handle_of=None) if not _has_handles(args, kwargs) \
            else self._encode_with_handles(args, kwargs)
        header = {"op": op, "target": target, "args": node["v"][0], "kwargs": node["v"][1]}
        reply, rblobs = self._request(header, blobs, _target_name(target))
        if reply.get("tampered"):
            self._tampered(_tamper_message(reply["tampered"]))
        if reply.get("ok") is True:
            try:
                return wire.decode(reply.get("value"), rblobs, make_handle=self._make_handle)
            except wire.ProtocolError as e:
                self._tampered(f"the sandboxed process sent malformed data ({e})")
        err = reply.get("error")
        if not isinstance(err, dict):
            self._tampered("the sandboxed process answered with malformed data")
        kind = err.get("kind")
        raise StudentError(short(err.get("type", "Exception"), 80), str(err.get("message", ""))[:2000],
                           kind if kind in REPLY_KINDS else "error", str(err.get("traceback", ""))[:4000],
                           _target_name(target))

    def check_handle(self, h: Handle) -> None:
        if h.origin != (id(self), self.generation):
            raise StudentError("LostObject", f"{h!r} came from an earlier run of your code that has ended",
                               "error")

    def _encode_with_handles(self, args, kwargs):
        _walk_handles([list(args), kwargs], self.check_handle)
        return wire.encode([list(args), kwargs])

    def _make_handle(self, hid: int, type_name: str, sub: str | None) -> Handle:
        return Handle(hid, type_name, sub, origin=(id(self), self.generation))

    def _request(self, header: dict, blobs: list[bytes], doing: str):
        assert self.worker is not None
        try:
            return self.worker.request(header, blobs, self.deadline)
        except TimeoutError:
            self.close()
            self.fatal = StudentError("Timeout", f"task {self.task_id} ran past its {self.timeout_s:g} s "
                                      f"time limit (while {doing})", "timeout", target=doing)
            raise self.fatal from None
        except WorkerDied as e:
            self.close()
            raise _died(e, doing) from None
        except wire.ProtocolError as e:
            self._tampered(f"the sandboxed process sent malformed data ({e})")

    def _tampered(self, message: str):
        self.close()
        self.fatal = StudentError("Tampering", message, "tampered")
        raise self.fatal


def _has_handles(args, kwargs) -> bool:
    found = []
    _walk_handles([list(args), kwargs], found.append)
    return bool(found)


def _walk_handles(v, fn, depth: int = 0) -> None:
    if depth > wire.MAX_DEPTH:
        return
    if type(v) is Handle:
        fn(v)
    elif type(v) in (list, tuple):
        for x in v:
            _walk_handles(x, fn, depth + 1)
    elif type(v) is dict:
        for x in v.values():
            _walk_handles(x, fn, depth + 1)


def short(text, limit: int) -> str:
    """A short, printable excerpt of student-controlled text for a message."""
    text = str(text)
    clean = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[: limit * 2])
    return clean if len(clean) <= limit else clean[: limit - 3] + "..."


def _target_name(target) -> str:
    if isinstance(target, dict):
        return f"{target.get('type', 'object')}.{target.get('attr')}"
    return str(target)


def _tamper_message(names) -> str:
    names = [str(n)[:80] for n in (names if isinstance(names, list) else [names])][:5]
    return "your code replaced library functions (" + ", ".join(names) + "); grading does not allow that"


def _died(e: WorkerDied, doing: str) -> StudentError:
    code = e.returncode
    if code == -signal.SIGXCPU:
        return StudentError("Timeout", f"your code used up its CPU-time limit (while {doing})", "timeout",
                            target=doing)
    if code == -signal.SIGXFSZ:
        return StudentError("FileTooLarge", f"your code wrote a file larger than allowed (while {doing})",
                            "error", target=doing)
    if code == -signal.SIGKILL:
        return StudentError("Killed", f"your process was killed, probably for using too much memory "
                            f"(while {doing})", "memory", target=doing)
    if code == MEMORY_EXIT:
        return StudentError("MemoryError", f"your code ran out of memory (while {doing})", "memory",
                            target=doing)
    return StudentError("ProcessExited", f"{e} while {doing}; do not call sys.exit/os._exit or kill the "
                        "process in graded code", "error", target=doing)


class Channel(Protocol):
    """Where a Student's calls go: a task's sandboxed worker (TaskWorker) or its notebook
    kernel (notebooks.plugin.KernelChannel). Both check a handle's origin before use."""
    task_id: str

    def check_handle(self, h: Handle) -> None: ...

    def call(self, op: str, target, args: tuple, kwargs: dict): ...


class Student:
    """What a hidden grader receives as `student`, for a .py task and a notebook task alike."""

    def __init__(self, channel: Channel):
        self._channel = channel

    def call(self, target, /, *args, **kwargs):
        """`call("module.function", *args)`, `call(handle, "method", *args)` or
        `call("harness:module.function", *args)` (a notebook task: `call("exported_name", *args)`)."""
        if isinstance(target, Handle):
            if not args or not isinstance(args[0], str):
                raise TypeError("student.call(handle, 'method', *args): give the method name")
            method, args = args[0], args[1:]
            self._channel.check_handle(target)
            return self._channel.call("call", self._handle_target(target, method), args, kwargs)
        if not isinstance(target, str):
            raise TypeError(f"student.call: target must be a 'module.name' string or a Handle, got {target!r}")
        return self._channel.call("call", target, args, kwargs)

    def getattr(self, target, name: str | None = None):
        """Read an attribute: `getattr(handle, "weight")` or `getattr("layers.EPS")`."""
        if isinstance(target, Handle):
            self._channel.check_handle(target)
            return self._channel.call("getattr", self._handle_target(target, name), (), {})
        return self._channel.call("getattr", target if name is None else f"{target}.{name}", (), {})

    @staticmethod
    def _handle_target(h: Handle, attr: str) -> dict:
        return {"handle": h.id, "attr": attr, "type": h.type_name}

    @property
    def task(self) -> str:
        return self._channel.task_id
