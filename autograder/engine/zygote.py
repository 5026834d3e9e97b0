"""A per-student process inside the sandbox that forks one worker per task.

Starting Python and importing numpy (and torch) costs far more than grading a small task,
so each student's sandbox starts this process once; it imports the heavy libraries, then
forks a fresh worker for every task. It never imports or runs student code itself.

Run as `python -I -u zygote.py CTL_FD PRELOAD_JSON`. The control socket (AF_UNIX,
SOCK_SEQPACKET) carries one JSON message per packet:

    {"op": "spawn"} + 3 fds (requests, replies, output)  -> {"pid": n}
    {"op": "wait", "pid": n, "timeout": s}              -> {"pid": n, "status": code or null}
    {"op": "kill", "pid": n}                             -> {"pid": n, "status": code}
    {"op": "exit"}                                       -> {"cpu_s": seconds}, then it ends

A forked worker lowers its own rlimits and installs the no-new-processes seccomp filter
(worker.confine) before it imports any student module.
"""
from __future__ import annotations

import importlib
import json
import os
import resource
import signal
import socket
import sys
import time

GRADER_LIB = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _child(ctl: socket.socket, fds: list[int]) -> None:
    rfd, wfd, out = fds
    ctl.close()
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    from autograder.engine import worker
    code = 0
    try:
        worker.run(rfd, wfd)
    except BaseException:  # noqa: BLE001 - the grader sees the pipe close and the status
        code = 70
    os._exit(code)


def _wait(pid: int, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.005)


def serve(ctl: socket.socket) -> None:
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(ctl, 4096, 3)
        except OSError:
            return
        if not data:
            return
        msg = json.loads(data)
        op = msg.get("op")
        if op == "spawn" and len(fds) == 3:
            pid = os.fork()
            if pid == 0:
                _child(ctl, fds)
            for fd in fds:
                os.close(fd)
            reply = {"pid": pid}
        elif op == "wait":
            reply = {"pid": msg["pid"], "status": _wait(int(msg["pid"]), float(msg.get("timeout", 0)))}
        elif op == "exit":   # report CPU seconds (for benchmarks), then end
            own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
            ctl.send(json.dumps({"cpu_s": cpu}).encode())
            return
        elif op == "kill":
            try:
                os.kill(int(msg["pid"]), signal.SIGKILL)
            except ProcessLookupError:
                pass
            reply = {"pid": msg["pid"], "status": _wait(int(msg["pid"]), 10.0)}
        else:
            for fd in fds:
                os.close(fd)
            reply = {"error": f"bad request {str(op)[:40]}"}
        ctl.send(json.dumps(reply).encode())


def main(argv: list[str]) -> None:
    sys.path.insert(0, GRADER_LIB)
    ctl = socket.socket(fileno=int(argv[1]))
    for name in json.loads(argv[2]):
        importlib.import_module(name)
    from autograder.engine import wire, worker  # noqa: F401  (imported once, before forking)
    ctl.send(json.dumps({"ready": True}).encode())
    serve(ctl)


if __name__ == "__main__":
    main(sys.argv)
