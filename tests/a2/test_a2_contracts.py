"""Assignment 2's contract table (autograder/graders/a2_numpy_vit/contracts.toml) is complete:
every task has promises, every stub function has promises naming each parameter its docstring
documents, and every check the table names is a hidden test (tests/contract_helpers.py)."""
from __future__ import annotations

from pathlib import Path

from tests.contract_helpers import load_table, problems
from vitlab.course import load_course

ROOT = Path(__file__).resolve().parents[2]
GRADERS = ROOT / "autograder" / "graders" / "a2_numpy_vit"
A2 = load_course().assignment("a2")


def test_contract_table_is_complete():
    rows = load_table(GRADERS / "contracts.toml")
    assert problems(A2, rows, GRADERS) == []


def test_an_incomplete_table_is_reported():
    """The check can fail: a dropped row, a misspelt check and a missing task are each named."""
    rows = load_table(GRADERS / "contracts.toml")
    kept = [r for r in rows if r.get("function") != "tokens.sinusoidal_1d" and r["task"] != "2.10"]
    kept.append({**kept[0], "checks": ["test_no_such_check"]})
    found = "\n".join(problems(A2, kept, GRADERS))
    assert "tokens.sinusoidal_1d" in found and "task 2.10" in found and "test_no_such_check" in found
