"""Unpack one submission, inside a sandbox (the untrusted side of staging).

A submission is student data: a 40 KB archive can ask for gigabytes of headers, names or
inflated bytes, and parsing it is where that work happens. So the trusted side never opens
an archive itself; it runs this script in a sandbox of its own (stage_sandbox.py), which
lowers its limits first, then stages into `OUT/files` and prints one bounded JSON line:

    {"ok": true, "notes": ["what was left out: why", ...]}
    {"ok": false, "error": "why nothing can be staged"}

Run as `python -I unpack.py REQUEST_JSON`, REQUEST_JSON holding kind, source, out, name,
expected (the task files) and limits (address space, CPU seconds, file size).
"""
from __future__ import annotations

import json
import os
import resource
import sys
from pathlib import Path

NOTE_CHARS = 300      # one note's length: a name in it is the student's text


def _confine(limits: dict) -> None:
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, name), (value, value))


def main(request: dict) -> dict:
    from autograder.engine.inside.staging import SubmissionError, stage_files   # after the limits are set
    try:
        _, notes = stage_files(str(request["kind"]), Path(request["source"]), str(request["name"]),
                               tuple(request["expected"]), Path(request["out"]) / "files")
    except SubmissionError as e:
        return {"ok": False, "error": str(e)[:2 * NOTE_CHARS]}
    return {"ok": True, "notes": [n[:NOTE_CHARS] for n in notes[:40]]}


if __name__ == "__main__":
    req = json.loads(sys.argv[1])
    _confine(req["limits"])
    sys.path.insert(0, req["lib"])
    try:
        reply = main(req)
    except MemoryError:
        reply = {"ok": False, "error": "unpacking it needed more memory than allowed"}
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
    os._exit(0)
