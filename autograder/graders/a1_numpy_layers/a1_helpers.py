"""Shared pieces of the a1 hidden graders. Trusted side only: never shipped, never in the sandbox.

Expected values come from the reference (`reference("layers")`), from float64 centred
differences of the reference forward, and from PyTorch autograd as an independent oracle.
"""
from __future__ import annotations

import numpy as np
from hypothesis import Phase, settings

from autograder.engine.checks import GradingFailure, describe, expect_array, expect_close, sweep

# float64 comparisons: tight enough to catch a missing term, loose enough for any
# summation order. Numerical gradients carry ~1e-9 truncation and rounding error.
RTOL, ATOL = 1e-6, 1e-9
NUM_RTOL, NUM_ATOL = 1e-5, 1e-7
F32_RTOL, F32_ATOL = 2e-4, 2e-5
F32_HINT = ("float32 in, float32 out, gradients too: look for a float64 temporary (np.zeros(shape) or np.empty(shape) "
            "without dtype=, a NumPy scalar such as np.sqrt(2.0) or np.float64(...), dtype=np.float64)")


REAL_HINT = ("return real floating-point values, as the docstring documents them (float32 or float64 arrays, "
             "Python floats): never complex, object, integer or bool arrays")


def expect_real(value, name: str, hint: str | None = None):
    """A floating-point ndarray (dtype kind 'f') or a real floating-point scalar, else a
    GradingFailure: a complex array with zero imaginary parts, an object array (which
    crosses the sandbox as a handle), an integer or bool array or a Python int is never
    worth credit where a float is documented, whatever its values."""
    if type(value) is np.ndarray:
        if value.dtype.kind != "f":
            raise GradingFailure(f"{name}: expected a floating-point array, got {describe(value)}", hint or REAL_HINT)
        return value
    if type(value) is float or type(value).__module__ == "numpy" and isinstance(value, np.floating):
        return value
    raise GradingFailure(f"{name}: expected a floating-point value, got {describe(value)}", hint or REAL_HINT)


def expect_python_float(value, name: str, hint: str | None = None):
    """A documented Python float is a Python float: not a NumPy scalar (np.float64 passes
    isinstance(.., float), np.float32 does not, and neither is what the docstring says)."""
    expect_real(value, name, hint)
    if type(value) is not float:
        raise GradingFailure(f"{name}: expected a Python float, got {describe(value)}",
                             hint or "convert with float(...): the docstring promises a Python float")
    return value


def examples(n: int):
    """Hypothesis settings for a grader: n examples and no shrinking (a failing example is
    reported at once; shrinking would re-run student code dozens of times for nothing a
    student sees). The engine's profile adds derandomize=True."""
    return settings(max_examples=n, phases=(Phase.explicit, Phase.reuse, Phase.generate))


def torch():
    """PyTorch, imported on first use (the import costs 1-2 s, paid once per grading run)."""
    import torch as _torch
    return _torch


def parts(value, n: int, name: str) -> tuple:
    """A tuple/list of exactly n items, else a GradingFailure (never a grader crash)."""
    if type(value) not in (tuple, list) or len(value) != n:
        got = f"a {type(value).__name__} of length {len(value)}" if type(value) in (tuple, list) \
            else f"a {type(value).__name__}"
        raise GradingFailure(f"{name}: expected a tuple of {n} values, got {got}")
    return tuple(value)


def close(value, expected, name: str, rtol: float = RTOL, atol: float = ATOL, dtype=None, hint=None):
    """expect_close with atol scaled by max(1, largest |expected|): huge arrays compare
    relatively, and entries that should be 0 may carry rounding error of size atol.
    Where a float is expected, the value must be one (expect_real) before anything else."""
    exp = np.asarray(expected)
    if exp.dtype.kind == "f":
        expect_real(value, name)
    scale = float(np.abs(exp).max()) if exp.size else 0.0
    return expect_close(value, expected, rtol=rtol, atol=atol * max(scale, 1.0), name=name,
                        dtype=dtype, hint=hint)


def close_all(values, expected, names, **kw) -> None:
    for v, e, n in zip(values, expected, names):
        close(v, e, n, **kw)


