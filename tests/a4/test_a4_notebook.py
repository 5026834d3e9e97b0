"""The capstone notebook executes top to bottom against the reference, in its fast dry-run
mode (VITLAB_CAPSTONE_FAST=1: the tiny smoke recipe, on a slice of real MNIST when it is
cached, else on synthetic digits), and ends with an exported, checked checkpoint."""
from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
A4 = ROOT / "solutions" / "a4_capstone"


@pytest.mark.slow
def test_capstone_notebook_runs(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("VITLAB_CAPSTONE_FAST", "1")
    nb = nbformat.read(A4 / "a4_capstone.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(A4)}}).execute()
    text = "\n".join(out.get("text", "") or "".join(out.get("data", {}).get("text/plain", ""))
                     for cell in nb.cells for out in cell.get("outputs", []))
    assert "fast dry run: True" in text
    assert "test accuracy" in text and "attention maps per block" in text
    assert "vit_mnist        ok: vit" in text, "the notebook should end with an exported, checked checkpoint"
    assert not (A4 / "checkpoints").exists() and not (A4 / "runs").exists(), "a dry run must not write into the folder"
