import numpy as np
import pytest

import gradcheck

pytestmark = pytest.mark.task1_8


def test_rel_error():
    assert gradcheck.rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert abs(gradcheck.rel_error(np.array([1.0]), np.array([3.0])) - 0.5) < 1e-12
    assert gradcheck.rel_error(np.zeros(3), np.zeros(3)) == 0.0


def test_numerical_gradient_of_a_closure(rng):
    x = rng.standard_normal((3, 4))
    x0 = x.copy()
    grad = gradcheck.eval_numerical_gradient(lambda _: np.sum(x ** 2), x)  # f reads x, not its argument
    assert grad.shape == x.shape
    assert np.allclose(grad, 2 * x, rtol=1e-6, atol=1e-8)
    assert np.allclose(x, x0, rtol=0, atol=1e-15), "x should be restored after the check"


def test_numerical_gradient_is_centred(rng):
    x, h = rng.standard_normal(5), 1e-3
    grad = gradcheck.eval_numerical_gradient(lambda a: np.sum(a ** 3), x, h=h)
    assert np.allclose(grad, 3 * x ** 2 + h ** 2, rtol=1e-8, atol=1e-10), "use (f(x + h) - f(x - h)) / (2h)"


def test_numerical_gradient_array(rng):
    x, w, dout = rng.standard_normal((2, 3)), rng.standard_normal((3, 4)), rng.standard_normal((2, 4))
    grad = gradcheck.eval_numerical_gradient_array(lambda a: a @ w, x, dout)
    assert np.allclose(grad, dout @ w.T, rtol=1e-6, atol=1e-8)


def test_rel_error_is_elementwise():
    x, y = np.array([1000.0, 1e-3]), np.array([1000.0, 2e-3])
    assert abs(gradcheck.rel_error(x, y) - 1 / 3) < 1e-12, (
        "rel_error is the max over elements of |x - y| / max(1e-8, |x| + |y|); a small entry off by a factor 2 "
        "is an error of 1/3 however large the other entries are")


def test_numerical_gradients_keep_float32(rng):
    x = rng.standard_normal((2, 3)).astype(np.float32)
    grad = gradcheck.eval_numerical_gradient(lambda a: float(np.sum(a.astype(np.float64) ** 2)), x, h=1e-2)
    assert grad.dtype == np.float32, f"eval_numerical_gradient gave {grad.dtype} for float32 x: np.zeros_like(x)"
    grad = gradcheck.eval_numerical_gradient_array(lambda a: 2 * a, x, np.ones_like(x), h=1e-2)
    assert grad.dtype == np.float32, f"eval_numerical_gradient_array gave {grad.dtype} for float32 x"