def numerical_grad(f, x: np.ndarray, dout: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Centred-difference gradient of sum(f(x) * dout) w.r.t. x (float64; x restored)."""
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


def numerical_grads(forward, args: list, which: list[int], dout, **kw) -> list[np.ndarray]:
    """Numerical gradients of sum(forward(*args)[0] * dout) w.r.t. args[i] for i in which."""
    out = []
    for i in which:
        def f(a, i=i):
            call = list(args)
            call[i] = a
            return forward(*call, **kw)[0]
        out.append(numerical_grad(f, args[i], dout))
    return out


def torch_grads(fn, arrays: list, dout) -> tuple[np.ndarray, list[np.ndarray]]:
    """Forward fn on float64 leaf tensors, backward with dout: (out, [grad of each array])."""
    t = torch()
    leaves = [t.tensor(a, dtype=t.float64, requires_grad=True) for a in arrays]
    out = fn(*leaves)
    out.backward(t.tensor(dout, dtype=t.float64))
    return out.detach().numpy(), [leaf.grad.numpy() for leaf in leaves]


def check_forward(student, fwd: str, args: tuple, expected_out, kwargs: dict | None = None, rtol: float = RTOL,
                  atol: float = ATOL, dtype=None):
    """Student forward (`module.function`) against expected_out; returns the cache."""
    f_name = fwd.rsplit(".", 1)[-1]
    out, cache = parts(student.call(fwd, *args, **(kwargs or {})), 2, f"{f_name} return value (out, cache)")
    close(out, expected_out, f"{f_name} out", rtol=rtol, atol=atol, dtype=dtype)
    return cache


def check_layer(student, fwd: str, bwd: str, args: tuple, expected_out, dout, expected_grads: list,
                grad_names: list[str], kwargs: dict | None = None, rtol: float = RTOL, atol: float = ATOL,
                dtype=None) -> None:
    """Student forward (`module.function`) against expected_out, then its backward with
    dout against expected_grads. The forward is checked first so that a wrong shape is
    reported as such, not as the backward's error."""
    b_name = bwd.rsplit(".", 1)[-1]
    cache = check_forward(student, fwd, args, expected_out, kwargs, rtol, atol, dtype)
    grads = student.call(bwd, dout, cache)
    grads = (grads,) if len(expected_grads) == 1 else parts(grads, len(expected_grads), f"{b_name} return value")
    for g, e, n in zip(grads, expected_grads, grad_names):
        close(g, e, f"{b_name} {n}", rtol=rtol, atol=atol, dtype=dtype)


def check_inputs_unchanged(student, fwd: str, bwd: str | None, args: tuple, dout=None,
                           kwargs: dict | None = None) -> None:
    """The forward (and the backward on its cache) leave every input array as it was:
    a layer's input is often another layer's cache (the module docstring says so). The
    backward runs twice on one cache and gives the same gradients: it left the cache alone.
    The outputs must be floats (expect_real) for the check to count: code that returns
    complex or object arrays leaves its inputs alone too, and earns nothing for it."""
    f_name, b_name = fwd.rsplit(".", 1)[-1], (bwd or "").rsplit(".", 1)[-1]
    outs = parts(student.call(fwd, *args, **(kwargs or {})), 2, f"{f_name} return value")
    for i, v in enumerate(outs if bwd is None else outs[:1]):   # a forward's cache may hold ints, None
        expect_real(v, f"{f_name} return value {i + 1}")
    got_args, got_dout, first, second = parts(
        student.call("harness:a1.inputs_after", fwd, bwd, dout, *args, **(kwargs or {})), 4, "result")
    got_args = parts(got_args, len(args), "inputs")
    for i, (got, want) in enumerate(zip(got_args, args)):
        if isinstance(want, np.ndarray):
            expect_close(got, want, rtol=0, atol=0, name=f"argument {i + 1} of {f_name} after the call",
                         hint=f"{f_name} changed its input in place (x -= ..., out=x, x[...] = ...): work on a copy")
    if bwd is not None:
        expect_close(got_dout, dout, rtol=0, atol=0, name=f"dout after {b_name}",
                     hint=f"{b_name} changed dout in place (dx = dout; dx[...] = 0): start from a copy")
        firsts = first if isinstance(first, (tuple, list)) else (first,)
        seconds = parts(second, len(firsts), f"{b_name} return value") if isinstance(first, (tuple, list)) \
            else (second,)
        for i, (a, b) in enumerate(zip(firsts, seconds)):
            expect_real(a, f"{b_name} gradient {i + 1}")
            if np.isfinite(a).all():
                close(b, a, f"{b_name} gradient {i + 1}, called again on the same cache", rtol=1e-12, atol=0,
                      hint=f"{b_name} changed the cache in place (out *= ..., xhat -= ...): work on copies")


def random_array(rng: np.random.Generator, shape, scale: float = 1.0, dtype=np.float64) -> np.ndarray:
    return (scale * rng.standard_normal(shape)).astype(dtype)


__all__ = ["REAL_HINT", "describe", "expect_real", "expect_python_float", "examples", "GradingFailure", "expect_array",
           "expect_close", "sweep", "RTOL", "ATOL", "NUM_RTOL", "NUM_ATOL", "F32_RTOL", "F32_ATOL", "F32_HINT", "torch",
           "parts", "close", "close_all", "numerical_grad", "numerical_grads", "torch_grads", "check_forward",
           "check_layer", "check_inputs_unchanged", "random_array"]
