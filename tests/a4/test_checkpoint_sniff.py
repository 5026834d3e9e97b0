"""The capstone grader tells safetensors from pickles by their first bytes, without loading
either: a safetensors file whose header length happens to start with 0x80 or spell "PK" is
still safetensors; a torch.save zip or a raw pickle is refused by name; anything else is
"not a safetensors file"."""
from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "autograder" / "graders" / "a4_capstone"))
import a4_eval  # noqa: E402
from autograder.engine.checks import GradingFailure  # noqa: E402


def _safetensors_with_low_bytes(path: Path, low: int, mask: int) -> Path:
    """A valid safetensors file whose 8-byte header length n has n & mask == low (the JSON
    header padded with spaces, as safetensors itself pads it)."""
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    n = low
    while n < len(header):
        n += mask + 1
    path.write_bytes(n.to_bytes(8, "little") + header.ljust(n) + bytes(8))
    assert load_file(path)["w"].shape == (2,)          # really a safetensors file
    return path


@pytest.mark.parametrize("low,mask", [(0x80, 0xFF), (0x4B50, 0xFFFF)], ids=["0x80", "PK"])
def test_safetensors_that_looks_like_a_pickle_is_accepted(tmp_path, low, mask):
    a4_eval.sniff_safetensors(_safetensors_with_low_bytes(tmp_path / "c.safetensors", low, mask), "c")


@pytest.mark.parametrize("kind", ["torch.save", "pickle"])
def test_pickles_are_refused_by_name(tmp_path, kind):
    path = tmp_path / "c.safetensors"
    if kind == "torch.save":
        torch.save({"w": torch.zeros(2)}, path)
    else:
        path.write_bytes(pickle.dumps({"w": [0.0]}, protocol=4))
    with pytest.raises(GradingFailure, match="pickle / torch.save file"):
        a4_eval.sniff_safetensors(path, "c")


@pytest.mark.parametrize("data", [b"", b"{}", b"\x10\x00\x00\x00\x00\x00\x00\x00not json", b"\xff" * 64])
def test_garbage_is_not_safetensors(tmp_path, data):
    path = tmp_path / "c.safetensors"
    path.write_bytes(data)
    with pytest.raises(GradingFailure, match="not a safetensors file"):
        a4_eval.sniff_safetensors(path, "c")
