"""Shared pieces of the public tests: float64 gradient checks on small inputs."""
import numpy as np
import pytest

from gradcheck import eval_numerical_gradient_array, rel_error


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def check_grad(f, x, dout, analytic, tol=1e-6):
    """Compare `analytic` with the numerical gradient of sum(f(x) * dout) w.r.t. x."""
    num = eval_numerical_gradient_array(f, x, dout)
    scale = max(1e-8, np.abs(num).max())
    err = np.abs(num - analytic).max() / scale
    assert err < tol, f"gradient mismatch: max error {err:.2e} relative to the gradient's scale"
    return rel_error(num, analytic)
