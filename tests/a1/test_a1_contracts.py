"""Assignment 1's contract table (autograder/graders/a1_numpy_layers/contracts.toml) is complete:
every task has promises, every stub function has promises naming each parameter its docstring
documents, every check the table names is a hidden test (tests/contract_helpers.py), and each
check is a test of the promise's own task (a1's graders mark their tasks per file)."""
from __future__ import annotations

import ast
from pathlib import Path

from tests.contract_helpers import load_table, problems
from vitlab.course import load_course

ROOT = Path(__file__).resolve().parents[2]
GRADERS = ROOT / "autograder" / "graders" / "a1_numpy_layers"
A1 = load_course().assignment("a1")


def _task_of_tests() -> dict[str, str]:
    """test name -> task id, from each grader file's `pytestmark = pytest.mark.taskX_Y`."""
    out = {}
    for path in GRADERS.glob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        marks = [n.value.attr for n in tree.body if isinstance(n, ast.Assign)
                 and any(getattr(t, "id", "") == "pytestmark" for t in n.targets)]
        assert len(marks) == 1 and marks[0].startswith("task"), f"{path.name}: one task marker per file"
        task = marks[0][4:].replace("_", ".")
        out.update({n.name: task for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")})
    return out


def test_contract_table_is_complete():
    rows = load_table(GRADERS / "contracts.toml")
    assert problems(A1, rows, GRADERS) == []


def test_every_check_belongs_to_its_promise_task():
    tasks = _task_of_tests()
    wrong = [(r["task"], r["function"], c, tasks.get(c)) for r in load_table(GRADERS / "contracts.toml")
             for c in r["checks"] if tasks.get(c) != r["task"]]
    assert not wrong, wrong


def test_an_incomplete_table_is_reported():
    """The check can fail: a dropped function, a dropped parameter, a misspelt check and a
    missing task are each named."""
    rows = load_table(GRADERS / "contracts.toml")
    kept = [r for r in rows if r["function"] != "layers.normal_cdf" and r["task"] != "1.8"]
    kept = [{**r, "params": [p for p in r["params"] if p != "eps"], "promise": r["promise"].replace("eps", "e")}
            if r["function"] == "layers.layernorm_forward" else r for r in kept]
    kept.append({**kept[0], "checks": ["test_no_such_check"]})
    found = "\n".join(problems(A1, kept, GRADERS))
    for needle in ("layers.normal_cdf", "task 1.8", "test_no_such_check", "'eps'"):
        assert needle in found, (needle, found)
