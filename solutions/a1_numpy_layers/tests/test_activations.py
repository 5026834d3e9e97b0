import math

import numpy as np
import pytest

import layers

pytestmark = pytest.mark.task1_2


def test_relu_forward_backward(close):
    x = np.array([[-2.0, 0.0, 3.0], [1.5, -0.5, 0.0]])
    out, cache = layers.relu_forward(x)
    close(out, np.array([[0.0, 0.0, 3.0], [1.5, 0.0, 0.0]]), "out")
    dx = layers.relu_backward(np.ones_like(x), cache)
    close(dx, np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]), "dx (the gradient at 0 is 0)")


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_values(close, approximate):
    x = np.array([-3.0, -1.0, 0.0, 0.5, 2.0])
    out, _ = layers.gelu_forward(x, approximate=approximate)
    if approximate != "tanh":
        expected = np.array([v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x])
        close(out, expected, "out", rtol=1e-12, atol=1e-15)
    else:
        inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)
        close(out, 0.5 * x * (1 + np.tanh(inner)), "out", rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_gradient_check(rng, num_grad, close, approximate):
    x, dout = 2 * rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    _, cache = layers.gelu_forward(x, approximate=approximate)
    dx = layers.gelu_backward(dout, cache)
    close(dx, num_grad(lambda a: layers.gelu_forward(a, approximate=approximate)[0], x, dout), "dx", rtol=1e-5)


def test_activations_keep_float32(rng):
    x = rng.standard_normal((2, 3)).astype(np.float32)
    for fwd, bwd in ((layers.relu_forward, layers.relu_backward), (layers.gelu_forward, layers.gelu_backward)):
        out, cache = fwd(x)
        assert out.dtype == np.float32 and bwd(np.ones_like(out), cache).dtype == np.float32, fwd.__name__


def test_gelu_exact_on_a_wide_range(close):
    x = np.linspace(-8, 8, 321)
    out, _ = layers.gelu_forward(x)
    close(out, x * np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in x]), "out", rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_keeps_float32_and_leaves_inputs_unchanged(rng, approximate):
    x, dout = rng.standard_normal((2, 5)).astype(np.float32), rng.standard_normal((2, 5)).astype(np.float32)
    x0, dout0 = x.copy(), dout.copy()
    out, cache = layers.gelu_forward(x, approximate=approximate)
    dx = layers.gelu_backward(dout, cache)
    assert out.dtype == np.float32 and dx.dtype == np.float32, (
        f"gelu ({approximate}) gave {out.dtype} and {dx.dtype} for float32: a NumPy float64 scalar such as "
        "np.sqrt(2.0)? use math.sqrt")
    assert np.array_equal(x, x0) and np.array_equal(dout, dout0), "gelu changed its input in place"


def test_relu_leaves_inputs_unchanged(rng):
    x, dout = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    x0, dout0 = x.copy(), dout.copy()
    _, cache = layers.relu_forward(x)
    layers.relu_backward(dout, cache)
    assert np.array_equal(x, x0), "relu_forward changed x in place (np.maximum(x, 0, out=x)?): work on a copy"
    assert np.array_equal(dout, dout0), "relu_backward changed dout in place (dx = dout; dx[x <= 0] = 0): copy dout"
