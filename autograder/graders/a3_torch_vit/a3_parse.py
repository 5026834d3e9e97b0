"""The a3 graders' parse of a submission, run inside a sandbox (trusted side of a3_inside.py).

The ban's scan and the stub check read every file a student sent with `ast`: work whose cost
the student chooses (a crafted 4 MB file asked a scan in this process for gigabytes and a
minute). Both run in one sandboxed process under memory, CPU and wall limits
(engine/parse_sandbox.py); the sandbox gets the scan's code and the digests of the course's
own files (a3_ban.identity), never a solution. Its reply is checked here, field by field,
with bounds. A parse that did not finish, or a reply that is not what was asked for, is a
finding that costs every task: the scan fails closed.
"""
from __future__ import annotations

from pathlib import Path

import a3_ban
from a3_ban import Finding
from autograder.engine.parse_sandbox import SUBMISSION, ParseFailed, parse

HERE = Path(__file__).resolve().parent
FILES = tuple(HERE / f for f in ("a3_inside.py", "a3_ban.py", "a3_ban_check.py", "a3_ban_rules.py", "a3_stubs.py"))
TEXT = 300
MAX_FINDINGS = 200


def scan(submission: str, solutions_dir: str, owners: dict[str, dict[str, str]],
         isolated: bool) -> tuple[list[Finding], dict]:
    """(findings, {module: {qualname: digest} or None}) for the submission."""
    args = {"folder": SUBMISSION, "ident": a3_ban.identity(solutions_dir), "modules": sorted(owners)}
    try:
        reply = parse(FILES, "a3_inside", "scan", args, Path(submission), isolated, "the a3 scan of the submission")
        return _findings(reply), _defs(reply, sorted(owners))
    except ParseFailed as e:
        return [refused(f"{e}: refused, not graded as nothing found")], {}


def refused(why: str) -> Finding:
    return Finding(".", 1, why[:TEXT], None, True)


def _findings(reply) -> list[Finding]:
    rows = reply.get("findings") if isinstance(reply, dict) else None
    if not isinstance(rows, list) or len(rows) > MAX_FINDINGS:
        raise ParseFailed("malformed", "the a3 scan of the submission: malformed report")
    out = []
    for row in rows:
        ok = (isinstance(row, list) and len(row) == 5 and isinstance(row[0], str) and type(row[1]) is int
              and isinstance(row[2], str) and (row[3] is None or isinstance(row[3], str)) and type(row[4]) is bool)
        if not ok:
            raise ParseFailed("malformed", "the a3 scan of the submission: malformed report")
        out.append(Finding(row[0][:TEXT], max(1, row[1]), row[2][:TEXT], row[3][:TEXT] if row[3] else None, row[4]))
    more = reply.get("more")
    if type(more) is not int or more < 0:
        raise ParseFailed("malformed", "the a3 scan of the submission: malformed report")
    if more:
        out.append(refused(f"more than {MAX_FINDINGS} findings: refused"))
    return out


def _defs(reply: dict, modules: list[str]) -> dict:
    defs = reply.get("defs")
    if not isinstance(defs, dict) or set(defs) - set(modules):
        raise ParseFailed("malformed", "the a3 scan of the submission: malformed report")
    out = {}
    for module, digests in defs.items():
        if digests is None:
            out[module] = None
        elif isinstance(digests, dict) and len(digests) <= 10_000 and all(
                isinstance(q, str) and len(q) <= TEXT and isinstance(d, str) and len(d) == 64
                for q, d in digests.items()):
            out[module] = digests
        else:
            raise ParseFailed("malformed", "the a3 scan of the submission: malformed report")
    return out
