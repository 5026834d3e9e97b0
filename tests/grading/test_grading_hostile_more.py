"""More hostile submissions against task isolation and the sandbox's edges.

Each task must start from a state no earlier task's code could touch, and no task may reach
outside its own process: not through a writable folder outside the scratch space, a sysctl
or the host name, the zygote's priority, CPU set or limits, a signal to the zygote, or a
scratch folder too deep or too full to empty in time. The probes below run in every task's
worker (at import) or inside task 1.1, then finish the task correctly: every task must still
be graded `passed`, and nothing one task set must be seen by the next.

Nothing here writes a sysctl that is not the sandbox's own (host name, domain name): that a
global one is not writable is checked with access(2) only.
"""
import os
import platform
import signal
import textwrap

import pytest

from grading_helpers import by_student, grade_tiny, make_submission, tiny_source

SOLVED = tiny_source()
ADD_BODY = "    out = a + b\n"

# runs at import, so once in every task's worker: report what an earlier task left, then leave it
CARRIER = '''
import os, resource, socket
def _carrier():
    ppid = os.getppid()
    seen = [p for p in ("/carry", "/etc/carry", "/opt/carry", "/dev/carry", "/proc/carry") if os.path.exists(p)]
    if socket.gethostname() != "sandbox":
        seen.append("hostname")
    try:
        if open("/proc/sys/kernel/domainname").read().strip() == "carried":
            seen.append("domainname")
    except OSError:
        pass
    if os.getpriority(os.PRIO_PROCESS, 0) != 0:
        seen.append("nice")
    try:
        if "nice 0" not in open("/proc/self/autogroup").read():
            seen.append("autogroup")
    except OSError:
        pass
    lim = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if lim == 77:
        seen.append("rlimit")
    try:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect("\\0vitlab-carry")
        seen.append("abstract-socket")
    except OSError:
        pass
    print("SEEN", seen)
    print("CPUS", len(os.sched_getaffinity(0)))
    print("SHARED_MAPS", [l.split()[-1] for l in open("/proc/self/maps") if l.split()[1][3] == "s" and "w" in l.split()[1]])
    print("SCRATCH_MB", [os.statvfs(p).f_blocks * os.statvfs(p).f_frsize >> 20 for p in ("/tmp", "/dev/shm")])
    print("SYSCTL_WRITABLE", [p for p in ("/proc/sys/kernel/core_pattern", "/proc/sys/vm/drop_caches",
                                          "/proc/sys/fs/file-max") if os.access(p, os.W_OK)])
    wrote = []
    for p in ("/carry", "/etc/carry", "/opt/carry", "/dev/carry", "/proc/carry"):
        try:
            open(p, "w").write("from an earlier task")
            wrote.append(p)
        except OSError:
            pass
    for p, v in (("/proc/sys/kernel/hostname", "carried"), ("/proc/sys/kernel/domainname", "carried"),
                 ("/proc/self/autogroup", "19"), (f"/proc/{ppid}/oom_score_adj", "1000")):
        try:
            with open(p, "w") as f:
                f.write(v)
            wrote.append(p)
        except OSError:
            pass
    for name, act in (("renice-parent", lambda: os.setpriority(os.PRIO_PROCESS, ppid, 19)),
                      ("renice-group", lambda: os.setpriority(os.PRIO_PGRP, 0, 19)),
                      ("renice-user", lambda: os.setpriority(os.PRIO_USER, os.getuid(), 19)),
                      ("prlimit-parent", lambda: resource.prlimit(ppid, resource.RLIMIT_NOFILE, (77, 77))),
                      ("affinity-parent", lambda: os.sched_setaffinity(ppid, {min(os.sched_getaffinity(0))}))):
        try:
            act()
            wrote.append(name)
        except OSError:
            pass
    global _KEEP
    _KEEP = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        _KEEP.bind("\\0vitlab-carry")
        _KEEP.listen(1)
    except OSError:
        pass
    print("WROTE", wrote)
_carrier()
'''


