"""Task 3.9: safetensors checkpoints with a JSON config."""
import json

import pytest
import torch

from checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from config import Config
from models import build_model

pytestmark = pytest.mark.task3_9
CFG = Config(model="convit", img_size=8, patch_size=2, embed_dim=8, depth=2, num_heads=4, num_classes=3,
             local_layers=1)


def test_round_trip(tmp_path):
    model = build_model(CFG)
    path = save_checkpoint(tmp_path / "checkpoint.safetensors", model, CFG, extra={"epoch": 2})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.safetensors", "config.json"]
    assert json.loads((tmp_path / "config.json").read_text()) == CFG.to_dict()
    loaded, cfg = load_checkpoint(path)
    assert cfg == CFG
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k


def test_mismatch_names_the_key(tmp_path):
    from safetensors.torch import load_file, save_file
    path = save_checkpoint(tmp_path / "checkpoint.safetensors", build_model(CFG), CFG)
    tensors = load_file(path)
    tensors.pop("head.bias")
    save_file(tensors, path)
    with pytest.raises(CheckpointError, match="head.bias"):
        load_checkpoint(path)
