"""Hidden graders, task 2.6: optimisers against torch.optim over 100 steps; schedules."""
import math

import numpy as np
import pytest
import torch

from autograder.engine.checks import expect_close, sweep

pytestmark = pytest.mark.task2_6

NAMES = {"blocks.0.attn.qkv.w": (6, 18), "blocks.0.attn.qkv.b": (18,), "blocks.0.ln1.g": (6,),
         "blocks.0.ln1.b": (6,), "pos": (1, 5, 6), "cls": (1, 1, 6), "conv1.w": (2, 1, 3, 3), "head.w": (6, 3),
         "head.b": (3,)}
STEPS = 100


def _problem(rng):
    params = {k: rng.standard_normal(s) for k, s in NAMES.items()}
    grads = [{k: rng.standard_normal(s) * (1 + i % 7) for k, s in NAMES.items()} for i in range(STEPS)]
    return params, grads


def _torch_run(cls, params, grads, groups_fn, lrs=None):
    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    opt = cls(groups_fn(tp))
    for i, g in enumerate(grads):
        for k, t in tp.items():
            t.grad = torch.from_numpy(g[k].copy())
        if lrs is not None:
            for group in opt.param_groups:
                group["lr"] = lrs[i]
        opt.step()
    return {k: t.detach().numpy() for k, t in tp.items()}


def _compare(got, expected, what):
    for k in NAMES:
        expect_close(got.get(k) if type(got) is dict else got, expected[k], rtol=1e-9, atol=1e-11,
                     name=f"{what}: parameter {k!r} after {STEPS} steps")


@pytest.mark.parametrize("kw", [dict(lr=0.01), dict(lr=0.01, momentum=0.9), dict(lr=0.02, momentum=0.9, weight_decay=0.01),
                                dict(lr=0.01, momentum=0.8, nesterov=True)])
def test_sgd_matches_torch(student, rng, kw):
    params, grads = _problem(rng)
    got = student.call("harness:a2.run_optimizer", "SGD", kw, params, grads)
    _compare(got, _torch_run(lambda ps: torch.optim.SGD(ps, **kw), params, grads, lambda tp: list(tp.values())),
             f"SGD({kw})")


def test_sgd_momentum_with_changing_lr(student, rng):
    """A schedule changes opt.lr between steps; the momentum buffer must not absorb the lr."""
    params, grads = _problem(rng)
    lrs = [0.05 * (0.5 + 0.5 * math.cos(math.pi * i / STEPS)) for i in range(STEPS)]
    kw = dict(lr=0.05, momentum=0.9)
    got = student.call("harness:a2.run_optimizer", "SGD", kw, params, grads, lrs)
    _compare(got, _torch_run(lambda ps: torch.optim.SGD(ps, **kw), params, grads, lambda tp: list(tp.values()), lrs),
             "SGD with a schedule")


@pytest.mark.parametrize("kw", [dict(lr=1e-3), dict(lr=3e-3, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)])
def test_adam_matches_torch(student, rng, kw):
    params, grads = _problem(rng)
    got = student.call("harness:a2.run_optimizer", "Adam", kw, params, grads)
    _compare(got, _torch_run(lambda ps: torch.optim.Adam(ps, **kw), params, grads, lambda tp: list(tp.values())),
             f"Adam({kw})")


def _adamw_groups(wd):
    def groups(tp):
        decay = [t for k, t in tp.items() if k.endswith(".w")]
        rest = [t for k, t in tp.items() if not k.endswith(".w")]
        return [{"params": decay, "weight_decay": wd}, {"params": rest, "weight_decay": 0.0}]
    return groups


@pytest.mark.parametrize("kw", [dict(lr=1e-3, weight_decay=0.05), dict(lr=5e-3, betas=(0.9, 0.95), weight_decay=0.3)])
def test_adamw_matches_torch(student, rng, kw):
    """Decoupled weight decay on weights (".w") only: not on biases, norms, pos or cls."""
    params, grads = _problem(rng)
    got = student.call("harness:a2.run_optimizer", "AdamW", kw, params, grads)
    opt_kw = {k: v for k, v in kw.items() if k != "weight_decay"}
    expected = _torch_run(lambda groups: torch.optim.AdamW(groups, **opt_kw), params, grads,
                          _adamw_groups(kw["weight_decay"]))
    _compare(got, expected, f"AdamW({kw})")


