"""Start a sandboxed worker process and talk to it (trusted side).

The worker runs `python -I worker.py` inside bubblewrap: new user, PID, network, IPC and
mount namespaces, a read-only view of only what Python needs, a size-capped /tmp as the
one writable place, a seccomp filter that forbids new processes, and rlimits (address
space, CPU seconds, processes, file size, open files). Its stdout/stderr go to a pipe
that keeps only the head and tail (a student printing 100 MB costs nothing); requests and
replies use two other pipes (wire.py). Without bubblewrap the worker runs with the
rlimits and the seccomp filter alone, and `Sandbox.isolated` is False so the gradebook
can say so.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder.engine import seccomp, wire

ENGINE_DIR = Path(__file__).resolve().parent
WORKER_FILES = ("__init__.py", "wire.py", "worker.py", "seccomp.py", "kernel.py")
GRADER_LIB = "/opt/grader"       # engine + harness, inside the sandbox
SUBMISSION = "/submission"       # the student's files, read-only
REFERENCE = "/opt/reference"     # the reference variant for the task being graded
SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin")
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
             "/etc/localtime", "/etc/nsswitch.conf")
GiB = 1 << 30


@dataclass
class Limits:
    address_space: int = 4 * GiB     # RLIMIT_AS; `import torch` needs ~2 GiB of it
    cpu_s: int = 600                 # RLIMIT_CPU (the wall-clock timeout is usually first)
    nproc: int = 64                  # RLIMIT_NPROC (not enforced for root; seccomp is)
    file_size: int = 64 << 20        # RLIMIT_FSIZE: largest file the student may write
    open_files: int = 256            # RLIMIT_NOFILE
    tmp_size: int = 256 << 20        # size of the writable tmpfs
    output_keep: int = 16 << 10      # bytes of stdout/stderr kept at the head and the tail

    def rlimits(self) -> dict[str, int]:
        """Applied by the worker to itself before it imports any student code."""
        return {"RLIMIT_AS": self.address_space, "RLIMIT_CPU": self.cpu_s,
                "RLIMIT_NPROC": self.nproc, "RLIMIT_FSIZE": self.file_size,
                "RLIMIT_NOFILE": self.open_files, "RLIMIT_CORE": 0}


def bwrap_path() -> str | None:
    path = os.environ.get("VITLAB_BWRAP", shutil.which("bwrap") or "")
    return path if path and os.access(path, os.X_OK) else None


_PROBE: dict[str, str | None] = {}


def probe_bwrap() -> str | None:
    """Return None if bubblewrap works here, else a reason (cached per process)."""
    if "r" in _PROBE:
        return _PROBE["r"]
    if os.environ.get("VITLAB_NO_SANDBOX") == "1":
        reason = "disabled by VITLAB_NO_SANDBOX=1"
    elif (path := bwrap_path()) is None:
        reason = "bubblewrap (bwrap) is not installed"
    else:
        cmd = [path, *_namespaces(), *_system_binds(), "/bin/true"]
        try:
            r = subprocess.run(cmd, capture_output=True, timeout=20)
            reason = None if r.returncode == 0 else f"bwrap failed: {r.stderr.decode(errors='replace')[:300]}"
        except (OSError, subprocess.TimeoutExpired) as e:
            reason = f"bwrap failed: {e}"
    _PROBE["r"] = reason
    return reason


def _namespaces() -> list[str]:
    return ["--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534",
            "--die-with-parent", "--new-session", "--proc", "/proc", "--dev", "/dev"]


def _system_binds() -> list[str]:
    args = []
    for d in SYSTEM_DIRS + ETC_FILES:
        if os.path.lexists(d):
            args += ["--ro-bind-try", d, d]
    return args


def stage_grader_lib(dest: Path, harness_dir: Path) -> Path:
    """Copy what the worker may see (engine wire/worker, harness) into `dest/autograder`."""
    lib = dest / "autograder"
    (lib / "engine").mkdir(parents=True, exist_ok=True)
    (lib / "__init__.py").write_text("")
    for name in WORKER_FILES:
        shutil.copy2(ENGINE_DIR / name, lib / "engine" / name)
    if harness_dir.is_dir():
        shutil.copytree(harness_dir, lib / "harness", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    else:
        (lib / "harness").mkdir(exist_ok=True)
        (lib / "harness" / "__init__.py").write_text("")
    return dest


@dataclass
class Sandbox:
    """How to start workers for one grading run."""
    grader_lib: Path                  # made by stage_grader_lib
    limits: Limits = field(default_factory=Limits)
    isolated: bool = True             # False: bubblewrap unavailable, rlimits only
    python: str = sys.executable

    def command(self, submission: Path, reference: Path | None, fds: tuple[int, int],
                seccomp_fd: int | None) -> tuple[list[str], dict, str]:
        worker = ["-I", "-u", "-X", "utf8"]
        env = {"HOME": "/tmp", "TMPDIR": "/tmp", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
               "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1", "MPLBACKEND": "Agg",
               "PYTHONHASHSEED": "0"}
        if not self.isolated:
            script = str(self.grader_lib / "autograder" / "engine" / "worker.py")
            return [self.python, *worker, script, *map(str, fds)], env, str(submission)
        args = [bwrap_path(), *_namespaces(), *_system_binds()]
        prefixes = sorted({os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), sys.prefix})
        for p in prefixes:
            args += ["--ro-bind", p, p]
        args += ["--ro-bind", str(self.grader_lib), GRADER_LIB, "--ro-bind", str(submission), SUBMISSION]
        if reference is not None:
            args += ["--ro-bind", str(reference), REFERENCE]
        args += ["--size", str(self.limits.tmp_size), "--tmpfs", "/tmp", "--chdir", "/tmp",
                 "--hostname", "sandbox", "--clearenv"]
        for k, v in env.items():
            args += ["--setenv", k, v]
        if seccomp_fd is not None:
            args += ["--seccomp", str(seccomp_fd)]
        script = f"{GRADER_LIB}/autograder/engine/worker.py"
        return [*args, self.python, *worker, script, *map(str, fds)], env, "/"

    def paths(self, submission: Path, reference: Path | None) -> tuple[str, str | None]:
        """Where the worker sees the submission and the reference."""
        if self.isolated:
            return SUBMISSION, REFERENCE if reference is not None else None
        return str(submission), str(reference) if reference is not None else None

    def start(self, submission: Path, reference: Path | None) -> "WorkerProcess":
        return WorkerProcess(self, submission, reference)


class OutputTail(threading.Thread):
    """Drain a pipe, keeping the first and last `keep` bytes and counting the rest."""

    def __init__(self, fd: int, keep: int):
        super().__init__(daemon=True)
        self.fd, self.keep = fd, keep
        self.head, self.tail, self.total = bytearray(), bytearray(), 0

    def run(self) -> None:
        try:
            while chunk := os.read(self.fd, 1 << 16):
                self.total += len(chunk)
                room = self.keep - len(self.head)
                if room > 0:
                    self.head += chunk[:room]
                    chunk = chunk[room:]
                if chunk:
                    self.tail = (self.tail + chunk)[-self.keep:]
        except OSError:
            pass
        finally:
            os.close(self.fd)

    def text(self) -> str:
        head = self.head.decode("utf-8", errors="replace")
        if not self.tail:
            return head
        dropped = self.total - len(self.head) - len(self.tail)
        cut = f"\n[... {dropped} bytes of output not shown ...]\n" if dropped > 0 else ""
        return head + cut + self.tail.decode("utf-8", errors="replace")


class WorkerDied(Exception):
    def __init__(self, returncode: int | None, detail: str = ""):
        self.returncode = returncode
        how = (f"was killed by signal {signal.Signals(-returncode).name}" if returncode and returncode < 0
               else f"exited with status {returncode}")
        super().__init__(f"the student's process {how}{detail}")


class WorkerProcess:
    """One sandboxed worker: `request()` sends a message and waits for the reply."""

    def __init__(self, sandbox: Sandbox, submission: Path, reference: Path | None):
        self.sandbox = sandbox
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        out_r, out_w = os.pipe()
        sc_fd = _seccomp_fd() if sandbox.isolated else None
        cmd, env, cwd = sandbox.command(submission, reference, (req_r, resp_w), sc_fd)
        keep = [req_r, resp_w] + ([sc_fd] if sc_fd is not None else [])
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w,
                                         pass_fds=keep, env=env, cwd=cwd, start_new_session=True)
        finally:
            for fd in keep + [out_w]:
                os.close(fd)
        self.wfd, self.rfd = req_w, resp_r
        os.set_blocking(self.wfd, False)
        self.output = OutputTail(out_r, sandbox.limits.output_keep)
        self.output.start()
        self.killed_by_us = False

    def request(self, header: dict, blobs: list[bytes], deadline: float) -> tuple[dict, list[bytes]]:
        """Send and wait; TimeoutError past `deadline`, WorkerDied if the process ends."""
        try:
            wire.send(self.wfd, header, blobs, deadline=deadline)
            return wire.recv(self.rfd, deadline=deadline)
        except (EOFError, BrokenPipeError):
            code = self._wait_exit()
            raise WorkerDied(code) from None

    def _wait_exit(self, grace: float = 2.0) -> int | None:
        try:
            return self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.proc.returncode

    def kill(self) -> None:
        """Kill the whole sandbox: bwrap's process group; --die-with-parent and the PID
        namespace take every process inside with it."""
        if self.proc.poll() is None:
            self.killed_by_us = True
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        for fd in (self.wfd, self.rfd):
            try:
                os.close(fd)
            except OSError:
                pass
        self.wfd = self.rfd = -1
        self.output.join(2)

    def close(self) -> None:
        self.kill()


def _seccomp_fd() -> int | None:
    if not seccomp.supported():
        return None
    fd = os.memfd_create("vitlab-seccomp", 0)
    os.write(fd, seccomp.program())
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
