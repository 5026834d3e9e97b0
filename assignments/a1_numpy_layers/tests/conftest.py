"""Shared fixtures for the public tests: a numerical gradient that does not depend on your
gradcheck.py (Task 1.8), so each task's tests stand on their own."""
import numpy as np
import pytest


def _numerical_grad(f, x, dout, h=1e-6):
    """Centred-difference gradient of sum(f(x) * dout) with respect to x (float64)."""
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        pos = np.array(f(x), dtype=np.float64)
        x[ix] = old - h
        neg = np.array(f(x), dtype=np.float64)
        x[ix] = old
        grad[ix] = np.sum((pos - neg) * dout) / (2 * h)
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
