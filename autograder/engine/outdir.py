"""One grading run at a time per output folder, and nothing half-written left from a killed one.

Every file a run writes goes through `vitlab.io.atomic_path`: a `.<name>.<random>.tmp` beside
the target, renamed into place. A run killed by SIGKILL (or a power cut) between the two leaves
that temporary behind. Under the folder's lock no other run is writing, so any such file is
debris from a dead run and is removed before grading starts."""
from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".grading.lock"


class OutDirError(RuntimeError):
    """The output folder cannot be held for this run; the message names it."""


class OutDirBusy(OutDirError):
    """Another grading run holds this output folder."""


def stale_temporaries(out_dir: Path) -> list[Path]:
    """The temporaries `atomic_path` leaves when killed mid-write, anywhere under `out_dir`."""
    return sorted(p for p in out_dir.rglob(".*.tmp")
                  if p.name.count(".") >= 3 and p.is_file() and not p.is_symlink())


@contextmanager
def hold(out_dir: Path):
    """Lock `out_dir` for this run (non-blocking) and sweep a killed run's temporaries."""
    out_dir.mkdir(parents=True, exist_ok=True)
    lock = out_dir / LOCK_NAME
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    except OSError as e:
        raise OutDirError(f"{lock}: cannot open the output folder's lock file ({e.strerror}); "
                          "it must be a plain file the grader can write") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutDirBusy(f"{out_dir}: another grading run is writing to this folder "
                             f"(it holds {lock}); wait for it, or choose another -o") from None
        for p in stale_temporaries(out_dir):
            p.unlink(missing_ok=True)
        yield
    finally:
        os.close(fd)    # closing releases the lock
