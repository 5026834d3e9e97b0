"""The ban on library attention in Assignment 3: the static scan (trusted side) and the
runtime guard (sandbox side). Grading a banned submission end to end is in
test_a3_graded_variants.py."""
import importlib.util
import sys

import pytest

from vitlab.release.fences import task_owners

from .conftest import A3, ROOT, run_a3

GRADERS = ROOT / "autograder" / "graders" / "a3_torch_vit"


def _scanner():
    spec = importlib.util.spec_from_file_location("a3_ban_under_test", GRADERS / "a3_ban.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod            # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


BANNED_MODULES_PY = '''
"""Docstrings may name F.scaled_dot_product_attention without being flagged."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn import MultiheadAttention as MHA


class Attention(nn.Module):
    def forward(self, x):
        ### BEGIN SOLUTION Task 3.2: attention
        return F.scaled_dot_product_attention(x, x, x)
        ### END SOLUTION


class Block(nn.Module):
    def forward(self, x):
        ### BEGIN SOLUTION Task 3.3: block
        layer = getattr(torch.nn.functional, "scaled_dot_product_attention")
        return nn.Transformer()(x)
        ### END SOLUTION


def helper(x):
    return x
'''


def test_static_scan_finds_each_form_and_its_task(tmp_path):
    ban = _scanner()
    (tmp_path / "modules.py").write_text(BANNED_MODULES_PY)
    (tmp_path / "extra.py").write_text("import timm\nfrom einops.layers.torch import Rearrange\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("import torch.nn.functional as F\nF.scaled_dot_product_attention\n")
    found = ban.scan_submission(tmp_path)
    calls = sorted((f.file, f.line, f.call) for f in found)
    assert ("modules.py", 6, "nn.MultiheadAttention") in calls                 # from-import alias
    assert ("modules.py", 12, "F.scaled_dot_product_attention") in calls       # attribute
    assert any(c[1] == 19 and "named in a string" in c[2] for c in calls)      # getattr by string
    assert ("modules.py", 20, "nn.Transformer") in calls
    assert ("extra.py", 1, "import timm") in calls
    assert any(c[0] == "extra.py" and "einops.layers" in c[2] for c in calls)
    assert not any(c[1] == 2 for c in calls if c[0] == "modules.py"), "docstrings are not flagged"
    # a test file the student added can be imported where their code runs: it is scanned too
    assert ("tests/test_x.py", 2, "F.scaled_dot_product_attention") in calls
    owners = {"modules": task_owners(BANNED_MODULES_PY, "modules.py")}
    files = {"3.1": ["modules.py"], "3.2": ["modules.py"], "3.3": ["modules.py"], "3.7": ["optim.py"]}
    per_task = {t: sorted(f.line for f in ban.findings_for_task(found, t, owners, files)) for t in files}
    # inside Attention.forward -> 3.2 only; inside Block.forward -> 3.3 only (each has a test
    # double, so neither runs while another task is graded); module level runs at import while
    # every task is graded -> every task; a file no task owns -> every task
    assert 12 in per_task["3.2"] and 12 not in per_task["3.3"] and 12 not in per_task["3.1"]
    assert {19, 20} <= set(per_task["3.3"]) and 20 not in per_task["3.2"]
    assert all(6 in per_task[t] for t in files)
    assert 1 in per_task["3.7"]                                                 # extra.py: import timm


def test_static_scan_passes_the_reference():
    assert _scanner().scan_submission(A3, A3) == []   # the course's own code, unchanged


def test_runtime_guard_blocks_every_route_and_leaves_watched_modules_alone():
    got = run_a3("""
    import json, sys, torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.nn.functional import scaled_dot_product_attention as early_alias   # taken before the guard
    before = {name: id(getattr(F, name)) for name in dir(F) if not name.startswith("_")}
    before_torch = {name: id(getattr(torch, name)) for name in dir(torch) if not name.startswith("_")}
    import autograder.harness.a3              # importing the helpers turns the guard on
    from autograder.harness import attention_ban as h
    q = torch.randn(1, 2, 3, 4)
    routes = {
        "F.sdpa": lambda: F.scaled_dot_product_attention(q, q, q),
        "early alias": lambda: early_alias(q, q, q),
        "getattr string": lambda: getattr(F, "scaled_dot_" + "product_attention")(q, q, q),
        "torch._C._nn": lambda: torch._C._nn.scaled_dot_product_attention(q, q, q),
        "aten op": lambda: torch.ops.aten.scaled_dot_product_attention(q, q, q),
        "nn.MultiheadAttention": lambda: nn.MultiheadAttention(4, 2),
        "nn.TransformerEncoderLayer": lambda: nn.TransformerEncoderLayer(4, 2),
        "import timm": lambda: __import__("timm"),
    }
    out = {}
    for name, fn in routes.items():
        try:
            fn()
            out[name] = "allowed"
        except Exception as e:
            out[name] = type(e).__name__ + ": " + str(e)
    caught_then_checked = ""
    try:
        h.check_ban()
    except Exception as e:
        caught_then_checked = type(e).__name__
    from config import Config
    from models import build_model
    ok = [list(build_model(Config(model=m, patch_size=4)).eval()(torch.randn(2, 1, 28, 28)).shape)
          for m in ("vit", "convit_hybrid", "convit")]
    after = {name: id(getattr(F, name)) for name in dir(F) if not name.startswith("_")}
    after_torch = {name: id(getattr(torch, name)) for name in dir(torch) if not name.startswith("_")}
    print(json.dumps({"routes": out, "attempts": len(h.ATTEMPTS), "check": caught_then_checked, "models": ok,
                      "F_changed": sorted(k for k in before if before[k] != after.get(k)),
                      "torch_changed": sorted(k for k in before_torch if before_torch[k] != after_torch.get(k))}))
    """)
    for name, result in got["routes"].items():
        assert result.startswith("BannedCallError"), f"{name}: {result}"
        assert "not allowed in Assignment 3" in result
    assert "scaled_dot_product_attention" in got["routes"]["early alias"]
    assert "nn.MultiheadAttention" in got["routes"]["nn.MultiheadAttention"]
    assert got["attempts"] == len(got["routes"]) and got["check"] == "BannedCallError"
    assert got["models"] == [[2, 10]] * 3, "the reference models must run under the guard"
    assert got["F_changed"] == [] and got["torch_changed"] == [], "the guard must not touch watched modules"


HIDDEN_ROUTES_PY = '''
import builtins
import torch
import torch.nn.functional as F
from torch import nn as tnn

fn_alias = F
ops = torch.ops


def a(q):
    return getattr(fn_alias, "scaled_dot_" + "product_attention")(q, q, q)


def b(q):
    return vars(tnn)["functional"], F.__dict__["softmax"], ops.aten.__getattr__("x")


def c(q):
    return eval("F.softmax(q, -1)"), builtins.exec("pass"), __import__("tor" + "ch")


def fine(model, cfg):   # literal names, model.eval() and torch.compile are fine (a computed name is not:
    model.eval()          # which object it is read from cannot be known; see test_grading_a3_ban_more.py)
    return getattr(model, "name", None), getattr(torch, "float32"), torch.compile
'''


def test_static_scan_refuses_computed_access_to_torch_and_dynamic_code(tmp_path):
    (tmp_path / "routes.py").write_text(HIDDEN_ROUTES_PY)
    found = _scanner().scan_submission(tmp_path)
    by_owner = {}
    for f in found:
        by_owner.setdefault(f.owner, []).append(f.call)
    assert "fine" not in by_owner, by_owner["fine"]
    assert any("getattr(fn_alias" in c for c in by_owner["a"])
    assert len(by_owner["b"]) == 3 and all("computed name" in c for c in by_owner["b"])
    assert {c.split("(")[0] for c in by_owner["c"]} == {"eval", "exec", "__import__"}


def test_attention_is_blocked_at_the_operator_level_too():
    """Even a route the Python-level guard never sees (torch.ops.aten) refuses to run."""
    got = run_a3("""
        import json, sys, torch
        sys.path.insert(0, %r)
        from autograder.harness import a3
        q = torch.randn(1, 2, 3, 4)
        out = {}
        for name in ("scaled_dot_product_attention", "_scaled_dot_product_attention_math",
                     "_scaled_dot_product_flash_attention_for_cpu"):
            try:
                getattr(torch.ops.aten, name)(q, q, q)
                out[name] = "ran"
            except Exception as e:
                out[name] = type(e).__name__
        out["matmul"] = list((q @ q.transpose(-1, -2)).softmax(-1).shape)
        print(json.dumps(out))
    """ % str(ROOT))
    assert got.pop("matmul") == [1, 2, 3, 3]
    assert set(got.values()) == {"BannedCallError"}, got


def test_undoing_the_runtime_guard_is_seen_by_the_tamper_check():
    """The guard lives in the sandbox, where student code can rewrite it; each way of undoing
    it (a cleared list, a rebound function, a swapped code object) must show as tampering,
    while the guard's own bookkeeping (ATTEMPTS) may change freely."""
    got = run_a3("""
        import json, sys, torch
        sys.path.insert(0, %r)
        import autograder.harness.a3
        from autograder.harness import attention_ban as ban
        from autograder.engine.inside.worker import _changed, _snapshot
        undo = {
            "cleared": lambda: ban.BANNED_FUNCTIONS.clear(),
            "rebound": lambda: setattr(ban, "check_ban", lambda: None),
            "code": lambda: setattr(ban.install_ban, "__code__", (lambda: True).__code__),
            "attempts": lambda: ban.ATTEMPTS.append("x"),
        }
        out = {}
        for name, fn in undo.items():
            snap = _snapshot()
            fn()
            out[name] = [c for c in _changed(snap) if "attention_ban" in c]
        print(json.dumps(out))
    """ % str(ROOT))
    assert got.pop("attempts") == []
    for name, changed in got.items():
        assert changed, f"{name}: undoing the guard went unseen"


def test_the_operator_level_block_cannot_be_undone_from_python():
    """With the Python-level guard popped, every way Python code has to remove a dispatcher
    registration (destroy each Library gc can find, run every weakref finalizer, clear the
    harness's lists, register a kernel over it) leaves the attention kernels refusing."""
    got = run_a3("""
        import gc, json, sys, weakref, torch
        sys.path.insert(0, %r)
        from autograder.harness import a3
        from autograder.harness import attention_ban as ban
        for mode in list(ban._MODE):
            mode.__exit__(None, None, None)
        for name in dir(ban):
            if isinstance(getattr(ban, name), list) and name != "BANNED_OPS":
                for obj in getattr(ban, name):
                    if isinstance(obj, torch.library.Library):
                        obj._destroy()
                getattr(ban, name).clear()
        for obj in gc.get_objects():
            if isinstance(obj, torch.library.Library) and obj.ns == "aten":
                obj._destroy()
        for fin in list(weakref.finalize._registry):
            fin()
        gc.collect()
        try:
            lib = torch.library.Library("aten", "IMPL")
            lib.impl("scaled_dot_product_attention", lambda *a, **k: None, "CPU")
            lib._destroy()
        except Exception:
            pass
        q = torch.randn(1, 2, 3, 4)
        out = {}
        for name in ("scaled_dot_product_attention", "_scaled_dot_product_attention_math",
                     "_scaled_dot_product_flash_attention_for_cpu"):
            try:
                getattr(torch.ops.aten, name)(q, q, q)
                out[name] = "ran"
            except Exception as e:
                out[name] = type(e).__name__ + ": " + str(e)[:80]
        try:
            torch.nn.functional.scaled_dot_product_attention(q, q, q)
            out["F"] = "ran"
        except Exception as e:
            out["F"] = type(e).__name__
        print(json.dumps(out))
    """ % str(ROOT))
    assert set(v.split(":")[0] for v in got.values()) == {"BannedCallError"}, got