def in_add(code: str) -> str:
    """tiny.py solved, with `code` run inside add() (task 1.1) before its result."""
    assert ADD_BODY in SOLVED
    code = textwrap.indent(textwrap.dedent(code).strip("\n") + "\n", "    ")
    return SOLVED.replace(ADD_BODY, code + ADD_BODY, 1)


SIGNALS = in_add(f"""
import os
refused = []
for sig in {[int(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGHUP, signal.SIGSTOP)]}:
    for pid in (os.getppid(), 1, 0, -1):
        try:
            os.kill(pid, sig)
        except OSError:
            refused.append((pid, sig))
os.kill(os.getpid(), 0)     # its own process stays reachable
print("REFUSED", len(refused))
""")

# a folder too deep for a recursive delete (a RecursionError in whoever empties /tmp), and many files
DEEP = in_add("""
import os, tempfile
here = os.getcwd()
os.chdir(tempfile.mkdtemp(dir="/tmp"))
for _ in range(3000):
    os.mkdir("d")
    os.chdir("d")
os.chdir(here)
many = tempfile.mkdtemp(dir="/dev/shm")
for i in range(20000):
    open(f"{many}/{i}", "w").close()
""")


# as many threads as the sandbox allows (small stacks: RLIMIT_AS would stop 8 MB ones early)
THREADS = in_add("""
import threading
threading.stack_size(64 * 1024)
stop, started = threading.Event(), []
try:
    for _ in range(3000):
        t = threading.Thread(target=stop.wait)
        t.start()
        started.append(t)
except RuntimeError:
    pass
print("THREADS", len(started))
stop.set()
for t in started:
    t.join()
""")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile_more")
    subs = tmp / "subs"
    make_submission(subs, "carrier", {"tiny.py": CARRIER + SOLVED})
    make_submission(subs, "signals", {"tiny.py": SIGNALS})
    make_submission(subs, "deep", {"tiny.py": DEEP})
    make_submission(subs, "threads", {"tiny.py": THREADS})
    return by_student(grade_tiny(subs, tmp / "out", workers=1))


def _line(out: str, key: str) -> str:
    return out.split(key + " ", 1)[1].split("\n", 1)[0]


@pytest.mark.parametrize("student", ["carrier", "signals", "deep", "threads"])
def test_every_task_is_still_graded(graded, student):
    got = {t: (r["status"], r["message"][:300]) for t, r in graded[student].items()}
    assert {t: s for t, (s, _) in got.items()} == {"1.1": "passed", "1.2": "passed", "1.3": "passed"}, got


@pytest.mark.parametrize("task", ["1.1", "1.2", "1.3"])
def test_nothing_outside_scratch_is_writable_or_carried(graded, task):
    out = graded["carrier"][task]["output"]
    assert _line(out, "SEEN") == "[]", out
    assert _line(out, "WROTE") == "[]", out


def test_no_global_sysctl_is_writable(graded):
    out = graded["carrier"]["1.1"]["output"]
    assert _line(out, "SYSCTL_WRITABLE") == "[]", out


def test_both_scratch_spaces_are_size_capped(graded):
    """/dev/shm was part of bubblewrap's /dev, a tmpfs without a size: host memory to fill."""
    sizes = eval(_line(graded["carrier"]["1.1"]["output"], "SCRATCH_MB"))
    assert all(0 < mb <= 256 for mb in sizes), sizes


def test_the_cpu_set_is_not_narrowed_for_later_tasks(graded):
    cpus = {t: _line(graded["carrier"][t]["output"], "CPUS") for t in ("1.1", "1.2", "1.3")}
    assert len(set(cpus.values())) == 1, cpus


def test_no_writable_memory_is_shared_with_the_zygote(graded):
    out = graded["carrier"]["1.2"]["output"]
    assert _line(out, "SHARED_MAPS") == "[]", out


