"""Tasks 2.5 and 2.6: whole models, optimisers and schedules."""
import numpy as np
import pytest

import models
import optim
from gradcheck import eval_numerical_gradient

SMALL_VIT = dict(image_size=8, in_chans=1, patch_size=4, dim=8, depth=1, num_heads=2, num_classes=3, dtype=np.float64)


def _model_grad_check(model, rng, keys):
    X, y = rng.standard_normal((3,) + (model.config["in_chans"], 8, 8)), np.array([0, 1, 2])
    loss, grads = model.loss(X, y)
    assert set(grads) == set(model.params)
    assert np.isclose(loss, np.log(3), atol=0.5)
    for key in keys:
        num = eval_numerical_gradient(lambda _: model.loss(X, y)[0], model.params[key])
        err = np.abs(num - grads[key]).max() / max(1e-8, np.abs(num).max())
        assert err < 1e-5, f"{key}: gradient error {err:.2e}"


@pytest.mark.task2_5
@pytest.mark.parametrize("pool", ["cls", "mean"])
def test_vit_gradients(rng, pool):
    model = models.ViT(**SMALL_VIT, pool=pool)
    assert model.loss(rng.standard_normal((2, 1, 8, 8))).shape == (2, 3)
    keys = ["patch.w", "pos", "blocks.0.attn.qkv.w", "head.w"] + (["cls"] if pool == "cls" else [])
    _model_grad_check(model, rng, keys)


@pytest.mark.task2_5
def test_convit_gradients(rng):
    model = models.ConViT(image_size=8, in_chans=1, channels=(2, 3), dim=8, depth=1, num_heads=2, num_classes=3,
                          dtype=np.float64)
    _model_grad_check(model, rng, ["conv1.w", "conv2.b", "patch.w", "pos", "head.w"])


def _params(rng):
    return {"head.w": rng.standard_normal((3, 2)), "head.b": rng.standard_normal(2), "pos": rng.standard_normal((1, 2, 3))}


@pytest.mark.task2_6
def test_sgd_momentum_two_steps(rng):
    p = _params(rng)
    start = {k: v.copy() for k, v in p.items()}
    g = {k: np.ones_like(v) for k, v in p.items()}
    opt = optim.SGD(p, lr=0.1, momentum=0.9)
    opt.step(g)
    opt.step(g)
    for k in p:  # buf = 1, then 0.9 * 1 + 1 = 1.9: p moved by 0.1 * (1 + 1.9)
        assert np.allclose(p[k], start[k] - 0.29)


@pytest.mark.task2_6
def test_adamw_decays_weights_only(rng):
    p = _params(rng)
    start = {k: v.copy() for k, v in p.items()}
    zero = {k: np.zeros_like(v) for k, v in p.items()}
    opt = optim.AdamW(p, lr=0.1, weight_decay=0.5)
    opt.step(zero)  # zero gradient: only decoupled weight decay moves anything
    assert np.allclose(p["head.w"], start["head.w"] * (1 - 0.1 * 0.5))
    assert np.array_equal(p["head.b"], start["head.b"]) and np.array_equal(p["pos"], start["pos"])


@pytest.mark.task2_6
def test_adam_first_step_is_lr_sized(rng):
    p = _params(rng)
    start = {k: v.copy() for k, v in p.items()}
    opt = optim.Adam(p, lr=0.01)
    opt.step({k: rng.standard_normal(v.shape) for k, v in p.items()})
    for k in p:  # bias correction makes the first step +-lr in every coordinate
        assert np.allclose(np.abs(p[k] - start[k]), 0.01, rtol=1e-4)


@pytest.mark.task2_6
def test_schedules():
    lrs = [optim.warmup_cosine(s, 1.0, 10, 110) for s in range(110)]
    assert np.isclose(lrs[0], 0.1) and np.isclose(lrs[9], 1.0)
    assert np.isclose(lrs[60], 0.5) and lrs[-1] < 1e-3
    assert optim.step_decay(25, 1.0, 10, 0.5) == 0.25
