"""The capstone notebook executes top to bottom against the reference, in its fast dry-run
mode (VITLAB_CAPSTONE_FAST=1: the tiny smoke recipe, on a slice of the real data when it is
cached, else on a synthetic stand-in), and ends with an exported, checked checkpoint: the
first one the course grades (vit_mnist in the kit, vit_cifar10 in a CIFAR-10-only course).
On the synthetic stand-in the export is refused, as it must be, and the notebook says so."""
from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
A4 = ROOT / "solutions" / "a4_capstone"


def first_graded_checkpoint() -> str:
    """The first checkpoint that assignment.toml's task titles name ("... (checkpoints/<name>)")."""
    tasks = tomllib.loads((A4 / "assignment.toml").read_text(encoding="utf-8"))["tasks"]
    return next(m.group(1) for t in tasks if (m := re.search(r"\(checkpoints/(\w+)\)", t["title"])))


def test_capstone_notebook_runs(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("VITLAB_CAPSTONE_FAST", "1")
    nb = nbformat.read(A4 / "a4_capstone.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(A4)}}).execute()
    text = "\n".join(out.get("text", "") or "".join(out.get("data", {}).get("text/plain", ""))
                     for cell in nb.cells for out in cell.get("outputs", []))
    assert "fast dry run: True" in text
    assert "test accuracy" in text and "attention maps per block" in text
    name = first_graded_checkpoint()
    assert f"| this run: {name}" in text
    if "synthetic stand-in" in text or "export refused" in text:
        assert "export refused:" in text and "trained on synthetic data" in text
        assert re.search(rf"^{name}\s+missing", text, re.M)
    else:
        assert re.search(rf"^{name}\s+ok: ", text, re.M), "the notebook should end with an exported, checked checkpoint"
    assert not (A4 / "checkpoints").exists() and not (A4 / "runs").exists(), "a dry run must not write into the folder"
