"""A new mount, network and IPC namespace for one task's worker (runs inside the sandbox).

Emptying /tmp between tasks cannot be made complete: a worker can change the tmpfs root
itself (its mode, times, extended attributes), leave sockets in TIME_WAIT, or bind an
abstract Unix socket, and each is a channel to the next task. So the zygote's forked child,
before any student code exists, enters namespaces of its own and mounts a new, empty tmpfs
on each scratch place: whatever the previous task did happened in objects that died with it.

The zygote holds CAP_SYS_ADMIN in the sandbox's user namespace for this (bubblewrap's
--cap-add, and only for the zygote's sandbox); the child drops every capability and sets
no_new_privs before it returns, so no task ever holds one.

Mounts that sit under a scratch place (a Python or course installed under /tmp, bound
read-only) are cloned first with open_tree and moved back on top of the new tmpfs, so they
keep their read-only flag.
"""
from __future__ import annotations

import ctypes
import os

CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWIPC = 0x00020000, 0x40000000, 0x08000000
MS_REC, MS_PRIVATE = 0x4000, 0x40000
SYS_OPEN_TREE, SYS_MOVE_MOUNT = 428, 429            # the same number on every architecture
OPEN_TREE_CLONE, AT_RECURSIVE, AT_FDCWD = 1, 0x8000, -100
MOVE_MOUNT_F_EMPTY_PATH = 0x4
CAPSET = {"x86_64": 126, "aarch64": 91}
PR_SET_NO_NEW_PRIVS, LINUX_CAPABILITY_VERSION_3 = 38, 0x20080522

_libc = ctypes.CDLL(None, use_errno=True)


class NotFresh(OSError):
    """The worker could not be given namespaces of its own: it must not run."""


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise NotFresh(err, f"{what}: {os.strerror(err)}")
    return result


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def submounts(root: str, mountinfo: str = "/proc/self/mountinfo") -> list[str]:
    """Mount points strictly below `root`, outermost only (a clone is recursive)."""
    with open(mountinfo, encoding="utf-8", errors="surrogateescape") as f:
        points = [_unescape(line.split()[4]) for line in f]
    below = sorted({p for p in points if p.startswith(root.rstrip("/") + "/")})
    return [p for p in below if not any(p.startswith(q + "/") for q in below if q != p)]


def _clone(path: str) -> int:
    return _check(_libc.syscall(SYS_OPEN_TREE, AT_FDCWD, path.encode(), OPEN_TREE_CLONE | AT_RECURSIVE),
                  f"open_tree {path}")


def _move_back(fd: int, path: str) -> None:
    os.makedirs(path, exist_ok=True)
    _check(_libc.syscall(SYS_MOVE_MOUNT, fd, b"", AT_FDCWD, path.encode(), MOVE_MOUNT_F_EMPTY_PATH),
           f"move_mount {path}")
    os.close(fd)


def _new_tmpfs(root: str, size: int) -> None:
    kept = [(p, _clone(p)) for p in submounts(root)]
    options = f"size={size},mode=0755".encode()
    _check(_libc.mount(b"tmpfs", root.encode(), b"tmpfs", 0, options), f"mount tmpfs on {root}")
    for path, fd in kept:
        _move_back(fd, path)


def _drop_capabilities() -> None:
    arch = os.uname().machine
    if arch not in CAPSET:
        raise NotFresh(0, f"no capset number known for {arch}")
    header = (ctypes.c_uint32 * 2)(LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()                    # effective, permitted, inheritable (x2): none
    _check(_libc.syscall(CAPSET[arch], header, data), "capset")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")


def enter(scratch: list[str], size: int) -> None:
    """Give this process new namespaces and empty scratch places, then drop capabilities.
    Raises NotFresh when any step fails: the caller must then exit without running a task."""
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC), "unshare")
    _check(_libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    for root in scratch:
        _new_tmpfs(root, size)
    _drop_capabilities()


def capabilities() -> int:
    """This process's effective capabilities, as a bit mask (for tests and the self-check)."""
    with open("/proc/self/status", encoding="ascii") as f:
        line = next(x for x in f if x.startswith("CapEff:"))
    return int(line.split()[1], 16)


if __name__ == "__main__":   # the trusted side's probe: can a task get fresh namespaces here?
    import sys
    try:
        enter(["/tmp"], 1 << 20)
    except OSError as e:
        sys.exit(f"{e}")
    sys.exit(0 if capabilities() == 0 else "capabilities were not dropped")
