"""NumPy-only is declared, not guessed (assignment.toml `numpy_only = true`, a1 and a2): a2
ships given code that mentions torchvision (vitdata downloads with it where installed), and
that must neither switch the rule off nor refuse every student who hands the copy in.

- the rule holds in a2: torch autograd in a student file is `banned`, and an import the scan
  cannot read finds no torch in the sandbox;
- given code is exempt by identity: the released copy is not reported, an edited copy is
  scanned like any student file.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from autograder.engine import scan
from autograder.engine.examples import write_base
from grading_helpers import FIXTURE, by_student
from vitlab.course import CourseError, load_course

COURSE = load_course()
pytestmark = pytest.mark.skipif("a2" not in {a.id for a in COURSE.assignments}, reason="this course has no a2")

# attention_backward's body in the reference, and the same gradients from torch autograd
HAND = '''    q, k, v, attn, scale = cache["q"], cache["k"], cache["v"], cache["attn"], cache["scale"]
    dv = attn.swapaxes(-1, -2) @ dout  # (..., Tk, dv)
    dattn = dout @ v.swapaxes(-1, -2)  # (..., Tq, Tk)
    dscores = layers.softmax_backward(dattn, cache["softmax"]) * scale
    dq = dscores @ k  # (..., Tq, d)
    dk = dscores.swapaxes(-1, -2) @ q  # (..., Tk, d)
'''
AUTOGRAD = '''    q, k, v = (torch.tensor(cache[n], requires_grad=True) for n in ("q", "k", "v"))
    scores = (q @ k.transpose(-1, -2)) * cache["scale"]
    (torch.softmax(scores, dim=-1) @ v).backward(torch.as_tensor(dout))
    dq, dk, dv = (t.grad.numpy() for t in (q, k, v))
'''
COMPUTED = "    torch = __import__('to' + 'rch')   # no import statement for the scan to read\n"


def _reference(root: Path, name: str) -> Path:
    """a2 solved, as a student hands it in (the given vitdata copy included), notebook left
    out: its kernel is the slow part of grading and has no bearing here."""
    d = root / name
    write_base(COURSE.assignment("a2"), d, "reference")
    (d / "a2_numpy_vit.ipynb").unlink()
    return d


def _edit(folder: Path, rel: str, old: str, new: str) -> None:
    path = folder / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{rel} no longer holds the text this test edits"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from autograder.engine.grade import grade_all
    tmp = tmp_path_factory.mktemp("numpy_only")
    subs = tmp / "subs"
    d = _reference(subs, "autograd_attention")
    _edit(d, "attention.py", HAND, AUTOGRAD)
    _edit(d, "attention.py", "import numpy as np\n", "import numpy as np\nimport torch\n")
    d = _reference(subs, "torch_helper")
    (d / "grad_tools.py").write_text("from torch.autograd import grad\n", encoding="utf-8")
    d = _reference(subs, "edited_given")   # a comment added: no longer the released file
    _edit(d, "vitdata/fetching.py", '"""', '# my notes\n"""')
    d = _reference(subs, "computed")       # every task but 2.3 is the honest reference
    _edit(d, "attention.py", HAND, COMPUTED + AUTOGRAD)
    return by_student(grade_all("a2", subs, tmp / "out", workers=1, force=True))


@pytest.mark.parametrize("student, file, lib", [("autograd_attention", "attention.py", "torch"),
                                                 ("torch_helper", "grad_tools.py", "torch"),
                                                 ("edited_given", "vitdata/fetching.py", "torchvision")])
def test_autograd_in_a_student_file_is_banned(graded, student, file, lib):
    tasks = graded[student]
    assert {t["status"] for t in tasks.values()} == {"banned"}, {k: t["status"] for k, t in tasks.items()}
    assert sum(t["score"] for t in tasks.values()) == 0
    assert f"{file!r} imports {lib}: this assignment is NumPy only" in tasks["2.3"]["message"]


def test_a_computed_import_finds_no_torch_and_the_given_copy_is_not_refused(graded):
    tasks = graded["computed"]
    attention = tasks["2.3"]   # torch is an empty folder there: the backward tests fail
    assert attention["status"] != "passed" and attention["score"] < attention["max_score"], attention["message"]
    assert "module 'torch' has no attribute" in attention["message"], attention["message"]
    honest = {k: t["status"] for k, t in tasks.items() if k not in ("2.3", "2.10")}
    assert set(honest.values()) == {"passed"}, honest


def test_the_released_given_file_is_exempt_and_an_edited_copy_is_not(tmp_path):
    released = (COURSE.root / "assignments" / "a2_numpy_vit" / "vitdata" / "fetching.py").read_bytes()
    given = {"vitdata/fetching.py": scan.digest(released)}
    (tmp_path / "vitdata").mkdir()
    copy = tmp_path / "vitdata" / "fetching.py"
    copy.write_bytes(released)
    assert scan.autograd_imports(tmp_path) == {"vitdata/fetching.py": "torchvision"}
    assert scan.autograd_imports(tmp_path, given) == {}
    copy.write_bytes(released.replace(b"\n", b"\r\n"))   # the same file, checked out on Windows
    assert scan.autograd_imports(tmp_path, given) == {}
    copy.write_bytes(released + b"\n# my notes\n")
    assert scan.autograd_imports(tmp_path, given) == {"vitdata/fetching.py": "torchvision"}
    (tmp_path / "fetching.py").write_bytes(released)     # the same text elsewhere is not given code
    assert scan.autograd_imports(tmp_path, given)["fetching.py"] == "torchvision"


def test_modes_are_declared():
    assert {a.id: a.numpy_only for a in COURSE.assignments} == \
        {a: a in ("a1", "a2") for a in ("a1", "a2", "a3", "a4") if a in {x.id for x in COURSE.assignments}}


@pytest.mark.parametrize("line", ['numpy_only = "yes"', "numpy_only = 1", 'gpu = "no"', "memory_limit_gb = -2"])
def test_a_bad_setting_is_an_error_naming_the_file_and_key(tmp_path, line):
    course = tmp_path / "course"
    shutil.copytree(FIXTURE, course, ignore=shutil.ignore_patterns("__pycache__"))
    toml = course / "solutions" / "a1_tiny" / "assignment.toml"
    key = line.split(" =")[0]
    kept = [s for s in toml.read_text(encoding="utf-8").splitlines() if not s.startswith(f"{key} =")]
    toml.write_text("\n".join(kept).replace("\n[[tasks]]", f"{line}\n\n[[tasks]]", 1), encoding="utf-8")
    with pytest.raises(CourseError) as e:
        load_course(course)
    assert str(toml) in str(e.value) and repr(key) in str(e.value), str(e.value)
