import numpy as np
import pytest

import layers

pytestmark = pytest.mark.task1_4


def test_layernorm_normalises_last_axis(rng, close):
    x = 3 + 2 * rng.standard_normal((4, 5, 8))
    out, _ = layers.layernorm_forward(x, np.ones(8), np.zeros(8))
    close(out.mean(axis=-1), np.zeros((4, 5)), "mean of out", atol=1e-12)
    close(out.var(axis=-1), np.full((4, 5), 1.0), "variance of out", rtol=1e-4)


def test_layernorm_gradient_check(rng, num_grad, close):
    x, gamma, beta = rng.standard_normal((2, 3, 5)), rng.standard_normal(5), rng.standard_normal(5)
    dout = rng.standard_normal((2, 3, 5))
    _, cache = layers.layernorm_forward(x, gamma, beta)
    dx, dgamma, dbeta = layers.layernorm_backward(dout, cache)
    close(dx, num_grad(lambda a: layers.layernorm_forward(a, gamma, beta)[0], x, dout), "dx", rtol=1e-5, atol=1e-7)
    close(dgamma, num_grad(lambda a: layers.layernorm_forward(x, a, beta)[0], gamma, dout), "dgamma", rtol=1e-5)
    close(dbeta, num_grad(lambda a: layers.layernorm_forward(x, gamma, a)[0], beta, dout), "dbeta", rtol=1e-5)


def test_layernorm_tiny_variance_is_finite():
    x = 1.0 + 1e-7 * np.arange(6.0).reshape(2, 3)
    out, cache = layers.layernorm_forward(x, np.ones(3), np.zeros(3))
    dx, _, _ = layers.layernorm_backward(np.ones_like(x), cache)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(dx))
    assert np.all(np.abs(out) < 0.1)  # variance << eps: the output is squashed towards 0


def test_layernorm_rejects_wrong_gamma():
    layers.layernorm_forward(np.zeros((2, 4)), np.ones(4), np.zeros(4))  # matching shapes work
    with pytest.raises(ValueError, match="gamma should have shape"):
        layers.layernorm_forward(np.zeros((2, 4)), np.ones(3), np.zeros(4))


def test_layernorm_large_mean_small_spread(rng, close):
    """Mean 1e4, spread 1e-2: E[x^2] - E[x]^2 cancels catastrophically here."""
    x = 1e4 + 1e-2 * rng.standard_normal((3, 16))
    out, _ = layers.layernorm_forward(x, np.ones(16), np.zeros(16), eps=1e-12)
    xc = x - x.mean(axis=-1, keepdims=True)
    close(out, xc / np.sqrt((xc ** 2).mean(axis=-1, keepdims=True) + 1e-12), "out with mean 1e4 and spread 1e-2: "
          "compute the variance from x - mean (two passes), not E[x^2] - E[x]^2", rtol=1e-5)


def test_layernorm_on_tokens_keeps_float32(rng):
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    g, b = np.ones(4, np.float32), np.zeros(4, np.float32)
    out, cache = layers.layernorm_forward(x, g, b)
    assert out.dtype == np.float32, f"layernorm_forward turned float32 into {out.dtype}"
    dx, dgamma, dbeta = layers.layernorm_backward(np.ones_like(out), cache)
    for name, grad, shape in (("dx", dx, x.shape), ("dgamma", dgamma, (4,)), ("dbeta", dbeta, (4,))):
        assert grad.shape == shape, f"{name} has shape {grad.shape}, expected {shape}: sum over every leading axis"
        assert grad.dtype == np.float32, f"layernorm_backward {name} is {grad.dtype} for float32 input"


def test_layernorm_leaves_inputs_unchanged(rng):
    x, dout = 2 + rng.standard_normal((2, 5)), rng.standard_normal((2, 5))
    x0, dout0 = x.copy(), dout.copy()
    _, cache = layers.layernorm_forward(x, np.ones(5), np.zeros(5))
    layers.layernorm_backward(dout, cache)
    assert np.array_equal(x, x0), "layernorm_forward changed x in place (x -= mean): work on a copy"
    assert np.array_equal(dout, dout0), "layernorm_backward changed dout in place: work on a copy"
