"""Task 3.7: AdamW against torch.optim.AdamW (100 steps, 1e-6), its state dict, the parameter
groups (no decay for biases, norms, positions, class token, gates) and the schedule."""
import math

import pytest
import torch

from a3_common import cfg_dict, close, gen
from autograder.engine.checks import GradingFailure, expect_close, sweep

pytestmark = pytest.mark.task3_7


def _params(seed: int) -> list[torch.Tensor]:
    g = gen(seed)
    return [torch.randn(shape, generator=g) for shape in [(5, 4), (4,), (3, 2, 2), (1,)]]


GROUPS = [{"idx": [0, 2], "lr": 3e-2, "weight_decay": 0.1},
          {"idx": [1, 3], "lr": 1e-2, "weight_decay": 0.0, "betas": (0.8, 0.99), "eps": 1e-6}]
DEFAULTS = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.05}


def _fake_grads(params, t, seed):
    g = torch.Generator().manual_seed(seed * 1000 + t)
    for p in params:
        p.grad = torch.sin(3.0 * p.detach()) + torch.randn(p.shape, generator=g, dtype=p.dtype)


def _torch_adamw(params, steps, seed):
    ps = [p.clone().requires_grad_() for p in params]
    opt = torch.optim.AdamW([{**{k: v for k, v in g.items() if k != "idx"}, "params": [ps[i] for i in g["idx"]]}
                             for g in GROUPS], **DEFAULTS, foreach=False)
    for t in range(steps):
        _fake_grads(ps, t, seed)
        opt.step()
    return ps, opt


def test_adamw_matches_torch_over_100_steps(student):
    """Two parameter groups (own lr, weight decay, betas, eps), 100 steps: every parameter within 1e-6."""
    params = _params(71)
    got = student.call("harness:a3.adamw_run", params, GROUPS, DEFAULTS, 100, 71)
    want, _ = _torch_adamw(params, 100, 71)
    for i, (g, w) in enumerate(zip(got["params"], want)):
        expect_close(g, w.detach(), rtol=1e-6, atol=1e-6, name=f"parameter {i} after 100 steps",
                     hint="bias-correct both moments; decay as p *= 1 - lr * weight_decay, before the update")


def test_adamw_first_step(student):
    """One step from zero moments: the size of Adam's first step is about lr per coordinate."""
    params = _params(72)
    got = student.call("harness:a3.adamw_run", params, GROUPS, DEFAULTS, 1, 72)
    want, _ = _torch_adamw(params, 1, 72)
    for i, (g, w) in enumerate(zip(got["params"], want)):
        expect_close(g, w.detach(), rtol=1e-6, atol=1e-7, name=f"parameter {i} after 1 step",
                     hint="at step 1, m / (1 - beta1) = g and v / (1 - beta2) = g^2")


def test_adamw_state(student):
    """State per parameter after 10 steps: step, exp_avg, exp_avg_sq as torch keeps them."""
    params = _params(73)
    got = student.call("harness:a3.adamw_run", params, GROUPS, DEFAULTS, 10, 73)
    _, opt = _torch_adamw(params, 10, 73)
    want = opt.state_dict()["state"]
    if type(got["state"]) is not dict or sorted(got["state"]) != sorted(want):
        raise GradingFailure("optimizer state should have one entry per parameter that was stepped")
    for i in sorted(want):
        for key in ("exp_avg", "exp_avg_sq"):
            if key not in got["state"][i]:
                raise GradingFailure(f"state of parameter {i} has no {key!r}")
            # float32 moments: `b1*m + (1-b1)*g` and `m.lerp_(g, 1-b1)` differ by a rounding step,
            # so the absolute floor follows the tensor's scale (1e-6 of its largest entry).
            close(got["state"][i][key], want[i][key], 1e-6, f"state[{i}][{key!r}] after 10 steps",
                  hint="exp_avg = beta1 * exp_avg + (1 - beta1) * g; exp_avg_sq likewise with g * g and beta2")


def test_adamw_state_dict_round_trip(student):
    """Rebuilding the optimiser from its state_dict after 40 steps changes nothing over 100 steps."""
    params = _params(74)
    got = student.call("harness:a3.adamw_run", params, GROUPS, DEFAULTS, 100, 74, 40)
    want, _ = _torch_adamw(params, 100, 74)
    for i, (g, w) in enumerate(zip(got["params"], want)):
        expect_close(g, w.detach(), rtol=1e-6, atol=1e-6, name=f"parameter {i} (reloaded at step 40)",
                     hint="keep everything the update needs (step count, moments) in self.state")


