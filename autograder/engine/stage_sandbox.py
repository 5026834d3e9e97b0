"""Staging submissions through a sandbox (trusted side; unpack.py is the inside).

Trust boundary: an archive is parsed only by unpack.py, in a bubblewrap sandbox with no
network, a read-only view of the system, the archive bound read-only and one writable
folder, under CPU, memory and file-size limits and a wall-clock limit. What comes back is
checked here with bounds: one JSON line (size and depth bounded, typed fields, notes cut
to an excerpt) and a tree of plain files and folders (no links, no devices, within the
file-count and size limits). Without bubblewrap (allowed by name only) the same script runs
as a child process under the same limits. A folder is copied here, since copying parses
nothing (its walk is bounded like an archive's members); a folder that holds one archive
goes through the sandbox like the archive itself.

`Prestager` runs a few of these at once in threads, ahead of the grading loop, so one
student's slow archive never holds up the others' grading.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from autograder.engine import sandbox as sb
from autograder.engine.inside.staging import MAX_FILES, MAX_TOTAL, SubmissionError
from autograder.engine.inside.staging import lone_archive
from autograder.engine.parse_sandbox import bwrap_prefix
from autograder.engine.submissions import Submission, sniff_kind, stage
from autograder.engine.untrusted import parse_json

REPLY_BYTES = 64 << 10
NOTE_CHARS = 300


@dataclass(frozen=True)
class UnpackLimits:
    address_space: int = 1 << 30     # the unpacker's memory
    cpu_s: int = 60                  # its CPU time
    wall_s: float = 90.0             # its wall-clock time, enforced from here

    def rlimits(self) -> dict[str, int]:
        return {"RLIMIT_AS": self.address_space, "RLIMIT_CPU": self.cpu_s,
                "RLIMIT_FSIZE": MAX_TOTAL, "RLIMIT_CORE": 0}


def _lib(root: Path) -> Path:
    """The unpacker's code, alone in a folder: the sandbox sees the inside package only."""
    lib = root / "unpack-lib"
    if not (lib / "autograder" / "engine" / "inside" / "unpack.py").is_file():
        sb.copy_inside(lib)
    return lib


def _command(sub: Submission, work: Path, lib: Path, limits: UnpackLimits, isolated: bool) -> list[str]:
    request = {"kind": sub.kind, "name": sub.name, "expected": list(sub.expected), "limits": limits.rlimits()}
    if not isolated:
        request.update(source=str(sub.source), out=str(work), lib=str(lib))
        return [sys.executable, *sb.PY_FLAGS, str(lib / "autograder" / "engine" / "inside" / "unpack.py"), json.dumps(request)]
    source = "/in/" + ("submission" if sub.kind == "folder" else "archive")
    request.update(source=source, out="/out", lib=sb.GRADER_LIB)
    args = bwrap_prefix(lib, [(str(sub.source), source)], [(str(work), "/out")])
    return [*args, sys.executable, *sb.PY_FLAGS, f"{sb.GRADER_LIB}/autograder/engine/inside/unpack.py", json.dumps(request)]


def stage_in_sandbox(sub: Submission, dest: Path, lib: Path, isolated: bool,
                     limits: UnpackLimits = UnpackLimits()) -> tuple[Path, list[str]]:
    """Stage `sub` into `dest` (fresh) through the unpacker. Returns (dest, notes); raises
    SubmissionError naming the submission when nothing can be staged."""
    if sub.problem:
        raise SubmissionError(sub.problem)
    if sub.kind == "folder":     # copying a folder parses nothing: done here, with the same bounds
        dest, notes = stage(sub, dest, unpack_inner=False)
        if lone_archive(dest, sniff_kind) is None:
            return dest, notes
        shutil.rmtree(dest)      # a folder holding one archive: that archive is opened inside
    work = dest.parent / f".{dest.name}.unpack"
    for old in (work, dest):
        if old.exists():
            shutil.rmtree(old)
    work.mkdir(parents=True)
    try:
        reply = _run(_command(sub, work, lib, limits, isolated), sub.name, limits.wall_s)
        if reply.get("ok") is not True:
            raise SubmissionError(_text(reply.get("error")) or f"{sub.name}: could not be unpacked")
        _check_tree(work / "files", sub.name)
        (work / "files").rename(dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    notes = reply.get("notes")
    return dest, [_text(n) for n in notes[:40]] if isinstance(notes, list) else []


def _run(cmd: list[str], name: str, wall_s: float) -> dict:
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=wall_s,
                           start_new_session=True)
    except subprocess.TimeoutExpired:
        raise SubmissionError(f"{name}: unpacking it took more than {wall_s:g} s") from None
    line = r.stdout[:REPLY_BYTES].decode("utf-8", "replace").strip()
    if r.returncode != 0 or not line:
        why = "it used up its CPU time" if r.returncode == -9 or r.returncode == -24 else \
            f"exit status {r.returncode}"
        raise SubmissionError(f"{name}: could not be unpacked ({why})")
    try:
        reply = parse_json(line, f"{name}'s unpacking report", max_depth=4, max_chars=REPLY_BYTES)
    except Exception:  # noqa: BLE001 - GradingFailure: malformed
        raise SubmissionError(f"{name}: could not be unpacked (malformed report)") from None
    return reply if isinstance(reply, dict) else {}


def _text(v) -> str:
    return str(v)[:NOTE_CHARS] if isinstance(v, str) else ""


def _check_tree(root: Path, name: str) -> None:
    """What the unpacker wrote: plain files and folders only, within the limits."""
    if not root.is_dir() or root.is_symlink():
        raise SubmissionError(f"{name}: holds no files to grade")
    files = size = 0
    for folder, dirs, names in os.walk(root):
        for entry in dirs + names:
            mode = os.lstat(os.path.join(folder, entry)).st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise SubmissionError(f"{name}: unpacking it made something that is not a file or folder")
            if stat.S_ISREG(mode):
                files += 1
                size += os.lstat(os.path.join(folder, entry)).st_size
        if files > MAX_FILES or size > MAX_TOTAL:
            raise SubmissionError(f"{name}: more files or bytes than allowed after unpacking")


class Prestager:
    """Stages up to `ahead` queued submissions at once, in the background."""

    def __init__(self, stage_root: Path, lib_root: Path, isolated: bool, ahead: int):
        self.stage_root, self.isolated, self.ahead = stage_root, isolated, max(1, ahead)
        self.lib = _lib(lib_root)
        self.pool = ThreadPoolExecutor(self.ahead, thread_name_prefix="stage")
        self.pending: dict[str, Future] = {}

    def ready(self, queue: list[Submission]) -> tuple[Submission, Future] | None:
        """The first queued submission whose staging has finished (taken off the queue), or None;
        starts staging for the next ones first."""
        for sub in queue[: self.ahead]:
            if sub.student not in self.pending:
                self.pending[sub.student] = self.pool.submit(
                    stage_in_sandbox, sub, self.stage_root / sub.student, self.lib, self.isolated)
        for sub in queue[: self.ahead]:
            if self.pending[sub.student].done():
                queue.remove(sub)
                return sub, self.pending.pop(sub.student)
        return None

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