def test_adamw_with_schedule(student, rng):
    params, grads = _problem(rng)
    lrs = [1e-3 * min(1.0, (i + 1) / 10) for i in range(STEPS)]
    got = student.call("harness:a2.run_optimizer", "AdamW", dict(lr=1e-3, weight_decay=0.1), params, grads, lrs)
    expected = _torch_run(lambda g: torch.optim.AdamW(g, lr=1e-3), params, grads, _adamw_groups(0.1), lrs)
    _compare(got, expected, "AdamW with a schedule")


@pytest.mark.property
def test_optimizers_update_in_place_and_leave_gradients_alone(student, rng):
    """Every optimiser updates the caller's parameter arrays in place (model.params changes) and keeps its
    own state: the gradient arrays handed to step() are never changed, even after later steps."""
    params, grads = _problem(rng)
    grads = grads[:5]

    def check(case):
        r = student.call("harness:a2.run_optimizer_inputs", case["optimizer"], case["kw"], params, grads)
        for k in NAMES:
            expect_close(r["caller"].get(k), r["params"][k], rtol=0,
                         name=f"{case['optimizer']}: the caller's array for {k!r} (updated in place)",
                         hint="update p in place (p -= ..., p[...] = ...): the model holds these very arrays")
        for i, g in enumerate(grads):
            for k in NAMES:
                expect_close(r["grads"][i].get(k), g[k], rtol=0,
                             name=f"{case['optimizer']}: gradient {k!r} of step {i + 1} after the run",
                             hint="copy a gradient before keeping it as state (buf = g.copy())")
    sweep([{"optimizer": "SGD", "kw": {"lr": 0.01, "momentum": 0.9}},
           {"optimizer": "SGD", "kw": {"lr": 0.01, "momentum": 0.9, "nesterov": True}},
           {"optimizer": "Adam", "kw": {"lr": 1e-3}},
           {"optimizer": "AdamW", "kw": {"lr": 1e-3, "weight_decay": 0.1}}], check, vary=["optimizer"])


def _cosine(step, base, warm, total, min_lr):
    if step < warm:
        return base * (step + 1) / warm
    s = min(1.0, (step - warm) / max(1, total - warm))
    return min_lr + (base - min_lr) * 0.5 * (1 + math.cos(math.pi * s))


@pytest.mark.parametrize("args", [(1e-3, 10, 100, 0.0), (0.5, 0, 50, 1e-3), (2e-3, 469, 4690, 1e-5)])
def test_warmup_cosine_values(student, args):
    """Warm-up from step 0 ((step + 1) / warmup_steps), the cosine after it, capped at total_steps."""
    base, warm, total, min_lr = args

    def check(case):
        step = case["step"]
        got = student.call("optim.warmup_cosine", step, base, warm, total, min_lr)
        expect_close(got, _cosine(step, base, warm, total, min_lr), rtol=1e-12, atol=1e-15,
                     name=f"warmup_cosine(step={step}, base_lr={base}, warmup={warm}, total={total}, min_lr={min_lr})")
    steps = sorted({0, 1, max(0, warm - 1), warm, warm + 1, (warm + total) // 2, total - 1, total, total + 5})
    sweep([{"step": s} for s in steps], check)


def test_step_decay_values(student):
    """base_lr * gamma ** (step // step_size), with the default gamma 0.1 and another one."""
    def check(case):
        step, kw = case["step"], {} if case["gamma"] == 0.1 else {"gamma": case["gamma"]}
        expect_close(student.call("optim.step_decay", step, 0.1, 10, **kw), 0.1 * case["gamma"] ** (step // 10),
                     rtol=1e-12, name=f"step_decay(step={step}, base_lr=0.1, step_size=10, gamma={case['gamma']})")
    sweep([{"step": s, "gamma": g} for g in (0.5, 0.1) for s in (0, 9, 10, 11, 29, 30, 100)], check)