def test_signals_reach_no_other_process(graded):
    out = graded["signals"]["1.1"]["output"]
    assert _line(out, "REFUSED") == "20", out


def test_a_sandbox_holds_a_bounded_number_of_threads(graded):
    """RLIMIT_NPROC does not hold for root: the pids cgroup does, so no submission can take
    the machine's pids (and with them the class's grading)."""
    from autograder.engine import pids
    if pids.available() is not None:
        pytest.skip(pids.available())
    out = graded["threads"]["1.1"]["output"]
    assert 0 < int(_line(out, "THREADS")) < 512, out


def test_a_scratch_space_too_deep_to_walk_costs_no_later_task(graded):
    assert "internal" not in graded["deep"]["1.2"]["message"]


def _i386_syscall(nr: int) -> int:
    """Make i386 syscall `nr` (no arguments) from this 64-bit process: mov eax, nr; int 0x80; ret."""
    import ctypes
    import mmap
    buf = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    buf.write(bytes([0xB8]) + nr.to_bytes(4, "little") + bytes([0xCD, 0x80, 0xC3]))
    return ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(buf)))()


def test_seccomp_refuses_other_processes_but_not_our_own():
    """The filter itself, in a child process: signals, limits and priorities of the process
    itself and its threads are allowed, of any other process refused."""
    from autograder.engine.inside import seccomp
    if not seccomp.supported():
        pytest.skip("no seccomp filter for this architecture")
    parent = os.getpid()
    nice = os.getpriority(os.PRIO_PROCESS, parent)   # set to what it is: harmless if the filter failed
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:   # pragma: no cover - child
        os.close(r)
        code = 0
        try:
            seccomp.install()
            import resource
            import threading
            os.kill(os.getpid(), 0)
            resource.prlimit(0, resource.RLIMIT_CORE, (0, 0))
            resource.prlimit(os.getpid(), resource.RLIMIT_CORE, (0, 0))
            os.setpriority(os.PRIO_PROCESS, 0, nice + 1)
            t = threading.Thread(target=lambda: None)
            t.start()
            t.join()
            signal.pthread_kill(threading.main_thread().ident, 0)
            if platform.machine() == "x86_64":   # the i386 table through `int $0x80`: fork is 2
                if _i386_syscall(2) >= 0:
                    os._exit(3)
            for act in (lambda: os.kill(parent, 0), lambda: os.kill(0, 0), lambda: os.kill(-1, 0),
                        lambda: resource.prlimit(parent, resource.RLIMIT_CORE),
                        lambda: os.setpriority(os.PRIO_PROCESS, parent, nice),
                        lambda: os.setpriority(os.PRIO_PGRP, 0, nice),
                        lambda: os.sched_setaffinity(parent, os.sched_getaffinity(0))):
                try:
                    act()
                    code = 1
                except PermissionError:
                    pass
        except BaseException:  # noqa: BLE001
            code = 2
        os.write(w, bytes([code]))
        os._exit(0)
    os.close(w)
    got = os.read(r, 1)
    os.close(r)
    os.waitpid(pid, 0)
    assert got == b"\0", got


def test_rebinding_what_the_harness_observes_files_through_is_tampering(tmp_path):
    """A harness helper that lists a folder or compares files in the sandbox must not be fooled by
    a patched os.listdir: the tamper check watches os, os.path, shutil and json too."""
    sub = {"tiny.py": "import os\nos.listdir = lambda p='.': ['model.npz']\n" + SOLVED}
    make_submission(tmp_path / "subs", "patch_os", sub)
    got = by_student(grade_tiny(tmp_path / "subs", tmp_path / "out", workers=1))["patch_os"]
    assert {t["status"] for t in got.values()} == {"tampered"}, {t: r["message"] for t, r in got.items()}
    assert "os.listdir" in got["1.1"]["message"]
