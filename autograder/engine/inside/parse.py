"""Run one parser over student data, inside a sandbox (the untrusted side of parse_sandbox.py).

Parsing a submission is work whose cost the student chooses: a 4 MB source file can ask
`ast` for gigabytes, a crafted name for minutes of a regular expression. So the trusted side
never parses student files itself; it runs this script in a sandbox of its own, which
lowers its limits first, imports the parser named in the request from the folders it was
given (grader code, copied there by the trusted side: never a solution) and prints one JSON
line:

    {"ok": true, "result": <what the parser returned, JSON>}
    {"ok": false, "error": "memory" | "recursion" | "<exception type>"}

Run as `python -I parse.py -`, with the request (JSON) on stdin, holding path (folders to import
from), module, function, args (keyword arguments, JSON) and limits (rlimits by name).
"""
from __future__ import annotations

import importlib
import json
import os
import resource
import sys


def _confine(limits: dict) -> None:
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, name), (value, value))


def main(request: dict) -> dict:
    for folder in reversed(request["path"]):
        sys.path.insert(0, folder)
    fn = getattr(importlib.import_module(request["module"]), request["function"])
    try:
        return {"ok": True, "result": fn(**request["args"])}
    except MemoryError:
        return {"ok": False, "error": "memory"}
    except RecursionError:
        return {"ok": False, "error": "recursion"}


if __name__ == "__main__":
    req = json.loads(sys.stdin.read())
    _confine(req["limits"])
    try:
        reply = main(req)
        line = json.dumps(reply)
    except MemoryError:
        line = json.dumps({"ok": False, "error": "memory"})
    except Exception as e:  # noqa: BLE001 - the parser failed: the trusted side fails closed
        line = json.dumps({"ok": False, "error": type(e).__name__})
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    os._exit(0)
