"""A tiny seccomp filter: the student's process may start threads but never processes,
and it cannot reach another process or leave kernel-held state behind for a later task.

RLIMIT_NPROC counts processes per real user; graders usually run as root, for whom the
kernel does not enforce it, so a fork bomb needs another stop. This classic BPF program
fails fork/vfork and any clone without CLONE_THREAD with EPERM, and clone3 (whose flags
BPF cannot read) with ENOSYS so that glibc falls back to clone for threads.

Every other process is out of reach too (trust boundary: the zygote that forks the next
task's worker, and without bubblewrap every other process of the same user, another
student's included): signals go only to the process itself (kill, tgkill, rt_*sigqueueinfo
name its own pid; tkill, which names any thread, is refused), and limits, priority, CPU set,
scheduling and I/O priority can be changed only for itself (pid 0 or its own pid). The pid
is the one of the process that installs the filter, built into the program.

`program()` returns the filter as bytes (struct sock_filter[]) for `bwrap --seccomp FD`;
`install()` loads it into the calling process.
"""
from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct

# Refused everywhere (numbers from 424 up are the same on every architecture): pidfd_send_signal,
# pidfd_open, pidfd_getfd, process_madvise (reach into other processes); io_uring_setup/enter
# (its operations bypass seccomp); open_tree .. fspick, mount_setattr (mounts).
COMMON = (424, 425, 426, 428, 429, 430, 431, 432, 433, 434, 438, 440, 442)
X86_64 = (57, 58,                          # fork vfork
          101, 310, 311, 312,              # ptrace process_vm_readv/writev kcmp
          29, 30, 31, 67, 64, 65, 66, 220,  # SysV shared memory and semaphores
          68, 69, 70, 71,                  # SysV message queues
          240, 241, 242, 243, 244, 245,    # POSIX message queues
          248, 249, 250,                   # keyrings: add_key request_key keyctl
          272, 308, 165, 166, 155, 161,    # unshare setns mount umount2 pivot_root chroot
          298, 321, 323,                   # perf_event_open bpf userfaultfd
          200, 170, 171)                   # tkill sethostname setdomainname
AARCH64 = (117, 270, 271, 272,             # ptrace process_vm_readv/writev kcmp
           194, 195, 196, 197, 190, 191, 192, 193, 186, 187, 188, 189, 180, 181, 182, 183, 184, 185,
           217, 218, 219, 97, 268, 40, 39, 41, 51, 241, 280, 282,
           130, 161, 162)                  # tkill sethostname setdomainname
# syscalls whose target process is an argument: (argument index, what else it may be besides
# our own pid, or None), after an optional (argument index, required value) such as PRIO_PROCESS
SELF_ONLY = {   # name: (x86_64, aarch64, check)
    "kill": (62, 129, (None, 0, ())),
    "tgkill": (234, 131, (None, 0, ())),
    "rt_sigqueueinfo": (129, 138, (None, 0, ())),
    "rt_tgsigqueueinfo": (297, 240, (None, 0, ())),
    "prlimit64": (302, 261, (None, 0, (0,))),
    "sched_setaffinity": (203, 122, (None, 0, (0,))),
    "sched_setparam": (142, 118, (None, 0, (0,))),
    "sched_setscheduler": (144, 119, (None, 0, (0,))),
    "sched_setattr": (314, 274, (None, 0, (0,))),
    "setpriority": (141, 140, ((0, 0), 1, (0,))),     # which == PRIO_PROCESS, who 0 or us
    "ioprio_set": (251, 30, ((0, 1), 1, (0,))),       # which == IOPRIO_WHO_PROCESS
}
# (AUDIT_ARCH, clone, clone3, syscalls that always fail, x32 bit or None, index into SELF_ONLY rows)
ARCHES = {
    "x86_64": (0xC000003E, 56, 435, X86_64 + COMMON, 0x40000000, 0),
    "aarch64": (0xC00000B7, 220, 435, AARCH64 + COMMON, None, 1),
}
CLONE_THREAD = 0x00010000
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000

LD_W_ABS, JEQ_K, JGE_K, JSET_K, RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
OFF_NR, OFF_ARCH, OFF_ARGS = 0, 4, 16   # an argument's low 32 bits (little-endian): 16 + 8 * index


def supported() -> bool:
    return platform.machine() in ARCHES


def program(pid: int | None = None) -> bytes:
    """The filter for this machine's architecture and process `pid` (default: the caller);
    raises RuntimeError elsewhere."""
    machine = platform.machine()
    if machine not in ARCHES:
        raise RuntimeError(f"no seccomp filter for architecture {machine}")
    pid = os.getpid() if pid is None else pid
    arch, clone, clone3, denied, x32, col = ARCHES[machine]
    # instructions (code, k, label if true, label if false), None = fall through; or a label name
    # another architecture's syscalls (x86-64 code can still `int $0x80` into the i386 table,
    # where fork is 2 and kill 37) are refused whole: the numbers below mean nothing there
    code: list = [(LD_W_ABS, OFF_ARCH, None, None), (JEQ_K, arch, None, "deny"),
                  (LD_W_ABS, OFF_NR, None, None)]
    if x32 is not None:
        code.append((JGE_K, x32, "deny", None))
    code += [(JEQ_K, nr, "deny", None) for nr in denied]
    code += [(JEQ_K, clone3, "nosys", None), (JEQ_K, clone, "clone", None)]
    code += [(JEQ_K, row[col], f"self_{name}", None) for name, row in SELF_ONLY.items()]
    code += [(RET_K, RET_ALLOW, None, None),
             "clone", (LD_W_ABS, OFF_ARGS, None, None), (JSET_K, CLONE_THREAD, "allow", "deny")]
    for name, (_, _, (first, arg, also)) in SELF_ONLY.items():
        code.append(f"self_{name}")
        if first is not None:   # e.g. setpriority's `which` must be PRIO_PROCESS
            code += [(LD_W_ABS, OFF_ARGS + 8 * first[0], None, None), (JEQ_K, first[1], None, "deny")]
        code.append((LD_W_ABS, OFF_ARGS + 8 * arg, None, None))
        code += [(JEQ_K, k, "allow", None) for k in also]
        code.append((JEQ_K, pid & 0xFFFFFFFF, "allow", "deny"))
    code += ["allow", (RET_K, RET_ALLOW, None, None), "deny", (RET_K, RET_ERRNO | errno.EPERM, None, None),
             "nosys", (RET_K, RET_ERRNO | errno.ENOSYS, None, None)]
    return _assemble(code)


def _assemble(code: list) -> bytes:
    """Resolve labels into classic BPF's relative jumps (at most 255 instructions ahead)."""
    labels, pos = {}, 0
    for item in code:
        if isinstance(item, str):
            labels[item] = pos
        else:
            pos += 1
    out, pos = [], 0
    for item in code:
        if isinstance(item, str):
            continue
        op, k, jt, jf = item
        rel = [0 if lab is None else labels[lab] - pos - 1 for lab in (jt, jf)]
        if not all(0 <= r <= 255 for r in rel):
            raise RuntimeError("seccomp filter jump out of range")
        out.append(struct.pack("=HBBI", op, rel[0], rel[1], k))
        pos += 1
    return b"".join(out)


def install() -> None:
    """Load the filter into this process (irreversible; also sets no_new_privs)."""
    prog = program()
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    buf = ctypes.create_string_buffer(prog, len(prog))
    fprog = SockFprog(len(prog) // 8, ctypes.cast(buf, ctypes.c_void_p))
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) failed")
