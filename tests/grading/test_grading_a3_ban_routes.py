"""The a3 ban fails closed: hostile submissions that used library attention in task 3.2 and kept
full marks, each through a route the scan used to miss. A file the scan cannot read as Python
runs it is refused (never "nothing found"); code run from strings is refused by any route
(the allow-list); given code is exempt by identity, not by line; a finding costs every task
that can run it, wherever it was moved. The runtime side (the operator-level block that
cannot be undone) is in tests/a3/test_a3_ban.py."""
from __future__ import annotations

import importlib.util
import io
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from vitlab.course import load_course
from vitlab.release.fences import task_owners

ROOT = Path(__file__).resolve().parents[2]
GRADERS = ROOT / "autograder" / "graders" / "a3_torch_vit"
A3 = ROOT / "solutions" / "a3_torch_vit"
SDPA = "import torch.nn.functional as F\n\ndef attend(q, k, v):\n    return F.scaled_dot_product_attention(q, k, v)\n"

pytestmark = pytest.mark.skipif("a3_torch_vit" not in {a.folder for a in load_course().assignments},
                                reason="this course has no a3_torch_vit")


@pytest.fixture(scope="module")
def ban():
    spec = importlib.util.spec_from_file_location("a3_ban_routes_under_test", GRADERS / "a3_ban.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _owners():
    return {m: task_owners((A3 / f"{m}.py").read_text(encoding="utf-8"), f"{m}.py")
            for m in ("modules", "convit", "optim", "checkpoint", "train", "augment", "attention_viz")}


def _cost(ban, found, task):
    return ban.findings_for_task(found, task, _owners())


# -- files the scan cannot read as Python runs them -------------------------------------------
UTF7 = b"# -*- coding: utf-7 -*-\n# nothing here +AAo-import torch.nn.functional as F+AAo-f = F.softmax\n"
UNREADABLE = {
    "utf7": UTF7,
    "latin1": b"# coding: latin-1\nx = '\xe9'\n",
    "unknown_codec": b"# coding: rot13\nx = 1\n",
    "bad_utf8": b"x = '\xff\xfe'\n",
    "null_byte": b"x = 1\x00\n",
    "syntax_error": b"def f(:\n    pass\n",
}


@pytest.mark.parametrize("case", sorted(UNREADABLE))
def test_a_file_the_scan_cannot_read_is_refused_for_every_task(ban, tmp_path, case):
    (tmp_path / "helpers.py").write_bytes(UNREADABLE[case])
    found = ban.scan_submission(tmp_path, A3)
    assert found and all("helpers.py" in f.call and "refused" in f.call for f in found), [str(f) for f in found]
    assert all(_cost(ban, found, t) for t in ("3.1", "3.2", "3.7")), "a refused file costs every task"


def _zip(members: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in members.items():
            z.writestr(name, text)
    return buf.getvalue()


CODE_FILES = {
    "archive.zip": _zip({"sneaky.py": SDPA}),
    "weights.bin": _zip({"sneaky.py": SDPA}),              # zipimport reads a zip whatever its name
    "extra.pth": b"import sneaky\n",
    "__pycache__/modules.cpython-311.pyc": b"\xa7\r\r\n" + b"\0" * 12,
    "sneaky.so": b"\x7fELF",
}


@pytest.mark.parametrize("name", sorted(CODE_FILES))
def test_code_that_is_not_py_source_is_refused(ban, tmp_path, name):
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_bytes(CODE_FILES[name])
    found = ban.scan_submission(tmp_path, A3)
    assert [f.file for f in found] == [name] and found[0].everywhere, [str(f) for f in found]


def test_data_files_are_not_refused(ban, tmp_path):
    np.savez(tmp_path / "arrays.npz", a=np.zeros(3))
    (tmp_path / "notes.txt").write_text("plain text")
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "run.toml").write_text("epochs = 1\n")
    assert ban.scan_submission(tmp_path, A3) == []


# -- code run from strings, by any route ------------------------------------------------------
ROUTES = {
    "runpy": "import runpy\nrunpy.run_path('/tmp/x.py')",
    "code_module": "import code\ncode.InteractiveInterpreter().runsource('x = 1')",
    "timeit": "import timeit\ntimeit.timeit('import torch', number=1)",
    "doctest": "import doctest\ndoctest.run_docstring_examples('>>> 1', {})",
    "importlib_util": "import importlib.util\nspec = importlib.util.spec_from_file_location('m', '/tmp/m.py')",
    "importlib_machinery": "from importlib import machinery\nmachinery.SourceFileLoader('m', '/tmp/m.py')",
    "zipimport": "import zipimport\nzipimport.zipimporter('/tmp/a.zip')",
    "cprofile": "import cProfile\ncProfile.run('x = 1')",
    "pdb": "import pdb\npdb.run('x = 1')",
    "breakpoint": "def f():\n    breakpoint()",
    "trace": "import trace\ntrace.Trace().run('x = 1')",
    "site": "import site\nsite.addsitedir('/tmp')",
    "sys_path": "import sys\nsys.path.insert(0, '/tmp')",
    "sys_as_value": "import sys\nmods = [sys][0]",
    "methodcaller": "import operator\nname = 'ev' + 'al'\nf = operator.methodcaller(name)",
    "getattr_literal_private": "import torch\nops = getattr(torch, 'ops')",
    "type_hints": "import typing\ndef f(x: \"__import__('os')\"): pass\ntyping.get_type_hints(f)",
    "annotation_string_call": "def f(x: \"eval('1')\"):\n    return x",
    "singledispatch": "from functools import singledispatch",
    "logging_config": "import logging.config\nlogging.config.dictConfig({})",
    "torch_jit": "import torch\ncu = torch.jit.CompilationUnit('def f(x):\\n    return x')",
    "cpp_extension": "from torch.utils.cpp_extension import load_inline",
    "torch_hub": "import torch\ntorch.hub.load('/tmp', 'model', source='local')",
    "torch_package": "from torch.package import PackageImporter",
    "torch_library": "import torch\nlib = torch.library.Library('aten', 'IMPL')",
    "torch_private": "import torch.nn.functional as F\nmask = F._canonical_mask",
    "torch_ao_attention": "from torch.ao.nn.quantizable import modules",
    "os_exec": "import os, sys\nos.execv(sys.executable, ['python', '-c', 'print(1)'])",
    "types_code": "import types\nf = types.FunctionType",
    "module_attribute_gadget": "import vitdata.cifar as c\nobj = c.pickle.loads(b'')",
    "course_test_gadget": "import tests.test_notebook as t",
    "ctypeslib": "import numpy as np\nlib = np.ctypeslib",
    "subprocess": "import subprocess\nsubprocess.run(['python', '-c', 'print(1)'])",
    "sqlite_extension": "import sqlite3\nsqlite3.connect(':memory:').load_extension('/tmp/x.so')",
    "unknown_module": "import antigravity",
    "star_import": "from torch import *",
    "template_eval": "import string\nt = eval(string.Template('$x').substitute(x='1'))",
}


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_each_way_to_run_code_from_strings_is_refused(ban, tmp_path, route):
    (tmp_path / "modules.py").write_text(ROUTES[route] + "\n")
    assert ban.scan_submission(tmp_path, A3), f"{route} was not found"


def test_honest_code_is_not_refused(ban, tmp_path):
    (tmp_path / "helpers.py").write_text(
        "from __future__ import annotations\nimport math, os, sys, json, time\nfrom typing import Optional\n"
        "import numpy as np\nimport torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"
        "from torch.utils.data import DataLoader\n\n\n"
        "def attend(q: torch.Tensor, k, v, mask: Optional[torch.Tensor] = None) -> torch.Tensor:\n"
        "    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])\n"
        "    return F.softmax(scores, dim=-1) @ v\n\n\n"
        "def main() -> None:\n    print(sys.argv, os.path.join('a', 'b'), json.dumps({}), time.time(), np.zeros(2))\n"
        "    sys.exit(0)\n")
    assert ban.scan_submission(tmp_path, A3) == []


# -- exemptions keyed on the given code's identity, not on its lines ----------------------------
def test_a_given_line_reused_in_changed_given_code_is_found(ban, tmp_path):
    """The released test file reads attributes by computed names (given, exempt while unchanged);
    the same line added to that definition, now reading torch's attention, is not exempt."""
    rel = "tests/test_common_mistakes.py"
    text = (A3 / rel).read_text(encoding="utf-8")
    anchor = "        for n in names:   # the same module with the rates set to 0\n"
    assert anchor in text
    (tmp_path / "tests").mkdir()
    (tmp_path / rel).write_text(text, encoding="utf-8")
    assert ban.scan_submission(tmp_path, A3) == []
    sneaky = text.replace(anchor, "        module = torch.nn.functional\n        for n in ['scaled_dot_' + "
                                  "'product_attention']:\n            getattr(module, n).p = 0.0\n" + anchor, 1)
    (tmp_path / rel).write_text(sneaky, encoding="utf-8")
    line = sneaky[:sneaky.index("getattr(module, n)")].count("\n") + 1
    found = ban.scan_submission(tmp_path, A3)
    assert any(f.line == line and "computed name" in f.call for f in found), [str(f) for f in found]


# -- a finding costs the tasks that can run it, wherever it was moved ------------------------
HEAD = "import torch.nn as nn\nimport torch.nn.functional as F\n\n\n"


def _costs(ban, tmp_path, files: dict[str, str]) -> dict[str, bool]:
    for name, text in files.items():
        (tmp_path / name).write_text(HEAD + text, encoding="utf-8")
    found = ban.scan_submission(tmp_path, A3)
    assert found
    return {t: bool(_cost(ban, found, t)) for t in ("3.1", "3.2", "3.7", "3.8")}


def test_a_helper_at_module_level_of_another_tasks_file_costs_3_2(ban, tmp_path):
    costs = _costs(ban, tmp_path, {
        "modules.py": "from optim import attend\n\n\nclass Attention(nn.Module):\n"
                      "    def forward(self, x):\n        return attend(x, x, x)\n",
        "optim.py": "attend = F.scaled_dot_product_attention\n"})
    assert costs["3.2"], costs


def test_a_banned_call_in_a_task_without_a_double_costs_every_task(ban, tmp_path):
    """train_step (3.8) has no test double: the student's own runs while 3.2 is graded."""
    costs = _costs(ban, tmp_path, {
        "modules.py": "from train import train_step\n\n\nclass Attention(nn.Module):\n"
                      "    def forward(self, x):\n        return train_step(None, None, qkv=(x, x, x))\n",
        "train.py": "def train_step(model, batch, qkv=None):\n    return F.scaled_dot_product_attention(*qkv)\n"})
    assert costs["3.2"] and costs["3.8"], costs


def test_an_owned_definition_captured_at_import_costs_every_task(ban, tmp_path):
    """PatchEmbed.forward (3.1) has a double, so its library attention costs 3.1 alone, unless
    code run at import keeps the student's own version before the doubles go in."""
    patch = ("class PatchEmbed(nn.Module):\n    def forward(self, x, qkv=None):\n"
             "        return F.scaled_dot_product_attention(*qkv)\n")
    assert _costs(ban, tmp_path, {"modules.py": patch}) == {"3.1": True, "3.2": False, "3.7": False, "3.8": False}
    costs = _costs(ban, tmp_path, {"modules.py": patch + "\n\n_KEEP = [PatchEmbed.forward]\n"})
    assert all(costs.values()), costs
    wrapped = "def keep(f):\n    return f\n\n\n" + patch.replace("    def forward", "    @keep\n    def forward")
    assert all(_costs(ban, tmp_path, {"modules.py": wrapped}).values())
