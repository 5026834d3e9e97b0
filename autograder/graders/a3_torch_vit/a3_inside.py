"""What a3's graders parse of a submission, in one run inside a sandbox (a3_parse.py starts
it through engine/parse_sandbox.py): the ban's findings (a3_ban.py) and each graded
module's definitions as digests (a3_stubs.py). Its reply is bounded here and checked again
on the trusted side."""
from __future__ import annotations

MAX_FINDINGS = 200
TEXT = 300


def scan(folder: str, ident: dict, modules: list[str]) -> dict:
    import a3_ban
    import a3_stubs
    found = a3_ban.scan_submission(folder, ident=ident)
    rows = [[f.file[:TEXT], int(f.line), f.call[:TEXT], f.owner[:TEXT] if f.owner else None, bool(f.everywhere)]
            for f in found[:MAX_FINDINGS]]
    return {"findings": rows, "more": max(0, len(found) - MAX_FINDINGS),
            "defs": a3_stubs.submitted(folder, modules)}
