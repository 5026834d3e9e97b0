"""Shared checks for the assignment 2 graders (trusted process only)."""
from __future__ import annotations

import numpy as np

from autograder.engine.checks import GradingFailure, expect_array, expect_close


def numeric_grad(f, x, dout=None, h=1e-6, index=None):
    """Central-difference gradient of sum(f(x) * dout) (or of scalar f(x)) w.r.t. x, float64.

    index: optional list of flat indices to evaluate (others are left 0)."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in (range(x.size) if index is None else index):
        old = flat[i]
        flat[i] = old + h
        fp = f(x)
        flat[i] = old - h
        fm = f(x)
        flat[i] = old
        if dout is None:
            gflat[i] = (fp - fm) / (2 * h)
        else:
            gflat[i] = np.sum((np.asarray(fp) - np.asarray(fm)) * dout) / (2 * h)
    return grad


def expect_grad(value, numeric, name, index=None, tol=1e-5):
    """A float64 gradient check: |value - numeric| <= tol * max|numeric| (+ a tiny floor)."""
    expect_array(value, shape=numeric.shape, dtype=np.float64, name=name)
    v, n = np.asarray(value).reshape(-1), numeric.reshape(-1)
    if index is not None:
        v, n = v[index], n[index]
    scale = max(float(np.abs(n).max()), 1e-6)
    err = float(np.abs(v - n).max()) / scale
    if not err <= tol:
        raise GradingFailure(f"{name}: gradient check failed: max error {err:.3g} relative to the gradient's "
                             f"scale (allowed {tol:g})")
    return value


def expect_same(value, expected, name, rtol=1e-7):
    """Close to the reference, with an absolute floor relative to the array's scale."""
    expected = np.asarray(expected)
    atol = rtol * max(float(np.abs(expected).max()) if expected.size else 0.0, 1e-12)
    return expect_close(value, expected, rtol=rtol, atol=atol, name=name)


def expect_grads(grads, expected: dict, name="grads", rtol=1e-7):
    if type(grads) is not dict:
        raise GradingFailure(f"{name}: expected a dict keyed like the parameters, got a {type(grads).__name__}")
    missing, extra = sorted(set(expected) - set(grads)), sorted(set(grads) - set(expected))
    if missing or extra:
        raise GradingFailure(f"{name}: keys differ from the parameters' (missing: {missing[:5]}, extra: {extra[:5]})")
    for k in expected:
        expect_same(grads[k], expected[k], f"{name}[{k!r}]", rtol)


def mnist_subset(n_train, n_test, seed=0):
    """A fixed MNIST subset (uint8), or synthetic digits when MNIST is not cached.
    Returns (data dict, source name)."""
    import vitdata
    try:
        Xtr, ytr = vitdata.load_mnist("train", mmap=True)
        Xte, yte = vitdata.load_mnist("test", mmap=True)
        rng = np.random.default_rng(seed)
        i, j = rng.choice(len(ytr), n_train, replace=False), rng.choice(len(yte), n_test, replace=False)
        i.sort()
        j.sort()
        return {"X_train": np.array(Xtr[i]), "y_train": np.array(ytr[i]),
                "X_val": np.array(Xte[j]), "y_val": np.array(yte[j])}, "mnist"
    except vitdata.DatasetMissingError:
        Xtr, ytr = vitdata.synthetic("mnist", "train", n=n_train, seed=seed)
        Xte, yte = vitdata.synthetic("mnist", "test", n=n_test, seed=seed)
        return {"X_train": Xtr, "y_train": ytr, "X_val": Xte, "y_val": yte}, "synthetic"
