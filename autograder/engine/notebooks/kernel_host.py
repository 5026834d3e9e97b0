"""Trusted side of the notebook kernel (kernel.py): start it in the sandbox, run cells, call
the names graded cells export.

The kernel gets the student's cells only (never a test cell, so no hidden test source
ever enters it), the submission read-only and the sandbox's tmpfs as its one writable
place. It talks over two pipes (wire.py); its replies are checked here: a cell's outputs
come back as plain, bounded data, a call's result as wire values. Anything malformed makes
the notebook `tampered`.
"""
from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
import time
from pathlib import Path

from autograder.engine.inside import wire
from autograder.engine.pids import close_process
from autograder.engine.student import REPLY_KINDS
from autograder.engine.sandbox import GRADER_LIB, PY_FLAGS, SUBMISSION, OutputTail, Sandbox, bwrap_args

REPLY_LIMIT = 4 << 20          # bytes of one cell's reply we keep (outputs are feedback only)
TEXT_LIMIT = 64 << 10
IMAGE_LIMIT = 1 << 20
START_TIMEOUT = 120.0          # importing IPython (and what the kernel preloads)


class KernelError(Exception):
    """The kernel died, hung past the deadline, or answered with malformed data.
    `.kind` is "timeout", "tampered" or "error"."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind, self.message = kind, message


class CallError(Exception):
    """An exported function raised (or a name is missing) inside the kernel."""

    def __init__(self, ename: str, message: str, kind: str, target: str = ""):
        super().__init__(f"{ename}: {message}" if message else ename)
        self.ename, self.message, self.kind, self.target = ename, message, kind, target


def command(sandbox: Sandbox, submission: Path, rfd: int, wfd: int) -> tuple[list[str], str]:
    limits = json.dumps(sandbox.limits.rlimits())
    if not sandbox.isolated:   # as the unprivileged user, in the student's private scratch folder
        script = str(sandbox.grader_lib / "autograder" / "engine" / "inside" / "kernel.py")
        return [sandbox.python, *PY_FLAGS, script, limits, str(submission), str(rfd), str(wfd)], \
            str(sandbox.scratch_dir())
    args = bwrap_args(sandbox.limits, sandbox.grader_lib, [("ro-bind", str(submission), SUBMISSION)],
                      {**sandbox.env(), "IPYTHONDIR": "/tmp/.ipython"})
    return [*args, sandbox.python, *PY_FLAGS, f"{GRADER_LIB}/autograder/engine/inside/kernel.py", limits, SUBMISSION,
            str(rfd), str(wfd)], "/"


class NotebookKernel:
    def __init__(self, sandbox: Sandbox, submission: Path):
        req_r, self.wfd = os.pipe()
        self.rfd, resp_w = os.pipe()
        out_r, out_w = os.pipe()
        cmd, cwd = command(sandbox, submission, req_r, resp_w)
        try:
            self.proc = sandbox.popen(cmd, stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w,
                                      pass_fds=[req_r, resp_w], cwd=cwd)
        finally:
            for fd in (req_r, resp_w, out_w):
                os.close(fd)
        os.set_blocking(self.wfd, False)
        self.log = OutputTail(out_r, 8 << 10)
        self.log.start()
        self.seq = 0
        self.dead: KernelError | None = None
        reply, _ = self._recv(time.monotonic() + START_TIMEOUT, "starting the kernel")
        if reply.get("ready") is not True:
            self._fail("tampered", "the notebook kernel answered with malformed data")

    # -- transport -------------------------------------------------------------------------
    def _fail(self, kind: str, message: str):
        self.close()
        self.dead = KernelError(kind, message)
        raise self.dead

    def _recv(self, deadline: float, doing: str) -> tuple[dict, list[bytes]]:
        try:
            return wire.recv(self.rfd, deadline=deadline)
        except TimeoutError:
            self._fail("timeout", f"the notebook ran past its time limit (while {doing})")
        except EOFError:
            self.close()
            self._fail("error", f"the notebook kernel ended (exit status {self.proc.returncode}) while {doing}; "
                                "do not call sys.exit/os._exit or use all the memory in a cell")
        except (wire.ProtocolError, ValueError) as e:
            self._fail("tampered", f"the notebook kernel sent malformed data ({e})")

    def request(self, msg: dict, blobs: list[bytes], deadline: float, doing: str) -> tuple[dict, list[bytes]]:
        if self.dead is not None:
            raise self.dead
        self.seq += 1
        try:
            wire.send(self.wfd, {**msg, "seq": self.seq}, blobs, deadline=deadline)
        except TimeoutError:
            self._fail("timeout", f"the notebook ran past its time limit (while {doing})")
        except OSError:
            self._recv(deadline, doing)       # reports why the kernel is gone
            self._fail("error", f"the notebook kernel ended while {doing}")
        reply, rblobs = self._recv(deadline, doing)
        if reply.get("seq") != self.seq:
            self._fail("tampered", "the notebook kernel answered out of turn")
        return reply, rblobs

    # -- what notebooks.py uses ------------------------------------------------------------
    def run_cell(self, source: str, timeout: float, deadline: float, name: str) -> dict:
        """{"outputs": [nbformat outputs], "error": {ename, evalue, kind} | None, "timed_out": bool}."""
        budget = max(0.001, min(timeout, deadline - time.monotonic()))
        start = time.monotonic()
        reply, _ = self.request({"op": "run", "source": source, "timeout": budget}, [], deadline,
                                f"running cell {name}")
        return clean_cell_reply(reply, timed_out=time.monotonic() - start >= budget)

    def call(self, op: str, target, args: tuple, kwargs: dict, deadline: float, doing: str):
        node, blobs = wire.encode([list(args), kwargs])
        budget, start = max(0.001, deadline - time.monotonic()), time.monotonic()
        msg = {"op": op, "target": target, "args": node["v"][0], "kwargs": node["v"][1], "timeout": budget}
        reply, rblobs = self.request(msg, blobs, deadline, doing)
        if reply.get("ok") is True:
            try:
                return wire.decode(reply.get("value"), rblobs, make_handle=self._handle)
            except wire.ProtocolError as e:
                self._fail("tampered", f"the notebook kernel sent malformed data ({e})")
        err = reply.get("error")
        if not isinstance(err, dict):
            self._fail("tampered", "the notebook kernel answered with malformed data")
        raise CallError(str(err.get("ename", "Exception"))[:100], str(err.get("evalue", ""))[:2000],
                        observed_kind(err.get("kind"), time.monotonic() - start >= budget),
                        target if isinstance(target, str) else str(target.get("attr", "")))

    def _handle(self, hid: int, type_name: str, sub: str | None) -> wire.Handle:
        return wire.Handle(hid, type_name, sub, origin=id(self))

    def close(self) -> None:
        for fd in (self.wfd, self.rfd):
            try:
                os.close(fd)
            except OSError:
                pass
        self.wfd = self.rfd = -1
        close_process(self.proc)
        self.log.join(2)


# ----------------------------------------------------------------------------- validation

def _text(v, limit: int = TEXT_LIMIT) -> str:
    if isinstance(v, list):
        v = "".join(x for x in v if isinstance(x, str))
    return v[:limit] if isinstance(v, str) else ""


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_data(png) -> str | None:
    """A PNG as canonical base64, or None. nbconvert writes the string into an <img src="...">
    attribute unescaped, and a lenient base64 decoder skips quotes and tags: so the bytes are
    decoded strictly, must be a PNG, and are encoded again here."""
    if not isinstance(png, str) or len(png) > IMAGE_LIMIT:
        return None
    try:
        raw = base64.b64decode("".join(png.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return base64.b64encode(raw).decode("ascii") if raw.startswith(PNG_MAGIC) else None


def clean_outputs(outputs) -> list[dict]:
    """Only stream text and plain-text/PNG displays, bounded: a student's string stays text
    (no HTML, Markdown, LaTeX or JavaScript ever reaches the feedback page)."""
    out, size = [], 0
    for o in outputs if isinstance(outputs, list) else []:
        if not isinstance(o, dict) or size > REPLY_LIMIT:
            continue
        if o.get("output_type") == "stream" and o.get("name") in ("stdout", "stderr"):
            item = {"output_type": "stream", "name": o["name"], "text": _text(o.get("text"))}
        elif o.get("output_type") == "display_data" and isinstance(o.get("data"), dict):
            data = {"text/plain": _text(o["data"].get("text/plain"))}
            png = png_data(o["data"].get("image/png"))
            if png is not None:
                data["image/png"] = png
            item = {"output_type": "display_data", "data": data, "metadata": {}}
        else:
            continue
        size += len(json.dumps(item))
        out.append(item)
    return out


def observed_kind(claimed, timed_out: bool) -> str:
    """The kind of a kernel's error as the trusted side may state it. The kernel runs student
    code, so its reply is a claim: "timeout" only when this side's clock saw the budget used
    up (then whatever the reply says), "memory" only from how the process ended; the rest is
    the student's own exception."""
    if timed_out:
        return "timeout"
    return claimed if claimed in REPLY_KINDS else "error"


def clean_cell_reply(reply: dict, timed_out: bool) -> dict:
    """A cell's reply, bounded, with `timed_out` from the trusted side's clock, never the kernel's."""
    err = reply.get("error")
    error = None
    if isinstance(err, dict):
        error = {"ename": _text(err.get("ename"), 100) or "Error", "evalue": _text(err.get("evalue"), 2000),
                 "traceback": _text(err.get("traceback"), 4000), "kind": observed_kind(err.get("kind"), timed_out)}
    return {"outputs": clean_outputs(reply.get("outputs")), "error": error, "timed_out": timed_out}
