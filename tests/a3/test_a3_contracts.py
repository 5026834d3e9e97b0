"""Assignment 3's contract table (autograder/graders/a3_torch_vit/contracts.toml) is complete:
every task has promises, every stub function and the public API of every class holding one
(constructor options included) has promises naming each parameter its docstring documents,
and every check the table names is a hidden test (tests/contract_helpers.py).

The graders read the table too (a3_stubs.py): a check tied to a definition that a
submission still holds exactly as released fails as not implemented, whatever the
submission puts in its place at run time. The scan is tested here on files; the slow test
grades such a submission through the engine.
"""
from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

from autograder.engine.examples import write_base
from tests.contract_helpers import load_table, problems
from vitlab.course import load_course
from vitlab.release import fences

ROOT = Path(__file__).resolve().parents[2]
GRADERS = ROOT / "autograder" / "graders" / "a3_torch_vit"
A3 = load_course().assignment("a3")


def _stubs_module():
    spec = importlib.util.spec_from_file_location("a3_stubs_under_test", GRADERS / "a3_stubs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _owners() -> dict[str, dict[str, str]]:
    out = {}
    for f in sorted({f for t in A3.tasks for f in t.files if f.endswith(".py")}):
        path = A3.source_dir / f
        out[f[:-3]] = fences.task_owners(path.read_text(encoding="utf-8"), str(path))
    return out


def test_contract_table_is_complete():
    rows = load_table(GRADERS / "contracts.toml")
    assert problems(A3, rows, GRADERS, class_api=True) == []


def test_an_incomplete_table_is_reported():
    """The check can fail: a dropped stub, a dropped option, a misspelt check and a missing task are each named."""
    rows = load_table(GRADERS / "contracts.toml")
    kept = [r for r in rows if r.get("function") not in ("convit.rel_indices", "convit.ConViT.__init__")
            and r["task"] != "3.11"]
    kept.append({**kept[0], "checks": ["test_no_such_check"]})
    found = "\n".join(problems(A3, kept, GRADERS, class_api=True))
    for word in ("convit.rel_indices", "convit.ConViT.__init__", "task 3.11", "test_no_such_check"):
        assert word in found


def test_every_task_of_the_table_only_ties_checks_to_its_own_stubs():
    """A check is tied to stubs of its own task only (the others are the reference's in its sandbox)."""
    rows = load_table(GRADERS / "contracts.toml")
    owners = {f"{m}.{q}": t for m, quals in _owners().items() for q, t in quals.items()}
    for row in rows:
        fn = row.get("function")
        if fn in owners:
            assert owners[fn] == row["task"], row


@pytest.fixture(scope="module")
def scan():
    return _stubs_module()


def test_untouched_stubs_are_found_in_the_release_and_not_in_the_reference(scan, tmp_path):
    owners = _owners()
    every = {f"{m}.{q}" for m, quals in owners.items() for q in quals}
    write_base(A3, tmp_path / "release", "release")
    write_base(A3, tmp_path / "reference", "reference")
    assert scan.untouched(scan.submitted(str(tmp_path / "release"), sorted(owners)), str(A3.source_dir), owners) == every
    assert scan.untouched(scan.submitted(str(tmp_path / "reference"), sorted(owners)), str(A3.source_dir), owners) == frozenset()


def test_rerouting_a_stub_at_run_time_leaves_it_untouched(scan, tmp_path):
    """Code below the class that replaces the stub, a new comment or docstring: still the release's
    stub. Any change to its code makes it the student's."""
    owners = _owners()
    sub = tmp_path / "sub"
    write_base(A3, sub, "release")
    optim = sub / "optim.py"
    text = optim.read_text(encoding="utf-8").replace(
        '"""The learning rate after t scheduler steps for a group whose base lr is `base`."""',
        '"""Mine."""  # a comment')
    optim.write_text(text + "\n\nAdamW = torch.optim.AdamW\nWarmupCosine.lr_at = lambda self, t, base: base\n",
                     encoding="utf-8")
    convit = sub / "convit.py"
    released = convit.read_text(encoding="utf-8")
    stub = 'raise NotImplementedError("Task 3.5: the (N, N, 3) table'
    assert stub in released
    convit.write_text(released.replace(stub, "return torch.zeros(grid_size ** 2, grid_size ** 2, 3)\n    " + stub),
                      encoding="utf-8")
    found = scan.untouched(scan.submitted(str(sub), sorted(owners)), str(A3.source_dir), owners)
    assert {"optim.AdamW.step", "optim.WarmupCosine.lr_at", "optim.param_groups"} <= found
    assert "convit.rel_indices" not in found and "convit.GPSA.forward" in found


def test_the_table_ties_each_stub_to_checks(scan):
    needs = scan.needs()
    assert "optim.AdamW.step" in needs["test_adamw_state"]
    assert "convit.GPSA.forward" in needs["test_gpsa_positional_attention_once_per_forward"]
    assert "optim.AdamW.step" not in needs["test_warmup_cosine"]     # its steps never reach the fence


FORGE_CONVIT = """
def _table(grid_size):
    idx = torch.arange(grid_size)
    rows, cols = idx.repeat_interleave(grid_size), idx.repeat(grid_size)
    dx, dy = cols[None, :] - cols[:, None], rows[None, :] - rows[:, None]
    return torch.stack([dx, dy, dx ** 2 + dy ** 2], dim=-1).float()


rel_indices = _table                # what GPSA's constructor calls from now on


def _forward(self, x):
    self.pos_proj(self.rel_indices)     # the probe counts one call on the (N, N, 3) table
    return x


GPSA.local_init = lambda self: None
GPSA.pos_attention = lambda self: self.pos_proj(self.rel_indices).permute(2, 0, 1).softmax(dim=-1)
GPSA.forward = _forward
"""
FORGE_OPTIM = """
AdamW = torch.optim.AdamW           # library AdamW in place of the untouched stub
"""


@pytest.mark.slow
def test_rerouted_stubs_score_zero_in_3_5_and_3_7(tmp_path):
    """The untouched release plus code that puts torch's AdamW and a fake GPSA forward in place of
    the stubs at import time: tasks 3.5 and 3.7 score 0, every check of theirs not implemented."""
    from autograder.engine.grade import grade_all
    sub = tmp_path / "subs" / "forger"
    write_base(A3, sub, "release")
    (sub / "a3_torch_vit.ipynb").unlink(missing_ok=True)
    for name, code in (("convit.py", FORGE_CONVIT), ("optim.py", FORGE_OPTIM)):
        path = sub / name
        path.write_text(path.read_text(encoding="utf-8") + "\n" + textwrap.dedent(code), encoding="utf-8")
    summary = grade_all("a3", tmp_path / "subs", tmp_path / "out", workers=1, force=True)
    tasks = {t["task"]: t for t in summary.results[0]["extra_data"]["tasks"]}
    for task in ("3.5", "3.7"):
        assert tasks[task]["score"] == 0, (task, tasks[task]["message"])
        assert tasks[task]["status"] == "not_implemented", (task, tasks[task]["status"])
    assert sum(t["score"] for t in tasks.values()) == 0
