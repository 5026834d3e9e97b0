"""Rules read from the files (sourceless modules, autograd libraries in a NumPy assignment)
and statuses the trusted side observes itself (a reply cannot claim a timeout or memory)."""
import py_compile

import pytest

from grading_helpers import by_student, grade_tiny, make_submission, tiny_source

SOLVED = tiny_source()
ADD = "    out = a + b\n"


def _in_add(code: str) -> str:
    return SOLVED.replace(ADD, "".join(f"    {line}\n" for line in code.strip().splitlines()) + ADD, 1)


FAKE_KIND = '''
def _forge():   # a reply written straight to the reply pipe (fd 4), then gone before the worker's own
    import os
    from autograder.engine.inside import wire
    wire.send(4, {{"ok": False, "error": {{"type": "Timeout", "kind": "{kind}", "message": "fake", "traceback": ""}}}})
    os._exit(0)
'''


# the fixture's harness holds the same kind of state as a3's ban list
CLEAR_BAN = '''
from autograder.harness import doubles_a1
doubles_a1.DOUBLES.clear()
'''


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("banned")
    subs = tmp / "subs"
    make_submission(subs, "reference", {"tiny.py": SOLVED})
    make_submission(subs, "torch_import", {"tiny.py": "import torch\n" + SOLVED})
    make_submission(subs, "torch_hidden", {"tiny.py": SOLVED, "helpers.py": "from torch import nn\n"})
    make_submission(subs, "torch_computed", {"tiny.py": _in_add(
        "t = __import__('to' + 'rch')\nreturn t.as_tensor(a).add(t.as_tensor(b)).numpy()")})
    pyc = tmp / "helper.pyc"
    (tmp / "helper.py").write_text("def add(a, b):\n    return a + b\n")
    py_compile.compile(str(tmp / "helper.py"), cfile=str(pyc))
    make_submission(subs, "sourceless", {"tiny.py": tiny_source(None), "helper.pyc": pyc.read_bytes()})
    for kind in ("timeout", "memory"):
        make_submission(subs, f"claims_{kind}",
                        {"tiny.py": FAKE_KIND.format(kind=kind) + SOLVED.replace("out = a + b", "out = _forge()")})
    make_submission(subs, "clears_ban_list", {"tiny.py": CLEAR_BAN + SOLVED})
    return by_student(grade_tiny(subs, tmp / "out", workers=2))


@pytest.mark.parametrize("student", ["torch_import", "torch_hidden", "sourceless"])
def test_refused_files_score_zero_as_banned(graded, student):
    assert {t["status"] for t in graded[student].values()} == {"banned"}
    assert sum(t["score"] for t in graded[student].values()) == 0


def test_messages_name_the_file(graded):
    assert "'tiny.py' imports torch" in graded["torch_import"]["1.1"]["message"]
    assert "'helpers.py' imports torch" in graded["torch_hidden"]["1.2"]["message"]
    assert "'helper.pyc'" in graded["sourceless"]["1.3"]["message"]


def test_a_computed_import_finds_no_torch_in_the_sandbox(graded):
    t = graded["torch_computed"]["1.1"]
    assert t["status"] == "error" and t["score"] == 0, t["message"]
    assert graded["torch_computed"]["1.3"]["status"] == "passed"


@pytest.mark.parametrize("kind", ["timeout", "memory"])
def test_a_reply_cannot_claim_a_timeout_or_memory(graded, kind):
    t = graded[f"claims_{kind}"]["1.1"]
    assert t["status"] == "error" and "fake" in t["message"], (t["status"], t["message"])


def test_changing_the_harness_ban_is_tampering(graded):
    assert {t["status"] for t in graded["clears_ban_list"].values()} == {"tampered"}
