import numpy as np
import pytest

import layers

pytestmark = pytest.mark.task1_1


def test_linear_forward_shapes_and_values(rng, close):
    x, w, b = rng.standard_normal((2, 5, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    out, _ = layers.linear_forward(x, w, b)
    close(out, np.einsum("ntd,dm->ntm", x, w) + b, "out")
    out2, _ = layers.linear_forward(x[:, 0], w, b)  # (N, D) works too
    close(out2, x[:, 0] @ w + b, "out for (N, D)")


def test_linear_backward_gradient_check(rng, num_grad, close):
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    dout = rng.standard_normal((2, 3, 5))
    _, cache = layers.linear_forward(x, w, b)
    dx, dw, db = layers.linear_backward(dout, cache)
    close(dx, num_grad(lambda a: layers.linear_forward(a, w, b)[0], x, dout), "dx", rtol=1e-5)
    close(dw, num_grad(lambda a: layers.linear_forward(x, a, b)[0], w, dout), "dw", rtol=1e-5)
    close(db, num_grad(lambda a: layers.linear_forward(x, w, a)[0], b, dout), "db", rtol=1e-5)


def test_linear_keeps_float32(rng):
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((3, 4), (4, 2), (2,)))
    out, cache = layers.linear_forward(x, w, b)
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layers.linear_backward(np.ones_like(out), cache))


def test_linear_rejects_mismatched_shapes():
    layers.linear_forward(np.zeros((2, 4)), np.zeros((4, 3)), np.zeros(3))  # consistent shapes work
    with pytest.raises(ValueError, match="x should have shape"):
        layers.linear_forward(np.zeros((2, 5)), np.zeros((4, 3)), np.zeros(3))


def test_linear_on_tokens_sums_over_every_leading_axis(rng):
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    x0 = x.copy()
    out, cache = layers.linear_forward(x, w, b)
    assert out.shape == (2, 3, 5), f"out for x (N, T, D) has shape {out.shape}: apply w over the last axis only"
    dout = np.ones_like(out)
    dx, dw, db = layers.linear_backward(dout, cache)
    assert np.allclose(db, np.full(5, 6.0)), "db should sum dout over every leading axis (N and T), not only axis 0"
    assert np.array_equal(x, x0) and np.all(dout == 1), "linear changed its input in place"
