"""A cap on the number of processes and threads one sandbox may hold (a pids cgroup).

Why: RLIMIT_NPROC is not enforced for root, and when the grader runs as root the sandbox's
user is root outside its namespace. Without another cap, one submission that starts threads
until it fails would take every pid of the machine (pid_max is often 32768), and with them
the grading of the whole class. seccomp cannot count, so the kernel's pids controller does
it: each sandbox is started inside a fresh cgroup whose `pids.max` is `Limits.max_pids`.

Where no pids controller can be written (not root, a container without a writable cgroup
file system), `enter()` returns the command unchanged and `available()` says why: the
sandbox still has RLIMIT_NPROC, which holds wherever the grader does not run as root.
"""
from __future__ import annotations

import itertools
import os
import signal
import subprocess
from pathlib import Path

V1 = Path("/sys/fs/cgroup/pids")
V2 = Path("/sys/fs/cgroup")
_COUNTER = itertools.count()


def _root() -> Path | None:
    """A pids hierarchy this process may make cgroups in, or None."""
    if (V1 / "cgroup.procs").is_file() and os.access(V1, os.W_OK):
        return V1
    try:
        v2 = "pids" in (V2 / "cgroup.subtree_control").read_text().split()
    except OSError:
        v2 = False
    if v2 and os.access(V2, os.W_OK):
        return V2
    return None


def available() -> str | None:
    """None when sandboxes get a pids cap here, else one line saying why not."""
    return None if _root() is not None else "no writable pids cgroup (the thread cap is RLIMIT_NPROC only)"


class PidsCap:
    """One sandbox's cgroup: made before it starts, removed once it has ended."""

    def __init__(self, max_pids: int):
        root = _root()
        self.path: Path | None = None
        if root is None or max_pids <= 0:
            return
        path = root / f"vitlab-{os.getpid()}-{next(_COUNTER)}"
        try:
            path.mkdir()
            (path / "pids.max").write_text(f"{int(max_pids)}\n")
        except OSError:
            self._remove(path)
            return
        self.path = path

    def wrap(self, cmd: list[str]) -> list[str]:
        """`cmd`, started by a shell that first moves itself into the cgroup, so every process
        and thread of the sandbox is counted from its first instruction (no race, no
        preexec_fn in a threaded parent)."""
        if self.path is None:
            return cmd
        return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', str(self.path / "cgroup.procs"), *cmd]

    def close(self) -> None:
        if self.path is not None:
            self._remove(self.path)
            self.path = None

    @staticmethod
    def _remove(path: Path) -> None:
        try:
            path.rmdir()        # empty once the sandbox's processes have all ended
        except OSError:
            pass


def close_process(proc: subprocess.Popen, wait_s: float = 10.0) -> None:
    """End a process that `Sandbox.popen` started (its whole process group: bubblewrap and,
    through --die-with-parent and the PID namespace, everything inside), then its cap."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(wait_s)
    except subprocess.TimeoutExpired:
        pass
    proc.pids_cap.close()
