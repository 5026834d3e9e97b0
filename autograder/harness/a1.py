"""Assignment 1 helpers that run *inside* the sandbox (nothing here is secret).

Hidden graders call them as `student.call("harness:a1.<name>", ...)` for checks that need
a Python callable or a Generator on the student's side: the gradient-checking functions
take a function `f`, and dropout takes an `rng`. They return only arrays and numbers; the
trusted process computes the expected values itself.
"""
from __future__ import annotations

import numpy as np


def numgrad_cubic(x, h=None):
    """Student's eval_numerical_gradient of f = sum(x**3), where f ignores its argument and
    reads x through a closure (the in-place contract). Returns (grad, x after the call)."""
    import gradcheck

    def f(_):
        return float(np.sum(x ** 3))

    grad = gradcheck.eval_numerical_gradient(f, x) if h is None else gradcheck.eval_numerical_gradient(f, x, h=h)
    return grad, x.copy()


def numgrad_weighted_square(x, c, h=1e-5):
    """Student's eval_numerical_gradient of f(a) = sum(c * a**2), where f uses its argument."""
    import gradcheck

    grad = gradcheck.eval_numerical_gradient(lambda a: np.sum(c * a * a), x, h=h)
    return grad, x.copy()


def numgrad_array_closure(x, w, dout, h=1e-5):
    """Student's eval_numerical_gradient_array of f = x @ w through a closure. Returns
    (grad, x after the call)."""
    import gradcheck

    grad = gradcheck.eval_numerical_gradient_array(lambda _: x @ w, x, dout, h=h)
    return grad, x.copy()


def numgrad_array_cube(x, dout, h=1e-3):
    """Student's eval_numerical_gradient_array of f(a) = a**3 (f uses its argument)."""
    import gradcheck

    grad = gradcheck.eval_numerical_gradient_array(lambda a: a ** 3, x, dout, h=h)
    return grad, x.copy()


def numgrad_array_reused_buffer(x, dout, h=1e-5):
    """f returns the same output buffer every call (as an in-place layer might): a gradient
    check must copy f's output before calling f again."""
    import gradcheck

    buf = np.empty_like(x)

    def f(a):
        np.multiply(a, 2.0, out=buf)
        return buf

    return gradcheck.eval_numerical_gradient_array(f, x, dout, h=h)


def dropout_generator(x, p, seed):
    """Student's dropout with a np.random.Generator: two calls on one generator (which
    should give two different masks) and one call on a fresh generator of the same seed
    (which should repeat the first)."""
    import layers

    rng = np.random.default_rng(seed)
    first, _ = layers.dropout_forward(x, p, train=True, rng=rng)
    second, _ = layers.dropout_forward(x, p, train=True, rng=rng)
    again, _ = layers.dropout_forward(x, p, train=True, rng=np.random.default_rng(seed))
    return first, second, again


def dropout_no_rng(x, p):
    """Student's dropout with rng=None, twice: fresh entropy each time."""
    import layers

    first, _ = layers.dropout_forward(x, p, train=True)
    second, _ = layers.dropout_forward(x, p, train=True)
    return first, second


def inputs_after(forward, backward, dout, *args, **kwargs):
    """Student's `forward(*args, **kwargs)` and then, when `backward` is given, its
    backward twice on `dout` and the forward's cache. Returns (args, dout, first backward,
    second backward), the inputs as they are after the calls: the layers contract says no
    function changes its inputs (the cache included) in place."""
    import importlib

    def fn(name):
        module, func = name.split(".")
        return getattr(importlib.import_module(module), func)

    result = fn(forward)(*args, **kwargs)
    first = second = None
    if backward is not None:
        _, cache = result
        first = _copied(fn(backward)(dout.copy(), cache))   # a backward may return a cache array itself
        second = fn(backward)(dout, cache)
    return list(args), dout, first, second


def _copied(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (tuple, list)):
        return type(value)(_copied(v) for v in value)
    return value
