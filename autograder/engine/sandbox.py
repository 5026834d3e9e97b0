"""Start sandboxed worker processes and talk to them (trusted side).

Per student, one bubblewrap sandbox runs `python -I zygote.py`: new user, PID, network,
IPC and mount namespaces, a read-only view of only what Python needs plus the student's
files, and a size-capped /tmp as the one writable place. The zygote imports numpy (and
torch) once and forks a fresh worker per task; each worker lowers its rlimits (address
space, CPU seconds, processes, file size, open files) and installs a seccomp filter that
forbids new processes before it imports any student code. A worker's stdout/stderr go to
a pipe that keeps only the head and tail (a student printing 100 MB costs nothing);
requests and replies use two other pipes (wire.py). Without bubblewrap the zygote runs
unsandboxed with the same per-worker limits, and `Sandbox.isolated` is False so the
gradebook can say so: only when the instructor asks for it by name (--unsafe-no-sandbox),
only as root, and then every student process runs as the unprivileged user nobody, which
can write nothing the grader later imports or reads, and read none of the graders, the
reference, the other submissions or the results (`unsandboxed_problem` checks that first).
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from autograder.engine.pids import PidsCap
from autograder.engine.zygote_host import ForkedWorker, OutputTail, WorkerDied, Zygote, ZygoteDied

__all__ = ["ForkedWorker", "OutputTail", "WorkerDied", "ZygoteDied"]   # re-exported: callers know them from here

ENGINE_DIR = Path(__file__).resolve().parent
INSIDE_DIR = ENGINE_DIR / "inside"   # all the engine code a sandbox ever sees
GRADER_LIB = "/opt/grader"       # engine + harness, inside the sandbox
SUBMISSION = "/submission"       # the student's files, read-only
SCRATCH = ("/tmp", "/dev/shm")   # writable inside the sandbox; a new tmpfs for every task's worker
# Only the zygote's sandbox holds this, in its own user namespace, to give each worker new
# namespaces; the worker drops it before any task code runs (freshns.py). Kernels never get it.
ZYGOTE_CAPS = ["--cap-drop", "ALL", "--cap-add", "CAP_SYS_ADMIN"]
SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin")
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
             "/etc/localtime", "/etc/nsswitch.conf")
GiB = 1 << 30
UNPRIVILEGED = (65534, 65534)    # nobody:nogroup, who runs student code when bubblewrap cannot


@dataclass
class Limits:
    address_space: int = 4 * GiB     # RLIMIT_AS; `import torch` needs ~2 GiB of it
    cpu_s: int = 600                 # RLIMIT_CPU (the wall-clock timeout is usually first)
    nproc: int = 64                  # RLIMIT_NPROC (not enforced for root; seccomp is)
    max_pids: int = 512              # processes + threads of a whole sandbox (pids cgroup; see pids.py)
    file_size: int = 64 << 20        # RLIMIT_FSIZE: largest file the student may write
    open_files: int = 256            # RLIMIT_NOFILE
    tmp_size: int = 256 << 20        # size of the writable tmpfs
    output_keep: int = 16 << 10      # bytes of stdout/stderr kept at the head and the tail
    devices: tuple[str, ...] = ()    # device nodes bound in (a GPU's /dev/nvidia*); see gpu_devices
    cpu_share: int = 0               # CPU threads one sandbox may ask for (0: no cap); see env()
    hidden_packages: tuple[str, ...] = ()   # folders replaced by an empty one (autograd libraries in a1/a2)

    def rlimits(self) -> dict[str, int]:
        """Applied by the worker to itself before it imports any student code."""
        # CUDA reserves far more address space than it ever touches, so with a GPU the
        # memory bound moves from RLIMIT_AS to RLIMIT_DATA (private writable memory).
        memory = ({"RLIMIT_AS": resource.RLIM_INFINITY, "RLIMIT_DATA": self.address_space} if self.devices
                  else {"RLIMIT_AS": self.address_space})
        return {**memory, "RLIMIT_CPU": self.cpu_s, "RLIMIT_NPROC": self.nproc, "RLIMIT_FSIZE": self.file_size,
                "RLIMIT_NOFILE": self.open_files, "RLIMIT_CORE": 0}


def gpu_devices(dev: Path = Path("/dev")) -> tuple[str, ...]:
    """The NVIDIA device nodes of this machine (none without a GPU)."""
    return tuple(sorted(str(p) for p in dev.glob("nvidia*") if not p.is_dir()))


def bwrap_path() -> str | None:
    path = os.environ.get("VITLAB_BWRAP", shutil.which("bwrap") or "")
    return path if path and os.access(path, os.X_OK) else None


def reachable_by_others(path: Path) -> bool:
    """Could a user that is neither the owner nor in the group (nobody) read `path`? It needs
    search (x) permission on every folder above it."""
    path = Path(path).resolve()
    for folder in [*reversed(path.parents), path]:
        mode = folder.stat().st_mode
        need = stat.S_IXOTH if folder != path or folder.is_dir() else stat.S_IROTH
        if not mode & need or folder.stat().st_gid == UNPRIVILEGED[1] and not mode & stat.S_IXGRP:
            return False
    return True


def unsandboxed_problem(private: list[Path]) -> str | None:
    """Why student code may not run without bubblewrap here (None: it may, as nobody)."""
    if os.geteuid() != 0:
        return ("without bubblewrap student code must run as another user (nobody), which needs root; "
                "install bubblewrap instead")
    for p in (os.path.realpath(sys.executable), *python_prefixes()):
        if not reachable_by_others(Path(p)):
            return (f"the Python at {p} cannot be used by other users (a folder above it is private), so "
                    f"nobody could not run it; use a Python and venv installed where other users can read them")
    for p in private:
        if Path(p).exists() and reachable_by_others(p):
            return (f"{p} is readable by other users, so student code running as nobody could read it; "
                    f"make it private first (chmod o-rwx on it or a folder above it)")
    return None


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
        reason = _run_probe([path, *_namespaces(), *_system_binds(), "/bin/true"], "bwrap failed")
        if reason is None:   # the zygote's per-task namespaces need the same kernel features
            binds = [a for p in python_prefixes() for a in ("--ro-bind", p, p)]
            script = f"{GRADER_LIB}/freshns.py"
            reason = _run_probe([path, *_namespaces(), *_system_binds(), "--tmpfs", "/tmp", *binds,
                                 "--ro-bind", str(INSIDE_DIR / "freshns.py"), script, *ZYGOTE_CAPS,
                                 sys.executable, "-I", script], "a task cannot get fresh namespaces here")
    _PROBE["r"] = reason
    return reason


def _run_probe(cmd: list[str], what: str) -> str | None:
    try:
        r = subprocess.run(cmd, capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"{what}: {e}"
    return None if r.returncode == 0 else f"{what}: {r.stderr.decode(errors='replace')[:300]}"


def _namespaces() -> list[str]:
    # --as-pid-1: the sandboxed command itself is the PID namespace's init, so no helper
    # process of bubblewrap lives inside where student code could open /proc/1/mem
    return ["--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534", "--as-pid-1",
            "--die-with-parent", "--new-session", "--proc", "/proc", "--dev", "/dev"]


def _system_binds() -> list[str]:
    args = []
    for d in SYSTEM_DIRS + ETC_FILES:
        if os.path.lexists(d):
            args += ["--ro-bind-try", d, d]
    return args


def copy_inside(dest: Path) -> Path:
    """`dest/autograder/engine/inside/`: the engine's inside package and nothing else of it."""
    engine = dest / "autograder" / "engine"
    engine.mkdir(parents=True, exist_ok=True)
    for init in (dest / "autograder" / "__init__.py", engine / "__init__.py"):
        init.write_text("")
    shutil.copytree(INSIDE_DIR, engine / "inside", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def stage_grader_lib(dest: Path, harness_dir: Path) -> Path:
    """Copy what the worker may see (engine wire/worker, harness) into `dest/autograder`."""
    lib = copy_inside(dest) / "autograder"
    if harness_dir.is_dir():
        shutil.copytree(harness_dir, lib / "harness", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    else:
        (lib / "harness").mkdir(exist_ok=True)
        (lib / "harness" / "__init__.py").write_text("")
    return dest


ENV = {"HOME": "/tmp", "TMPDIR": "/tmp", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
       "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
       "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1", "MPLBACKEND": "Agg",
       "PYTHONHASHSEED": "0", "MALLOC_ARENA_MAX": "2"}   # per-thread malloc arenas eat address space
PY_FLAGS = ["-I", "-u", "-X", "utf8"]   # isolated (no PYTHONPATH, user site, script dir), unbuffered


def python_prefixes() -> list[str]:
    """The interpreter's and the venv's folders, as bound read-only into every sandbox."""
    return sorted({os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), sys.prefix})


# Last of the mount table: everything but the two size-capped tmpfs (/tmp, /dev/shm) is
# read-only. bubblewrap's own root, /dev and the folders it creates for mount points are
# writable tmpfs otherwise, which a task could use to leave files for the next one; and the
# sandbox's user is root's uid outside when the grader runs as root, so a writable /proc would
# let it write the host's global sysctls (kernel.core_pattern, ...), the zygote's
# oom_score_adj and the session's autogroup.
READ_ONLY = ["--remount-ro", "/proc", "--remount-ro", "/dev", "--remount-ro", "/"]


def bwrap_args(limits: Limits, grader_lib: Path, binds: list[tuple[str, str, str]], env: dict[str, str],
               chdir: str = "/tmp") -> list[str]:
    """bubblewrap's argv up to the command: the one place that builds a sandbox's mount table.

    `binds` are (bwrap option without dashes, host path, sandbox path), e.g.
    ("ro-bind", "/host/sub", "/submission"). The tmpfs goes first: a Python installed
    under /tmp (a course baked there), and any bind from under the host's /tmp, is mounted
    on top of it instead of being hidden by it."""
    args = [bwrap_path(), *_namespaces(), *_system_binds(), "--size", str(limits.tmp_size), "--tmpfs", "/tmp",
            "--size", str(limits.tmp_size), "--tmpfs", "/dev/shm"]
    for p in python_prefixes():
        args += ["--ro-bind", p, p]
    args += ["--ro-bind", str(grader_lib), GRADER_LIB]
    for folder in limits.hidden_packages:
        args += ["--tmpfs", folder]
    for option, src, dst in binds:
        args += [f"--{option}", src, dst]
    args += ["--chdir", chdir, "--hostname", "sandbox", "--clearenv"]
    for d in limits.devices:   # CUDA also reads the PCI topology under /sys
        args += ["--dev-bind", d, d]
    if limits.devices:
        args += ["--ro-bind-try", "/sys", "/sys"]
    args += READ_ONLY
    for k, v in env.items():
        args += ["--setenv", k, v]
    return args


@dataclass
class Sandbox:
    """How to start sandboxes for one student: one zygote, one forked worker per task."""
    grader_lib: Path                  # made by stage_grader_lib
    limits: Limits = field(default_factory=Limits)
    isolated: bool = True             # False: bubblewrap unavailable, rlimits + seccomp only
    python: str = sys.executable
    preload: tuple[str, ...] = ()     # imported once by the zygote (e.g. torch)
    run_as: tuple[int, int] | None = None   # without bubblewrap: the uid/gid student code runs as
    cpu_s: float = 0.0                # CPU seconds the sandboxes reported (benchmarks only)
    scratch: Path | None = None       # without bubblewrap: the student's private writable folder
    _zygote: "Zygote | None" = field(default=None, repr=False)

    def env(self) -> dict[str, str]:
        """The sandbox's whole environment. VITLAB_CPU_SHARE tells harness code how many threads
        it may use: students graded in parallel that each ask for every core oversubscribe the
        machine, and OpenMP's spinning threads then slow everyone down many times over."""
        env = dict(ENV)
        if not self.isolated:
            env["HOME"] = env["TMPDIR"] = str(self.scratch_dir())
        if self.limits.cpu_share > 0:
            env["VITLAB_CPU_SHARE"] = str(self.limits.cpu_share)
        return env

    def command(self, submission: Path, ctl_fd: int) -> tuple[list[str], str]:
        """argv and cwd of the zygote for `submission`."""
        preload = json.dumps(["numpy", *self.preload])
        if not self.isolated:
            script = str(self.grader_lib / "autograder" / "engine" / "inside" / "zygote.py")
            scratch = str(self.scratch_dir())
            places = {"scratch": [scratch], "fresh_namespaces": False, "tmp_size": 0}
            return [self.python, *PY_FLAGS, script, str(ctl_fd), preload, json.dumps(places)], scratch
        args = bwrap_args(self.limits, self.grader_lib, [("ro-bind", str(submission), SUBMISSION)], self.env())
        script = f"{GRADER_LIB}/autograder/engine/inside/zygote.py"
        places = {"scratch": list(SCRATCH), "fresh_namespaces": True, "tmp_size": self.limits.tmp_size}
        return [*args, *ZYGOTE_CAPS, self.python, *PY_FLAGS, script, str(ctl_fd), preload, json.dumps(places)], "/"

    def paths(self, submission: Path) -> str:
        """Where workers see the submission."""
        return SUBMISSION if self.isolated else str(submission)

    def scratch_dir(self) -> Path:
        """Outside bubblewrap: a private folder of the student's own, the one place it may write."""
        if self.scratch is None:
            self.scratch = Path(tempfile.mkdtemp(prefix="vitlab-scratch-"))
            if self.run_as is not None:
                os.chown(self.scratch, *self.run_as)
        return self.scratch

    def popen(self, cmd: list[str], **kw) -> subprocess.Popen:
        """Start a sandboxed process (a zygote or a notebook kernel) in its own session, under
        this sandbox's cap on processes and threads; `pids.close_process` ends it and the cap."""
        # as another user (no bubblewrap) RLIMIT_NPROC holds, and that user cannot join a cgroup
        cap = PidsCap(self.limits.max_pids if self.run_as is None else 0)
        try:
            proc = subprocess.Popen(cap.wrap(cmd), env=self.env(), start_new_session=True, **self.popen_user(), **kw)
        except BaseException:
            cap.close()
            raise
        proc.pids_cap = cap
        return proc

    def popen_user(self) -> dict:
        if self.run_as is None:
            return {}
        return {"user": self.run_as[0], "group": self.run_as[1], "extra_groups": []}

    def start(self, submission: Path) -> "ForkedWorker":
        """A fresh worker process for one task (the student's zygote is started once, and
        again when it cannot make its sandbox fresh for the next task: see zygote.py)."""
        for attempt in (1, 2):
            if self._zygote is None or not self._zygote.alive():
                if self._zygote is not None:
                    self._zygote.close()
                self._zygote = Zygote(self, submission)
            try:
                return self._zygote.spawn()
            except ZygoteDied:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._zygote is not None:
            self._zygote.close()
            self._zygote = None
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None
