"""Hints kept in a stub stand where the student writes code and agree with the stub's message."""
from __future__ import annotations

import re

import pytest

from vitlab.course import load_course
from vitlab.release import sources
from vitlab.release.fences import render

STUB = re.compile(r'^(?P<indent>[ \t]*)raise NotImplementedError\("Task (?P<task>\d+\.\d+): (?P<message>.*)"\)$')

NESTED = '''def f(x, fast):
    ### BEGIN SOLUTION Task 1.1: return x doubled
    # a hint at the fence's level
    if fast:
        # this branch's own note, about a method the message does not mention
        y = x + x
    else:
        y = 2 * x
    ### END SOLUTION
    return y
'''


def test_hints_at_the_fence_level_stay_and_branch_comments_go():
    out = render(NESTED, "f.py")
    assert "    # a hint at the fence's level\n    raise NotImplementedError(\"Task 1.1: return x doubled\")" in out
    assert "branch's own note" not in out


def _released_stubs():
    """(file:line, hint lines above the stub, stub match) for every stub of every assignment."""
    course = load_course()
    for a in course.assignments:
        for f in sources.walk(a):
            if f.kind != "python" or f.given:
                continue
            lines = render(f.path.read_text(encoding="utf-8"), str(f.path)).splitlines()
            for i, line in enumerate(lines):
                if m := STUB.match(line):
                    j = i
                    while j > 0 and lines[j - 1].strip().startswith("#"):
                        j -= 1
                    yield f"{a.folder}/{f.rel}:{i + 1}", lines[j:i], m


def test_every_kept_hint_is_indented_like_its_stub():
    stubs = list(_released_stubs())
    assert len(stubs) > 20
    bad = [f"{where}: {hint.strip()!r}" for where, hints, m in stubs for hint in hints
           if hint[:len(hint) - len(hint.lstrip())] != m["indent"]]
    assert not bad, "hints indented unlike their stub:\n" + "\n".join(bad)


@pytest.mark.parametrize("word", ["erfc"])
def test_no_hint_names_a_method_its_message_does_not(word):
    """The 1.2 message says to use erf; no hint of the stub may point at erfc instead."""
    bad = [where for where, hints, m in _released_stubs()
           if word not in m["message"] and any(re.search(rf"\b{word}\b", h) for h in hints)]
    assert not bad
