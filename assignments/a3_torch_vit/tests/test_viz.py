"""Task 3.10: attention maps, rollout and GPSA gates."""
import pytest
import torch

from attention_viz import attention_maps, attention_rollout, gate_values
from config import Config
from models import build_model

pytestmark = pytest.mark.task3_10


def test_maps_rollout_gates_of_a_convit():
    model = build_model(Config(model="convit", img_size=8, patch_size=2, embed_dim=8, depth=3, num_heads=4,
                               local_layers=2))
    maps = attention_maps(model, torch.randn(2, 1, 8, 8))
    assert [tuple(m.shape) for m in maps] == [(2, 4, 16, 16), (2, 4, 16, 16), (2, 4, 17, 17)]
    roll = attention_rollout(maps, num_prefix_tokens=1)
    assert roll.shape == (2, 16) and (roll >= 0).all()
    gates = gate_values(model)
    assert len(gates) == 2 and torch.allclose(gates[0], torch.sigmoid(torch.ones(4)))


def test_rollout_of_identity_attention():
    eye = torch.eye(5).expand(1, 2, 5, 5)
    roll = attention_rollout([eye, eye], num_prefix_tokens=0)
    assert torch.allclose(roll, torch.full((1, 5), 0.2)), "with identity attention every patch keeps itself"
