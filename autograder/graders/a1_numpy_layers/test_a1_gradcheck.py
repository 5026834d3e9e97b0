"""Task 1.8: rel_error, eval_numerical_gradient, eval_numerical_gradient_array.

The functions to differentiate are defined in autograder/harness/a1.py (inside the
sandbox); the expected gradients are exact here: for f = sum(x^3) the centred difference
is exactly 3x^2 + h^2, which no forward or backward difference reproduces.
"""
import numpy as np
import pytest

from a1_helpers import close, expect_python_float, parts, random_array, sweep

pytestmark = pytest.mark.task1_8


def _rel_error(x, y):
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


@pytest.mark.hint("elementwise: max over elements of |x - y| / max(1e-8, |x| + |y|), returned as a Python float")
@pytest.mark.parametrize("case", ["arrays", "zeros", "scalars", "tiny"])
def test_rel_error(student, rng, case):
    if case == "arrays":
        x = random_array(rng, (3, 4))
        y = x + random_array(rng, (3, 4), 1e-3)
    elif case == "zeros":  # |x| + |y| = 0 somewhere: the 1e-8 floor keeps it finite
        x = np.array([0.0, 1.0, -2.0])
        y = np.array([0.0, 1.5, -2.0])
    elif case == "scalars":
        x, y = np.array(3.0), np.array(-1.0)
    else:  # below the floor the error is measured against 1e-8
        x = np.array([1e-12, 2e-10])
        y = np.array([3e-12, 1e-10])
    got = student.call("gradcheck.rel_error", x, y)
    close(got, _rel_error(x, y), "rel_error(x, y)", rtol=1e-9, atol=0)


@pytest.mark.hint("rel_error returns a Python float (float(...) of the maximum) for arrays of any float dtype and for "
                  "plain Python numbers: np.asarray(x, dtype=np.float64) accepts both")
def test_rel_error_is_a_python_float_for_any_input(student, rng):
    """"a Python float", for x and y as float64 or float32 arrays, 0-d arrays or plain
    Python numbers ("arrays (or scalars)"), with the documented value."""
    def check(case):
        kind = case["inputs"]
        if kind == "python floats":
            x, y = 2.5, -0.5
        elif kind == "python ints":
            x, y = 3, 2
        else:
            shape = {"float64 arrays": (3, 4), "float32 arrays": (5,), "0-d arrays": ()}[kind]
            dtype = np.float32 if kind == "float32 arrays" else np.float64
            x = np.array(random_array(rng, shape), dtype=dtype)       # np.array: a 0-d array, not a scalar
            y = np.array(x + random_array(rng, shape, 1e-2), dtype=dtype)
        got = student.call("gradcheck.rel_error", x, y)
        expect_python_float(got, "rel_error(x, y)")
        close(got, _rel_error(x, y), "rel_error(x, y)", rtol=1e-5, atol=0)
    sweep([{"inputs": k} for k in ("float64 arrays", "float32 arrays", "0-d arrays", "python floats", "python ints")],
          check)


def _check_restored(x_after, x, name="x after the call"):
    close(x_after, x, name, rtol=1e-12, atol=1e-15,
          hint="perturb x in place and put the original value back after each evaluation")


@pytest.mark.hint("use the centred difference (f(x + h) - f(x - h)) / (2h), perturbing x in place")
@pytest.mark.parametrize("shape", [(5,), (2, 3, 4)])
def test_numerical_gradient_is_centred_and_in_place(student, rng, shape):
    """f reads x through a closure and ignores its argument (as a model's loss does)."""
    x = random_array(rng, shape)
    h = 1e-3
    grad, x_after = parts(student.call("harness:a1.numgrad_cubic", x, h), 2, "result")
    close(grad, 3 * x ** 2 + h ** 2, "eval_numerical_gradient(f, x, h=1e-3)", rtol=1e-7, atol=1e-9,
          hint="use the centred difference (f(x + h) - f(x - h)) / (2h) at every index of x")
    _check_restored(x_after, x)


