"""A per-student process inside the sandbox that forks one worker per task.

Starting Python and importing numpy (and torch) costs far more than grading a small task,
so each student's sandbox starts this process once; it imports the heavy libraries, then
forks a fresh worker for every task. It never imports or runs student code itself.

Run as `python -I -u zygote.py CTL_FD PRELOAD_JSON SCRATCH_JSON` (SCRATCH_JSON: the folders
emptied before each worker; outside bubblewrap, the student's private scratch folder only). The control socket (AF_UNIX,
SOCK_SEQPACKET) carries one JSON message per packet:

    {"op": "spawn"} + 3 fds (requests, replies, output)  -> {"pid": n}
    {"op": "wait", "pid": n, "timeout": s}              -> {"pid": n, "status": code or null}
    {"op": "kill", "pid": n}                             -> {"pid": n, "status": code}
    {"op": "exit"}                                       -> {"cpu_s": seconds}, then it ends

A forked worker lowers its own rlimits and installs the seccomp filter (worker.confine)
before it imports any student module.

Each task must start from a state no earlier task's code could touch, so the zygote is a
parent no worker can use (trust boundary: every worker is hostile):
- it is not dumpable, so a worker (same uid) cannot open /proc/<zygote>/mem, environ or
  fd/ (ptrace and process_vm_* are also refused by the workers' seccomp filter);
- it runs one worker at a time: before forking the next one it kills and reaps every
  earlier child, then empties the writable places (/tmp, /dev/shm) so no file of an
  earlier task survives; SysV IPC, POSIX message queues and keyrings are refused by the
  filter, so no kernel-held object survives either;
- a worker keeps only its three pipes: every other descriptor is closed before any of
  its code runs.
"""
from __future__ import annotations

import ctypes
import fcntl
import importlib
import json
import os
import resource
import shutil
import signal
import socket
import sys
import time

GRADER_LIB = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


SCRATCH = ("/tmp", "/dev/shm")   # the places a worker can write inside bubblewrap
PR_SET_DUMPABLE = 4


def _not_dumpable() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")


def _child(ctl: socket.socket, fds: list[int]) -> None:
    ctl.close()
    rfd, wfd, out = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in fds)   # above 0-4, so no dup2 clobbers one
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.dup2(rfd, 3)
    os.dup2(wfd, 4)
    os.closerange(5, resource.getrlimit(resource.RLIMIT_NOFILE)[0])   # the zygote's own, and the copies
    rfd, wfd = 3, 4
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    from autograder.engine import worker
    code = 0
    try:
        worker.run(rfd, wfd)
    except BaseException:  # noqa: BLE001 - the grader sees the pipe close and the status
        code = 70
    os._exit(code)


def _wait(pid: int, timeout: float) -> int | None:
    if pid not in _CHILDREN:   # only our own workers: never a pid the grader did not get from us
        return None
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            _CHILDREN.discard(pid)
            return None
        if done:
            _CHILDREN.discard(pid)
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.005)


def _reap_all() -> None:
    """Kill and reap every earlier worker: at most one task's code is ever alive."""
    for pid in list(_CHILDREN):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        _CHILDREN.discard(pid)


def _wipe(roots: tuple[str, ...]) -> None:
    """Empty the writable places, whatever an earlier worker left there (read-only dirs included)."""
    for root in roots:
        if not os.path.isdir(root) or not os.access(root, os.W_OK):
            continue
        for entry in os.listdir(root):
            path = os.path.join(root, entry)
            if os.path.isdir(path) and not os.path.islink(path):
                for d, _, _ in os.walk(path):
                    try:
                        os.chmod(d, 0o700)
                    except OSError:
                        pass
                shutil.rmtree(path, ignore_errors=True)
            else:
                try:
                    os.unlink(path)
                except OSError:
                    pass


_CHILDREN: set[int] = set()


def serve(ctl: socket.socket, scratch: tuple[str, ...]) -> None:
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
            _reap_all()
            _wipe(scratch)
            pid = os.fork()
            if pid == 0:
                _child(ctl, fds)
            _CHILDREN.add(pid)
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
            if int(msg["pid"]) in _CHILDREN:
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
    _not_dumpable()
    sys.path.insert(0, GRADER_LIB)
    ctl = socket.socket(fileno=int(argv[1]))
    for name in json.loads(argv[2]):
        importlib.import_module(name)
    from autograder.engine import wire, worker  # noqa: F401  (imported once, before forking)
    ctl.send(json.dumps({"ready": True}).encode())
    serve(ctl, tuple(json.loads(argv[3])))


if __name__ == "__main__":
    main(sys.argv)
