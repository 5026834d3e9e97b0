"""Public tests for task {{ cookiecutter.task_id }}: {{ cookiecutter.title }}."""
import numpy as np
import pytest

from {{ cookiecutter.module }} import {{ cookiecutter.function_name }}_backward, {{ cookiecutter.function_name }}_forward

pytestmark = pytest.mark.{{ cookiecutter.__marker }}


def test_forward_values_and_shape():
    x = np.array([[-2.0, -0.5, 0.0], [0.5, 1.0, 3.0]])  # (2, 3)
    out, _ = {{ cookiecutter.function_name }}_forward(x, alpha=0.1)
    assert out.shape == x.shape and out.dtype == x.dtype
    np.testing.assert_allclose(out, [[-0.2, -0.05, 0.0], [0.5, 1.0, 3.0]])


def test_backward_matches_numerical_gradient():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    x[np.abs(x) < 1e-2] = 0.5  # central differences are wrong at the kink
    dout = rng.standard_normal(x.shape)
    _, cache = {{ cookiecutter.function_name }}_forward(x, alpha=0.1)
    dx = {{ cookiecutter.function_name }}_backward(dout, cache)
    h, numeric = 1e-6, np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = h
        up, _ = {{ cookiecutter.function_name }}_forward(x + step, alpha=0.1)
        down, _ = {{ cookiecutter.function_name }}_forward(x - step, alpha=0.1)
        numeric[i] = np.sum((up - down) * dout) / (2 * h)
    np.testing.assert_allclose(dx, numeric, rtol=1e-5, atol=1e-8)