@pytest.mark.hint("the default step is h = 1e-5, with the centred difference (f(x + h) - f(x - h)) / (2h)")
def test_numerical_gradient_default_step(student, rng):
    x = random_array(rng, (3, 3))
    grad, x_after = parts(student.call("harness:a1.numgrad_cubic", x), 2, "result")
    close(grad, 3 * x ** 2 + 1e-10, "eval_numerical_gradient(f, x) with the default h", rtol=1e-6, atol=1e-8)
    _check_restored(x_after, x)


@pytest.mark.hint("perturb x in place, evaluate f(x), and put the original value back")
def test_numerical_gradient_of_function_of_its_argument(student, rng):
    x, c = random_array(rng, (4, 2)), random_array(rng, (4, 2))
    grad, x_after = parts(student.call("harness:a1.numgrad_weighted_square", x, c), 2, "result")
    close(grad, 2 * c * x, "eval_numerical_gradient(f, x)", rtol=1e-6, atol=1e-8)
    _check_restored(x_after, x)


@pytest.mark.hint("perturb x in place (f may read x through a closure) and weight by dout: sum((f(x + h) - f(x - h)) * "
                  "dout) / (2h)")
def test_numerical_gradient_array_through_closure(student, rng):
    x, w = random_array(rng, (3, 4)), random_array(rng, (4, 5))
    dout = random_array(rng, (3, 5))
    grad, x_after = parts(student.call("harness:a1.numgrad_array_closure", x, w, dout), 2, "result")
    close(grad, dout @ w.T, "eval_numerical_gradient_array(f, x, dout)", rtol=1e-6, atol=1e-8)
    _check_restored(x_after, x)


@pytest.mark.hint("use the centred difference at every index of x, weighted by dout")
def test_numerical_gradient_array_is_centred(student, rng):
    x, dout = random_array(rng, (2, 3, 2)), random_array(rng, (2, 3, 2))
    h = 1e-3
    grad, x_after = parts(student.call("harness:a1.numgrad_array_cube", x, dout, h), 2, "result")
    close(grad, dout * (3 * x ** 2 + h ** 2), "eval_numerical_gradient_array(f, x, dout, h=1e-3)",
          rtol=1e-7, atol=1e-9, hint="use the centred difference at every index of x, weighted by dout")
    _check_restored(x_after, x)


@pytest.mark.hint("copy f(x + h) before evaluating f(x - h): f may reuse its output buffer")
def test_numerical_gradient_array_copies_outputs(student, rng):
    """f returns the same buffer each call: f(x + h) must be copied before f(x - h) overwrites it."""
    x, dout = random_array(rng, (4, 3)), random_array(rng, (4, 3))
    grad = student.call("harness:a1.numgrad_array_reused_buffer", x, dout)
    close(grad, 2 * dout, "eval_numerical_gradient_array(f, x, dout)", rtol=1e-6, atol=1e-8,
          hint="copy f(x + h) before evaluating f(x - h)")


@pytest.mark.hint("grad should have x's dtype: np.zeros_like(x), not np.zeros(x.shape)")
@pytest.mark.parametrize("which", ["eval_numerical_gradient", "eval_numerical_gradient_array"])
def test_numerical_gradient_keeps_float32(student, rng, which):
    """grad has the shape and dtype of x (the docstring): float32 x gives a float32 grad."""
    x = random_array(rng, (3, 4), dtype=np.float32)
    h = 1e-2
    if which == "eval_numerical_gradient":
        c = random_array(rng, (3, 4))
        grad, _ = parts(student.call("harness:a1.numgrad_weighted_square", x, c, h), 2, "result")
        expected = 2 * c * x.astype(np.float64)
    else:
        dout = random_array(rng, (3, 4), dtype=np.float32)
        grad, _ = parts(student.call("harness:a1.numgrad_array_cube", x, dout, h), 2, "result")
        expected = dout * (3 * x.astype(np.float64) ** 2 + h ** 2)
    close(grad, expected, f"{which}(f, float32 x, h=1e-2)", rtol=1e-3, atol=1e-3, dtype=np.float32,
          hint="grad should have x's dtype: np.zeros_like(x), not np.zeros(x.shape)")
