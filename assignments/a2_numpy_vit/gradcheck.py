"""Numerical gradients and the relative error, to check hand-written backward passes.

Use float64 inputs: with float32 and h = 1e-5 the centred difference is mostly rounding.
"""
from __future__ import annotations

import numpy as np


def rel_error(x, y):
    """Largest elementwise relative error: max |x - y| / max(1e-8, |x| + |y|), a Python float.

    x, y: arrays (or scalars) of the same shape. Around 1e-7 or less means a float64
    gradient check passed; 1e-2 or more means the backward pass is wrong.
    """
    if np.shape(x) != np.shape(y):
        raise ValueError(f"rel_error: x and y should have the same shape, got {np.shape(x)} and {np.shape(y)}")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    err = np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))
    error = float(err.max()) if err.size else 0.0
    return error


def eval_numerical_gradient(f, x, h=1e-5):
    """Centred-difference gradient of a scalar function f at x.

    f: called as f(x), returns a Python or NumPy scalar. It may ignore its argument and
       read x through a closure, so perturb x *in place* (x[ix] = old + h, ...) and put
       the original value back before moving on.
    x: float array of any shape; modified during the call, restored on return.
    Returns grad (shape and dtype of x): grad[ix] = (f(x + h e_ix) - f(x - h e_ix)) / (2h).
    """
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        fxph = float(f(x))
        x[ix] = old - h
        fxmh = float(f(x))
        x[ix] = old
        grad[ix] = (fxph - fxmh) / (2 * h)
    return grad


def eval_numerical_gradient_array(f, x, dout, h=1e-5):
    """Centred-difference gradient of sum(f(x) * dout) with respect to x.

    f: called as f(x), returns an array with the shape of dout (copy it if f may reuse
       its output buffer). As in eval_numerical_gradient, perturb x in place and restore it.
    x: float array of any shape; dout: the upstream gradient, shape of f(x).
    Returns grad (shape and dtype of x).
    """
    fx = np.shape(f(x))
    if fx != np.shape(dout):
        raise ValueError(f"eval_numerical_gradient_array: dout should have the shape of f(x), {fx}, "
                         f"got {np.shape(dout)}")
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        pos = np.array(f(x), copy=True)
        x[ix] = old - h
        neg = np.array(f(x), copy=True)
        x[ix] = old
        grad[ix] = np.sum((pos - neg) * dout) / (2 * h)
    return grad