def _expected_groups(model, trainable_only: bool = False) -> tuple[set, set]:
    decay, no_decay = set(), set()
    for name, p in model.named_parameters():
        if trainable_only and not p.requires_grad:
            continue
        leaf = name.rsplit(".", 1)[-1]
        (no_decay if p.ndim < 2 or leaf in ("pos_embed", "cls_token", "gating_param") else decay).add(name)
    return decay, no_decay


@pytest.mark.parametrize("model", ["convit", "vit"])
def test_param_groups(student, model):
    """Weights decay; biases, norms, positions, the class token and GPSA gates do not."""
    from a3_common import build
    cfg = cfg_dict(model=model)
    decay, no_decay = _expected_groups(build(cfg))
    got = student.call("harness:a3.param_group_names", cfg, 0.07)
    if type(got) is not list or len(got) == 0:
        raise GradingFailure("param_groups should return a list of parameter groups")
    seen: dict[str, float] = {}
    for names, wd in got:
        for n in names:
            if n in seen:
                raise GradingFailure(f"parameter {n!r} is in two groups")
            seen[n] = wd
    missing = sorted((decay | no_decay) - set(seen))
    if missing:
        raise GradingFailure(f"parameters in no group: {missing[:4]}")
    wrong_decay = sorted(n for n in no_decay if seen[n] != 0.0)
    if wrong_decay:
        raise GradingFailure(f"{wrong_decay[:4]} should not be decayed (weight_decay 0)",
                             hint="no decay for biases, LayerNorm, pos_embed, cls_token, gating_param")
    wrong_keep = sorted(n for n in decay if not math.isclose(seen[n], 0.07))
    if wrong_keep:
        raise GradingFailure(f"{wrong_keep[:4]} should be decayed with the given weight_decay")


def test_param_groups_leave_out_frozen_parameters(student):
    """Parameters with requires_grad=False (a frozen patch embedding) are in neither group."""
    from a3_common import build
    cfg = cfg_dict(model="vit")
    model = build(cfg)
    model.patch_embed.requires_grad_(False)
    decay, no_decay = _expected_groups(model, trainable_only=True)
    handle = student.call("models.build_model", student.call("config.Config.from_dict", cfg))
    student.call(handle, "patch_embed.requires_grad_", False)
    got = student.call("optim.param_groups", handle, 0.07)
    if type(got) is not list or any(type(g) is not dict or type(g.get("params")) is not list for g in got):
        raise GradingFailure("param_groups should return a list of dicts, each with a list of parameters")
    sizes = sorted(len(g["params"]) for g in got)
    if sum(sizes) != len(decay) + len(no_decay):
        raise GradingFailure(f"the groups hold {sum(sizes)} parameters; the model has "
                             f"{len(decay) + len(no_decay)} trainable ones (the frozen patch embedding is left out)",
                             hint="skip parameters with requires_grad=False")
    if any(p.requires_grad is not True for g in got for p in g["params"]):
        raise GradingFailure("a group holds a parameter with requires_grad=False",
                             hint="skip parameters with requires_grad=False")


def _lr(t, base, warmup, total, min_lr):
    if t < warmup:
        return base * t / warmup
    if t >= total:
        return min_lr
    s = (t - warmup) / max(1, total - warmup)
    return min_lr + (base - min_lr) * 0.5 * (1 + math.cos(math.pi * s))


@pytest.mark.weight(3)
def test_warmup_cosine(student):
    """Linear warm-up to each group's lr, cosine to min_lr, flat afterwards (two groups), read
    after every step from 0 to 3 steps past the end: a schedule one step off fails."""
    base = [0.1, 0.02]
    cases = [dict(warmup=5, total=20, min_lr=1e-4), dict(warmup=0, total=10, min_lr=0.0),
             dict(warmup=3, total=3, min_lr=1e-3), dict(warmup=1, total=7, min_lr=0.0)]

    def check(case):
        warmup, total, min_lr = case["warmup"], case["total"], case["min_lr"]
        got = student.call("harness:a3.schedule", base, warmup, total, min_lr, total + 3)
        if type(got) is not list or len(got) != total + 4:
            raise GradingFailure(f"expected {total + 4} learning-rate readings, got something else")
        for t, row in enumerate(got):
            for gi, b in enumerate(base):
                expect_close(row[gi], _lr(t, b, warmup, total, min_lr), rtol=1e-9, atol=1e-12,
                             name=f"lr of group {gi} after {t} steps (warmup {warmup}, total {total})")

    sweep(cases, check, hints={"warmup": "warm-up: lr(t) = base * t / warmup for t < warmup (lr(0) = 0)"})
