"""A per-student process inside the sandbox that forks one worker per task.

Starting Python and importing numpy (and torch) costs far more than grading a small task,
so each student's sandbox starts this process once; it imports the heavy libraries, then
forks a fresh worker for every task. It never imports or runs student code itself.

Run as `python -I -u zygote.py CTL_FD PRELOAD_JSON PLACES_JSON`. PLACES_JSON is
{"scratch": [folders], "fresh_namespaces": bool, "tmp_size": bytes}: inside bubblewrap each
worker gets new namespaces and a new tmpfs on every scratch folder (freshns.py); outside it,
the scratch folder (the student's private one) is emptied before each worker. The control
socket (AF_UNIX, SOCK_SEQPACKET) carries one JSON message per packet:

    {"op": "spawn"} + 3 fds (requests, replies, output)  -> {"pid": n} or {"dirty": why}, then it ends
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
  earlier child. Inside bubblewrap each worker then starts in a new mount, network and IPC
  namespace with a new, empty tmpfs on /tmp and /dev/shm (everything else is read-only), so
  no file, tmpfs attribute, socket or IPC object of an earlier task exists for it; outside
  bubblewrap the scratch folder is emptied instead. SysV IPC, POSIX message queues and
  keyrings are refused by the filter too;
- workers cannot signal it or change its limits, priority or CPU set (seccomp.py), and it
  checks before every fork that these are as they were; when it cannot make the sandbox
  fresh (that, or a scratch space too deep or too full to empty in WIPE_S seconds) it
  answers "dirty" and ends, and the trusted side starts a new sandbox;
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

GRADER_LIB = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


SCRATCH = ("/tmp", "/dev/shm")   # the places a worker can write inside bubblewrap
PR_SET_DUMPABLE = 4


def _not_dumpable() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")


def _child(ctl: socket.socket, fds: list[int], places: dict) -> None:
    ctl.close()
    if places["fresh_namespaces"]:
        _enter_fresh(places)
    rfd, wfd, out = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in fds)   # above 0-4, so no dup2 clobbers one
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.dup2(rfd, 3)
    os.dup2(wfd, 4)
    os.closerange(5, resource.getrlimit(resource.RLIMIT_NOFILE)[0])   # the zygote's own, and the copies
    rfd, wfd = 3, 4
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from autograder.engine.inside import worker
    code = 0
    try:
        worker.run(rfd, wfd)
    except BaseException:  # noqa: BLE001 - the grader sees the pipe close and the status
        code = 70
    os._exit(code)


def _enter_fresh(places: dict) -> None:
    """New namespaces and scratch tmpfs for this task, or exit before any task code runs."""
    from autograder.engine.inside import freshns
    try:
        freshns.enter(places["scratch"], int(places["tmp_size"]))
    except OSError as e:
        os.write(2, f"the task's worker could not get fresh namespaces: {e}\n".encode())
        os._exit(71)


def _self_check(places: dict) -> None:
    """Before the first task: a worker can really be made fresh here, or the sandbox ends
    with the reason (the trusted side reports it; no task runs half-isolated)."""
    if not places["fresh_namespaces"]:
        return
    pid = os.fork()
    if pid == 0:
        _enter_fresh(places)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(71)


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


class Dirty(Exception):
    """This sandbox cannot be made fresh for the next task: the trusted side starts a new one."""


WIPE_S = 5   # seconds the zygote may spend emptying the scratch space before it gives up


def _fresh(roots: tuple[str, ...], baseline: dict, keep: set[str]) -> None:
    """Make the sandbox as new for the next worker, or raise Dirty. Files are deleted; the
    zygote's own kernel-held state (which its children inherit) must be what it was at start:
    the seccomp filter and the read-only /proc keep workers from changing it, this proves it."""
    if _state() != baseline:
        raise Dirty("the sandbox's process state changed")
    def late(*_):
        raise Dirty(f"emptying the scratch space took over {WIPE_S} s")
    old = signal.signal(signal.SIGALRM, late)
    signal.alarm(WIPE_S)
    try:
        _wipe(roots, keep)
    except Dirty:
        raise
    except BaseException as e:  # noqa: BLE001 - e.g. RecursionError in a very deep tree
        raise Dirty(f"the scratch space could not be emptied ({type(e).__name__})") from None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    try:
        left = _leftover(roots, keep)
    except OSError as e:   # e.g. a scaffold folder a worker made unreadable
        raise Dirty(f"the scratch space could not be checked ({type(e).__name__})") from None
    if left:
        raise Dirty(f"the scratch space could not be emptied ({left[:100]})")


def _state() -> dict:
    """What a child inherits from the zygote besides memory and files: limits, priority, CPU
    set, scheduling, host name."""
    limits = {n: resource.getrlimit(getattr(resource, n)) for n in dir(resource) if n.startswith("RLIMIT_")}
    return {"limits": limits, "nice": os.getpriority(os.PRIO_PROCESS, 0), "cpus": os.sched_getaffinity(0),
            "sched": os.sched_getscheduler(0), "uname": os.uname()}


def _scaffold(roots: tuple[str, ...]) -> set[str]:
    """What the scratch places hold before any worker ran: the folders bubblewrap made for
    binds on top of the tmpfs (a Python installed under /tmp), which stay; nothing below a
    mount point is listed (it is not scratch)."""
    keep = set()
    for root in roots:
        if not os.path.isdir(root):
            continue
        dev = os.lstat(root).st_dev
        for folder, dirs, files in os.walk(root):
            keep.update(os.path.join(folder, name) for name in dirs + files)
            dirs[:] = [d for d in dirs if os.lstat(os.path.join(folder, d)).st_dev == dev]
    return keep


def _wipe(roots: tuple[str, ...], keep: set[str] = frozenset()) -> None:
    """Empty the writable places, whatever an earlier worker left there (read-only dirs
    included), but for the scaffold in `keep`, whose own contents are emptied the same way."""
    for root in roots:
        if not os.path.isdir(root) or not os.access(root, os.W_OK):
            continue
        for entry in os.listdir(root):
            path = os.path.join(root, entry)
            if path in keep:
                if os.path.isdir(path) and not os.path.islink(path) and not os.path.ismount(path):
                    _wipe((path,), keep)
            elif os.path.isdir(path) and not os.path.islink(path):
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


def _leftover(roots: tuple[str, ...], keep: set[str]) -> str | None:
    """The first path in the scratch places that is neither gone nor scaffold."""
    for root in roots:
        if not os.path.isdir(root) or not os.access(root, os.W_OK):
            continue
        for entry in os.listdir(root):
            path = os.path.join(root, entry)
            if path not in keep:
                return path
            if os.path.isdir(path) and not os.path.islink(path) and not os.path.ismount(path):
                found = _leftover((path,), keep)
                if found:
                    return found
    return None


_CHILDREN: set[int] = set()


def serve(ctl: socket.socket, places: dict) -> None:
    # with fresh namespaces each worker gets its own tmpfs: there is nothing to empty
    scratch = () if places["fresh_namespaces"] else tuple(places["scratch"])
    baseline, keep = _state(), _scaffold(scratch)
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
            try:
                _fresh(scratch, baseline, keep)
            except Dirty as e:   # say why, then end: the trusted side starts a new sandbox
                for fd in fds:
                    os.close(fd)
                ctl.send(json.dumps({"dirty": str(e)[:200]}).encode())
                return
            pid = os.fork()
            if pid == 0:
                _child(ctl, fds, places)
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
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # no KeyboardInterrupt here, whoever sends it
    sys.path.insert(0, GRADER_LIB)
    ctl = socket.socket(fileno=int(argv[1]))
    for name in json.loads(argv[2]):
        importlib.import_module(name)
    from autograder.engine.inside import wire, worker  # noqa: F401  (imported once, before forking)
    places = json.loads(argv[3])
    _self_check(places)
    ctl.send(json.dumps({"ready": True}).encode())
    serve(ctl, places)


if __name__ == "__main__":
    main(sys.argv)
