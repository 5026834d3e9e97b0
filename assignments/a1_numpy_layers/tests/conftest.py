"""Shared fixtures for the public tests: a numerical gradient that does not depend on your
gradcheck.py (Task 1.8), so each task's tests stand on their own."""
import numpy as np
import pytest


def _numerical_grad(f, x, dout, h=1e-4):
    """Gradient of sum(f(x) * dout) with respect to x by the five-point stencil (float64).

    A higher-order cousin of the centred difference you write in Task 1.8, so these tests
    never depend on your gradcheck.py.
    """
    grad = np.zeros(x.shape, dtype=x.dtype)
    weights = {2: -1.0, 1: 8.0, -1: -8.0, -2: 1.0}
    for flat in range(x.size):
        ix = np.unravel_index(flat, x.shape)
        saved = x[ix]
        total = 0.0
        for k, wk in weights.items():
            x[ix] = saved + k * h
            total += wk * float(np.sum(np.asarray(f(x), dtype=np.float64) * dout))
        x[ix] = saved
        grad[ix] = total / (12 * h)
    return grad


@pytest.fixture
def num_grad():
    """num_grad(f, x, dout) -> d sum(f(x) * dout) / dx by centred differences."""
    return _numerical_grad


@pytest.fixture
def rng():
    return np.random.default_rng(231)


def assert_close(got, expected, name, rtol=1e-6, atol=1e-8):
    """Plain-ndarray, shape, dtype and value check with a readable message."""
    assert type(got) is np.ndarray, f"{name}: expected a numpy.ndarray, got {type(got).__name__}"
    assert got.shape == np.shape(expected), f"{name}: expected shape {np.shape(expected)}, got {got.shape}"
    assert np.all(np.isfinite(got)), f"{name}: contains NaN or Inf"
    err = np.max(np.abs(got - expected) / (atol + rtol * np.abs(expected)), initial=0.0)
    assert err <= 1.0, f"{name}: values are off (max error {err:.3g} x the tolerance)"


@pytest.fixture
def close():
    """close(got, expected, name, rtol=1e-6, atol=1e-8): assert with a readable message."""
    return assert_close
