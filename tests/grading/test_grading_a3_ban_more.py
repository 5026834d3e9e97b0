"""The a3 ban's static scan against bypasses that hide which object an attribute is read
from: every route below reaches F.scaled_dot_product_attention (or undoes the sandbox's
guard) without naming it, and each must be found. The course's own unchanged code may read
attributes by computed names; the same line in a student's own function may not."""
import importlib.util
import sys
from pathlib import Path

import pytest

from vitlab.course import load_course

ROOT = Path(__file__).resolve().parents[2]
GRADERS = ROOT / "autograder" / "graders" / "a3_torch_vit"
A3 = ROOT / "solutions" / "a3_torch_vit"
NAME = '"scaled_dot_" + "product_attention"'

# a course may keep a3's code as given code without a3 itself (and so without its graders)
pytestmark = pytest.mark.skipif("a3_torch_vit" not in {a.folder for a in load_course().assignments},
                                reason="this course has no a3_torch_vit")

ROUTES = {
    "sys_modules": f"import sys\nm = sys.modules['torch.nn.functional']\nfn = getattr(m, {NAME})",
    "import_module": f"import importlib\nm = importlib.import_module('torch.nn.functional')\nfn = getattr(m, {NAME})",
    "getattr_chain": f"import torch\nfn = getattr(getattr(torch.nn, 'functional'), {NAME})",
    "tuple_alias": f"import torch.nn.functional as F\n(m, k) = (F, 1)\nfn = getattr(m, {NAME})",
    "walrus": f"import torch.nn.functional as F\nif (m := F):\n    fn = getattr(m, {NAME})",
    "loop": f"import torch.nn.functional as F\nfor m in [F]:\n    fn = getattr(m, {NAME})",
    "parameter": f"import torch.nn.functional as F\ndef pick(m, n):\n    return getattr(m, n)\nfn = pick(F, {NAME})",
    "self_attr": f"import torch.nn.functional as F\nclass A:\n    def __init__(self):\n        self.f = F\n"
                 f"    def go(self):\n        return getattr(self.f, {NAME})",
    "attrgetter": f"import operator, torch\nfn = operator.attrgetter('nn.functional.' + {NAME})(torch)",
    "reduce": f"import functools, torch\nfn = functools.reduce(getattr, ['nn', 'functional', {NAME}], torch)",
    "globals_builtins": f"import torch.nn.functional as F\nga = globals()['__builtins__']['get' + 'attr']\nfn = ga(F, {NAME})",
    "frames": "import sys\ng = sys._getframe().f_back.f_globals",
    "tensor_globals": "import torch\ng = torch.Tensor.__torch_function__.__func__.__globals__['torch']",
    "gc": "import gc\nmods = [o for o in gc.get_objects() if type(o).__name__ == 'module']",
    "harness": "from autograder.harness import a3\na3._ATEN.clear()\na3._MODE[0].__exit__(None, None, None)",
    "harness_by_modules": "import sys as s\nh = s.modules['auto' + 'grader.harness.a3']\nh._ATEN.clear()",
    "harness_by_name": "import importlib\nh = importlib.import_module('autograder.harness.a3')\nh._ATEN.clear()",
    "modules_imported": "from sys import modules\nh = modules['torch.nn.functional']",
    "import_attr": "import importlib\nh = importlib.__import__('torch')",
    "formatter": f"import string, torch\nfn = string.Formatter().get_field('0.nn.functional.' + {NAME}, [torch], {{}})",
    "pickle": "import pickle\nfn = pickle.loads(bytes.fromhex('80'))",
    "torch_load": "import io, torch\nfn = torch.load(io.BytesIO(b''), weights_only=False)",
    "vars": f"import torch.nn.functional as F\nm = F\nfn = vars(m)[{NAME}]",
    "exception_frame": "try:\n    1 / 0\nexcept Exception as e:\n    g = e.__traceback__.tb_frame.f_globals",
}


def _scanner(path: Path):
    spec = importlib.util.spec_from_file_location(f"a3_ban_{abs(hash(str(path)))}", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod            # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def ban():
    return _scanner(GRADERS / "a3_ban.py")


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_each_hidden_route_is_found(ban, tmp_path, route):
    (tmp_path / "modules.py").write_text(ROUTES[route] + "\n")
    found = ban.scan_submission(tmp_path, A3)
    assert found, f"{route} was not found"


def test_the_course_code_passes_and_a_copy_of_its_computed_names_in_new_code_does_not(ban, tmp_path):
    assert ban.scan_submission(A3, A3) == []
    config = (A3 / "config.py").read_text(encoding="utf-8")
    (tmp_path / "config.py").write_text(config, encoding="utf-8")
    assert ban.scan_submission(tmp_path, A3) == []          # released unchanged: exempt
    (tmp_path / "config.py").write_text(config + "\n\ndef sneak(obj, key):\n    return getattr(obj, key)\n",
                                        encoding="utf-8")
    found = ban.scan_submission(tmp_path, A3)
    assert [f.owner for f in found] == ["sneak"], [str(f) for f in found]


def test_plain_code_is_not_flagged(ban, tmp_path):
    (tmp_path / "models.py").write_text(
        "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n"
        "class M(nn.Module):\n    def __init__(self, act='gelu'):\n        super().__init__()\n"
        "        self.act = getattr(F, 'gelu')\n        self.p = nn.Linear(2, 2)\n\n"
        "    def forward(self, x):\n        w = getattr(self, 'p')\n        return self.act(w(x)).softmax(-1)\n")
    assert ban.scan_submission(tmp_path, A3) == []


def test_a_release_older_than_the_reference_is_not_banned_but_a_line_added_to_given_code_is(ban, tmp_path):
    """Given code changed after the release (a new check in Config.validate): the student's older
    copy keeps its own unchanged lines exempt. A computed-name line added there is found."""
    config = (A3 / "config.py").read_text(encoding="utf-8")
    anchor = "            value = values[key]\n"
    assert anchor in config
    older = config.replace(anchor, anchor + "            older_release = True\n", 1)
    (tmp_path / "config.py").write_text(older, encoding="utf-8")
    assert ban.scan_submission(tmp_path, A3) == []
    added = config.replace(anchor, anchor + "            sneak = getattr(self, key + '')\n", 1)
    (tmp_path / "config.py").write_text(added, encoding="utf-8")
    found = ban.scan_submission(tmp_path, A3)
    assert [f.owner for f in found] == ["Config.validate"], [str(f) for f in found]


@pytest.mark.parametrize("where", ["tests/helper.py", "vitdata/__init__.py", "tests/test_modules.py"])
def test_code_hidden_in_tests_or_vitdata_is_scanned_unless_it_is_the_course_copy(ban, tmp_path, where):
    """Any .py file of a submission can be imported where student code runs: a route put in
    the released tests/ or the given vitdata/ is scanned like a task file; the course's own
    copies, unchanged, are not (they hold nothing of the student's)."""
    for rel in ("tests/test_modules.py", "vitdata/__init__.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes((A3 / rel).read_bytes())
    assert ban.scan_submission(tmp_path, A3) == []
    path = tmp_path / where
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    path.write_text(old + "\n" + ROUTES["harness"] + "\n", encoding="utf-8")
    found = ban.scan_submission(tmp_path, A3)
    assert found and {str(f.file) for f in found} == {where}, [str(f) for f in found]
