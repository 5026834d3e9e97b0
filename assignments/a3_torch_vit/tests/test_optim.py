"""Task 3.7: AdamW against torch.optim.AdamW, parameter groups, warm-up + cosine schedule."""
import math

import pytest
import torch

from config import Config
from models import build_model
from optim import AdamW, WarmupCosine, param_groups

pytestmark = pytest.mark.task3_7


def _run(opt_class, steps=20, **kw):
    torch.manual_seed(0)
    a, b = torch.randn(4, 3, requires_grad=True), torch.randn(3, requires_grad=True)
    opt = opt_class([{"params": [a], "weight_decay": 0.1}, {"params": [b], "lr": 0.01, "weight_decay": 0.0}],
                    lr=0.05, **kw)
    for t in range(steps):
        loss = (a.sin() * t).sum() + (b ** 2).sum() + (a @ b).pow(2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return a.detach(), b.detach(), opt


def test_adamw_matches_torch():
    a, b, _ = _run(AdamW)
    a_ref, b_ref, _ = _run(torch.optim.AdamW)
    assert torch.allclose(a, a_ref, atol=1e-6) and torch.allclose(b, b_ref, atol=1e-6)


def test_adamw_state_dict_round_trip():
    a, b, opt = _run(AdamW, steps=5)
    fresh = AdamW([{"params": [a.clone().requires_grad_()]}, {"params": [b.clone().requires_grad_()]}], lr=0.05)
    fresh.load_state_dict(opt.state_dict())
    assert fresh.state_dict()["state"][0]["exp_avg"].shape == (4, 3)
    assert float(fresh.state_dict()["state"][0]["step"]) == 5


def test_param_groups_do_not_decay_biases_norms_positions():
    model = build_model(Config(model="convit", img_size=8, patch_size=2, embed_dim=8, depth=2, num_heads=4,
                               local_layers=1))
    decay, no_decay = param_groups(model, 0.05)
    names = {id(p): n for n, p in model.named_parameters()}
    no_decay_names = {names[id(p)] for p in no_decay["params"]}
    assert decay["weight_decay"] == 0.05 and no_decay["weight_decay"] == 0.0
    for n in ("blocks.0.attn.qk.bias", "blocks.0.norm1.weight", "pos_embed", "cls_token",
              "blocks.0.attn.gating_param"):
        assert n in no_decay_names, f"{n} should not be decayed"
    assert "blocks.0.attn.qk.weight" in {names[id(p)] for p in decay["params"]}


def test_warmup_cosine():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = AdamW([p], lr=0.1)
    sched = WarmupCosine(opt, warmup_steps=4, total_steps=12, min_lr=0.001)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(14):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs[0] == 0.0 and math.isclose(lrs[2], 0.05) and math.isclose(lrs[4], 0.1)
    assert math.isclose(lrs[8], 0.001 + (0.1 - 0.001) * 0.5)       # half-way through the cosine
    assert all(math.isclose(lr, 0.001) for lr in lrs[12:])
