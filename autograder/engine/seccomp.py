"""A tiny seccomp filter: the student's process may start threads but never processes,
and it cannot reach another process or leave kernel-held state behind for a later task.

RLIMIT_NPROC counts processes per real user; graders usually run as root, for whom the
kernel does not enforce it, so a fork bomb needs another stop. This classic BPF program
fails fork/vfork and any clone without CLONE_THREAD with EPERM, and clone3 (whose flags
BPF cannot read) with ENOSYS so that glibc falls back to clone for threads.

`program()` returns the filter as bytes (struct sock_filter[]) for `bwrap --seccomp FD`;
`install()` loads it into the calling process (used when bubblewrap is unavailable).
"""
from __future__ import annotations

import ctypes
import errno
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
          298, 321, 323)                   # perf_event_open bpf userfaultfd
AARCH64 = (117, 270, 271, 272,             # ptrace process_vm_readv/writev kcmp
           194, 195, 196, 197, 190, 191, 192, 193, 186, 187, 188, 189, 180, 181, 182, 183, 184, 185,
           217, 218, 219, 97, 268, 40, 39, 41, 51, 241, 280, 282)
# (AUDIT_ARCH, clone, clone3, syscalls that always fail, x32 bit or None)
ARCHES = {
    "x86_64": (0xC000003E, 56, 435, X86_64 + COMMON, 0x40000000),
    "aarch64": (0xC00000B7, 220, 435, AARCH64 + COMMON, None),
}
CLONE_THREAD = 0x00010000
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000

LD_W_ABS, JEQ_K, JGE_K, JSET_K, RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
OFF_NR, OFF_ARCH, OFF_ARG0 = 0, 4, 16


def supported() -> bool:
    return platform.machine() in ARCHES


def _ins(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def program() -> bytes:
    """The filter for this machine's architecture; raises RuntimeError elsewhere."""
    machine = platform.machine()
    if machine not in ARCHES:
        raise RuntimeError(f"no seccomp filter for architecture {machine}")
    arch, clone, clone3, denied, x32 = ARCHES[machine]
    # (code, k, label if true, label if false); None = fall through, str = a label below
    code = [(LD_W_ABS, OFF_ARCH, None, None), (JEQ_K, arch, None, "allow"),
            (LD_W_ABS, OFF_NR, None, None)]
    if x32 is not None:
        code.append((JGE_K, x32, "deny", None))
    code += [(JEQ_K, nr, "deny", None) for nr in denied]
    code += [(JEQ_K, clone3, "nosys", None), (JEQ_K, clone, None, "allow"),
             (LD_W_ABS, OFF_ARG0, None, None), (JSET_K, CLONE_THREAD, "allow", "deny")]
    labels = {"allow": len(code), "deny": len(code) + 1, "nosys": len(code) + 2}
    out = []
    for pos, (op, k, jt, jf) in enumerate(code):
        rel = lambda lab: 0 if lab is None else labels[lab] - pos - 1  # noqa: E731
        out.append(_ins(op, k, rel(jt), rel(jf)))
    out += [_ins(RET_K, RET_ALLOW), _ins(RET_K, RET_ERRNO | errno.EPERM),
            _ins(RET_K, RET_ERRNO | errno.ENOSYS)]
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
