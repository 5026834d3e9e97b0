"""Parsing student data through a sandbox (trusted side; inside/parse.py is the inside).

Trust boundary: a parser of submission files (the a3 source scan, the stub check) runs in a
bubblewrap sandbox with no network, a read-only view of the system, the submission bound
read-only and nothing writable but a private /tmp, under memory and CPU limits and a
wall-clock limit enforced here. What comes back is one JSON line, read with bounds (size,
depth); the caller checks its fields and types. Anything else (a time-out, an exhausted
limit, a crash, a malformed line) is a ParseFailed, which callers turn into a refusal:
a parse that did not finish never reads as "nothing found". Without bubblewrap (allowed by
name only) the same script runs as a child process under the same limits.

The sandbox gets the engine's inside package and the parser's own files, copied into a
folder of their own (`parser_lib`): grader code only, never a solution.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograder.engine import sandbox as sb
from autograder.engine.untrusted import parse_json

SCRIPT = "autograder/engine/inside/parse.py"
SUBMISSION = "/in/submission"


@dataclass(frozen=True)
class ParseLimits:
    address_space: int = 1 << 30     # the parser's memory
    cpu_s: int = 60                  # its CPU time
    wall_s: float = 90.0             # its wall-clock time, enforced from here
    reply_bytes: int = 1 << 20       # its JSON line

    def rlimits(self) -> dict[str, int]:
        return {"RLIMIT_AS": self.address_space, "RLIMIT_CPU": self.cpu_s, "RLIMIT_FSIZE": 1 << 20,
                "RLIMIT_CORE": 0}


class ParseFailed(Exception):
    """The parser did not give a result: `.why` says how (time, cpu, memory, exit, malformed)."""

    def __init__(self, why: str, text: str):
        super().__init__(text)
        self.why = why


_LIBS: dict[tuple[str, ...], Path] = {}


def parser_lib(files: tuple[Path, ...]) -> Path:
    """A folder (made once per process) with the inside package and `files` in `parsers/`."""
    key = tuple(str(f) for f in files)
    if key not in _LIBS or not _LIBS[key].is_dir():
        lib = Path(tempfile.mkdtemp(prefix="vitlab-parser-"))
        sb.copy_inside(lib)
        (lib / "parsers").mkdir()
        for f in files:
            shutil.copy2(f, lib / "parsers" / f.name)
        _LIBS[key] = lib
    return _LIBS[key]


def bwrap_prefix(lib: Path, ro: list[tuple[str, str]], rw: list[tuple[str, str]] = ()) -> list[str]:
    """bubblewrap's arguments for a parsing sandbox, up to the command: no network, a
    read-only system and Python, a private /tmp, `lib` at GRADER_LIB, each (host, inside) of
    `ro` read-only and of `rw` writable, a minimal environment."""
    args = [sb.bwrap_path(), *sb._namespaces(), *sb._system_binds(), "--tmpfs", "/tmp"]
    for p in sb.python_prefixes():
        args += ["--ro-bind", p, p]
    args += ["--ro-bind", str(lib), sb.GRADER_LIB]
    for host, inside in ro:
        args += ["--ro-bind", host, inside]
    for host, inside in rw:
        args += ["--bind", host, inside]
    args += ["--chdir", "/tmp", "--clearenv", *sb.READ_ONLY]
    for k, v in sb.ENV.items():
        args += ["--setenv", k, v]
    return args


def command(lib: Path, binds: list[tuple[str, str]], isolated: bool, script: str = SCRIPT) -> list[str]:
    """The command that runs `script` of `lib` (its request comes on stdin), each (host,
    inside) of `binds` read-only; not isolated: a child process under the same rlimits."""
    if not isolated:
        return [sys.executable, *sb.PY_FLAGS, str(lib / script), "-"]
    return [*bwrap_prefix(lib, binds), sys.executable, *sb.PY_FLAGS, f"{sb.GRADER_LIB}/{script}", "-"]


def _to_host(value, inside: dict[str, str], lib: Path):
    """The request's inside paths, for a run without the sandbox."""
    if isinstance(value, dict):
        return {k: _to_host(v, inside, lib) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_host(v, inside, lib) for v in value]
    if isinstance(value, str):
        if value in inside:
            return inside[value]
        if value == sb.GRADER_LIB or value.startswith(sb.GRADER_LIB + "/"):
            return str(lib) + value[len(sb.GRADER_LIB):]
    return value


def run(cmd: list[str], request: str, what: str, limits: "ParseLimits") -> dict:
    """Run `cmd` with `request` on its stdin; its one JSON line as a dict, or ParseFailed
    naming `what` and why."""
    try:
        r = subprocess.run(cmd, input=request.encode(), capture_output=True, timeout=limits.wall_s,
                           start_new_session=True)
    except subprocess.TimeoutExpired:
        raise ParseFailed("time", f"{what} took more than {limits.wall_s:g} s") from None
    line = r.stdout[:limits.reply_bytes].decode("utf-8", "replace").strip()
    if r.returncode != 0 or not line:
        cpu = r.returncode in (-9, -24)
        raise ParseFailed("cpu" if cpu else "exit", f"{what}: " + (
            "it used up its CPU time" if cpu else f"exit status {r.returncode}"))
    try:
        reply = parse_json(line, what, max_depth=8, max_chars=limits.reply_bytes)
    except Exception:  # noqa: BLE001 - GradingFailure: malformed
        raise ParseFailed("malformed", f"{what}: malformed report") from None
    if not isinstance(reply, dict):
        raise ParseFailed("malformed", f"{what}: malformed report")
    return reply


def parse(files: tuple[Path, ...], module: str, function: str, args: dict, submission: Path,
          isolated: bool, what: str, limits: ParseLimits = ParseLimits()):
    """`module.function(**args)` of the parser `files`, run inside over `submission` (bound
    at SUBMISSION, which `args` names); its result, or ParseFailed."""
    lib = parser_lib(files)
    request = {"path": [f"{sb.GRADER_LIB}/parsers", sb.GRADER_LIB], "module": module, "function": function,
               "args": args, "limits": limits.rlimits()}
    binds = [(str(submission), SUBMISSION)]
    if not isolated:
        request = _to_host(request, {i: h for h, i in binds}, lib)
    reply = run(command(lib, binds, isolated), json.dumps(request), what, limits)
    if reply.get("ok") is not True:
        err = reply.get("error")
        why = err if isinstance(err, str) and err in ("memory", "recursion") else "error"
        raise ParseFailed(why, f"{what}: " + {"memory": "it needed more memory than allowed",
                                              "recursion": "it nests deeper than Python can follow"}.get(
                                                  why, "the parser failed"))
    return reply.get("result")
