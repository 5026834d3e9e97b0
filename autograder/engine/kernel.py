"""Start an IPython kernel for nbgrader inside the sandbox, confined first.

Run as `python -I kernel.py LIMITS_JSON -f CONNECTION_FILE ...` (the kernel spec's argv,
inside bubblewrap when available). Before ipykernel is imported it lowers its own rlimits
and installs the no-new-processes seccomp filter, then puts the notebook's folder (the
working directory) on sys.path as a normal kernel would have it.
"""
from __future__ import annotations

import json
import os
import resource
import sys

GRADER_LIB = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def confine(limits: dict) -> None:
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, name), (value, value))
    sys.path.insert(0, GRADER_LIB)
    from autograder.engine import seccomp
    if seccomp.supported():
        seccomp.install()
    sys.path.remove(GRADER_LIB)


def main() -> None:
    confine(json.loads(sys.argv[1]))
    devnull = os.open(os.devnull, os.O_WRONLY)   # ipykernel's own start-up chatter; what
    os.dup2(devnull, 1)                          # the notebook prints travels as messages
    os.dup2(devnull, 2)
    sys.argv = [sys.argv[0], *sys.argv[2:]]
    sys.path.insert(0, os.getcwd())
    from ipykernel import kernelapp
    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
