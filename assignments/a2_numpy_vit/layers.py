"""Layers for a ViT, forward and backward, in NumPy.

Convention (CS231n): `x_forward(x, ...) -> (out, cache)` and
`x_backward(dout, cache) -> dx` or `(dx, dparam, ...)`, one gradient per input and
parameter, each with the shape and dtype of what it is the gradient of. Every function
keeps the dtype it is given: float32 in, float32 out; float64 in, float64 out. Python
float constants keep it (NumPy scalars such as `np.sqrt(2.0)` would promote float32 to
float64, so use `math` for constants). No function writes into its inputs (x, the
parameters, dout, the cache a backward is given): an input is often another layer's cache,
so compute `x - m`, never `x -= m`, `np.exp(x, out=x)` or `dx = dout; dx[...] = 0`.

The `cache` each forward returns is the tuple its backward unpacks; the names in the
`cache = (...)` line after each solution are the values you have to compute.
"""
from __future__ import annotations

import math

import numpy as np


def _shape_error(func: str, what: str, expected, got) -> ValueError:
    return ValueError(f"{func}: {what} should have shape {expected}, got {tuple(got)}")


def _check_dout(func: str, dout, expected: tuple) -> None:
    if np.shape(dout) != tuple(expected):
        raise _shape_error(func, "dout", tuple(expected), np.shape(dout))


# ---------------------------------------------------------------------------------------
# Task 1.1: Linear
# ---------------------------------------------------------------------------------------

def linear_forward(x, w, b):
    """Affine map over the last axis: out = x @ w + b.

    x: (N, ..., D), e.g. (N, D) or a token batch (N, T, D)
    w: (D, M)
    b: (M,)
    Returns out (N, ..., M) and cache = (x, w).
    """
    if np.ndim(w) != 2:
        raise _shape_error("linear_forward", "w", "(D, M)", np.shape(w))
    D, M = w.shape
    if np.ndim(x) < 2 or x.shape[-1] != D:
        raise _shape_error("linear_forward", "x", f"(N, ..., {D}) to match w {w.shape}", np.shape(x))
    if np.shape(b) != (M,):
        raise _shape_error("linear_forward", "b", (M,), np.shape(b))
    # one (N*..., D) @ (D, M) matrix product, not one per leading index
    out = (x.reshape(-1, D) @ w).reshape(*x.shape[:-1], M)  # (N, ..., M)
    out += b
    cache = (x, w)
    return out, cache


def linear_backward(dout, cache):
    """Backward of linear_forward.

    dout: (N, ..., M); cache = (x, w) from linear_forward.
    Returns dx (N, ..., D), dw (D, M), db (M,).
    """
    x, w = cache
    _check_dout("linear_backward", dout, x.shape[:-1] + (w.shape[1],))
    D, M = w.shape
    x2 = x.reshape(-1, D)  # (N*..., D)
    dout2 = dout.reshape(-1, M)  # (N*..., M)
    dx = (dout2 @ w.T).reshape(x.shape)  # (N, ..., D)
    dw = x2.T @ dout2  # (D, M)
    db = dout2.sum(axis=0)  # (M,)
    return dx, dw, db


# ---------------------------------------------------------------------------------------
# Task 1.2: ReLU and GELU
# ---------------------------------------------------------------------------------------

def relu_forward(x):
    """out = max(x, 0) elementwise. x: any shape. Returns out (same shape) and cache = x."""
    out = np.maximum(x, 0)
    cache = x
    return out, cache


def relu_backward(dout, cache):
    """Backward of relu_forward. dout: shape of x. Returns dx (shape of x).

    The gradient at x == 0 is taken to be 0 (as PyTorch does).
    """
    x = cache
    _check_dout("relu_backward", dout, x.shape)
    dx = dout * (x > 0)
    return dx


# W. J. Cody, "Rational Chebyshev approximations for the error function",
# Math. Comp. 23 (1969) 631-637, as in Netlib's specfun CALERF.
_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)
_ERF_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
          2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
          2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_ERF_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
          1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
          3.43936767414372164e03, 1.23033935480374942e03)
_ERF_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
          1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_ERF_Q = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1,
          6.05183413124413191e-2, 2.33520497626869185e-3)
_ERF_SPLIT = 0.46875  # below: erf directly; above: 1 - erfc


def _rational(t, num_coefs, den_coefs, lead):
    """(lead*t^k + c0 t^(k-1) + ...) / (t^k + d0 t^(k-1) + ...), in place where possible."""
    num = lead * t
    den = t.copy()
    for c, d in zip(num_coefs[:-1], den_coefs[:-1]):
        num += c
        num *= t
        den += d
        den *= t
    num += num_coefs[-1]
    den += den_coefs[-1]
    num /= den
    return num


def erf(x):
    """The error function, elementwise, for a float array of any shape (same shape, dtype).

    Given code (NumPy has no erf): Cody's rational approximations, within a few ulp of
    `math.erf` in float64. Both branches are evaluated on the whole array and blended,
    which is faster in NumPy than gathering each branch's elements.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"erf: expected a float array, got dtype {x.dtype}")
    y = np.abs(x)
    # |x| < 0.46875: erf(x) = x A(x^2) / B(x^2), evaluated at s = min(|x|, 0.46875)
    s = np.clip(y, None, _ERF_SPLIT)
    near = _rational(s * s, _ERF_A[:4], _ERF_B, _ERF_A[4])
    near *= s
    # 0.46875 <= |x| <= 4: erfc(x) = exp(-x^2) C(x) / D(x), at t = clip(|x|, 0.46875, 4)
    t = np.clip(y, _ERF_SPLIT, 4.0)
    far = _rational(t, _ERF_C[:8], _ERF_D, _ERF_C[8])
    np.multiply(t, t, out=t)
    np.negative(t, out=t)
    far *= np.exp(t, out=t)
    np.subtract(1.0, far, out=far)  # erf(t)
    # blend the two branches, then restore the sign (erf is odd)
    far -= near
    far *= y >= _ERF_SPLIT
    near += far
    out = np.copysign(near, x, out=near)
    if x.dtype.itemsize > 4 and y.size and y.max() > 4.0:
        # |x| > 4: erfc(x) = exp(-x^2)/x (1/sqrt(pi) - P(1/x^2)/(x^2 Q(1/x^2))). In float32
        # erf(4) already rounds to 1, so only wider floats need this branch.
        idx = np.nonzero(y > 4.0)
        yf = y[idx]
        z = 1.0 / (yf * yf)
        r = z * _rational(z, _ERF_P[:5], _ERF_Q, _ERF_P[5])
        erfc = (0.5641895835477563 - r) / yf * np.exp(-yf * yf)
        out[idx] = np.copysign(1.0 - erfc, x[idx])
    return out


_GELU_MODES = ("none", "tanh")
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TANH_K = math.sqrt(2.0 / math.pi)
_TANH_C = 0.044715
# erfc(z) ~ t exp(-z^2 + sum_k c_k t^k), t = 1 / (1 + z/2), fractional error < 1.2e-7 for
# every z >= 0 (Numerical Recipes' erfcc): float32 accuracy from one branch.
_ERFCC = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807,
          -1.13520398, 1.48851587, -0.82215223, 0.17087277)


def normal_cdf(x):
    """Phi(x), the standard normal CDF, elementwise. x: any shape; returns its shape and dtype.

    Phi(x) = (1 + erf(x / sqrt(2))) / 2, with `erf` above. Part of Task 1.2 (gelu_forward uses it).
    This formula as written is accurate enough for the graders, which compare GELU with the
    reference to rtol 1e-7 plus an absolute 1e-12 * max(1, max |expected|) in float64 (rtol 2e-4,
    absolute 2e-5 * max(1, max |expected|) in float32). For x << 0, 1 + erf(...) cancels, so Phi
    loses relative accuracy there, but its absolute error stays below 1.2e-16 in float64 (1e-7 in
    float32), well inside those tolerances.
    """
    if x.dtype.itemsize > 4:
        phi = erf(x * _SQRT_HALF)
        phi += 1.0
        phi *= 0.5
    else:
        # float32 needs only float32 accuracy: Phi(x) = erfc(-x/sqrt(2)) / 2 from one
        # branch is about twice as fast as erf's two, and keeps relative accuracy in the tails
        z = np.abs(x) * _SQRT_HALF
        t = 0.5 * z
        t += 1.0
        np.reciprocal(t, out=t)
        e = _ERFCC[-1] * t
        for c in _ERFCC[-2:0:-1]:
            e += c
            e *= t
        e += _ERFCC[0]
        z *= z
        e -= z
        np.exp(e, out=e)
        e *= t  # erfc(|x| / sqrt(2))
        h = (x >= 0).astype(x.dtype)  # Phi = e/2 for x < 0 and 1 - e/2 for x >= 0
        phi = 0.5 - h
        phi *= e
        phi += h
    return phi


def gelu_forward(x, approximate="none"):
    """GELU(x) = x * Phi(x), Phi the standard normal CDF, elementwise.

    approximate="none": Phi(x) exactly (normal_cdf above).
    approximate="tanh": Phi(x) ~ (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2, as in
    torch's gelu(approximate="tanh"). Each mode is graded against its own formula, with the
    tolerances given in normal_cdf; the two differ by up to 1.8e-4 in Phi, far more than that,
    so neither mode may stand in for the other.
    x: any shape. Returns out (same shape) and cache = (x, phi, approximate), where phi
    is the factor with out = x * phi.
    """
    if approximate not in _GELU_MODES:
        raise ValueError(f"gelu_forward: approximate should be one of {_GELU_MODES}, got {approximate!r}")
    if approximate == "none":
        phi = normal_cdf(x)
    else:
        phi = np.tanh(_TANH_K * (x + _TANH_C * x * x * x))
        phi += 1.0
        phi *= 0.5
    out = x * phi
    cache = (x, phi, approximate)
    return out, cache


def gelu_backward(dout, cache):
    """Backward of gelu_forward. dout: shape of x. Returns dx (shape of x).

    Exact form: d/dx [x Phi(x)] = Phi(x) + x phi(x), phi(x) = exp(-x^2/2) / sqrt(2 pi).
    """
    x, phi, approximate = cache
    _check_dout("gelu_backward", dout, x.shape)
    if approximate == "none":
        dphi = np.exp(-0.5 * x * x)  # (...,) normal density up to 1/sqrt(2 pi)
        dphi *= _INV_SQRT_2PI * x
    else:
        t = 2.0 * phi - 1.0  # tanh(u)
        du = _TANH_K * (1.0 + 3.0 * _TANH_C * x * x)
        dphi = 0.5 * (1.0 - t * t) * du * x
    dphi += phi
    dx = dout * dphi
    return dx


# ---------------------------------------------------------------------------------------
# Task 1.3: Softmax and softmax cross-entropy
# ---------------------------------------------------------------------------------------

def softmax_forward(x, axis=-1):
    """Softmax along `axis`: out = exp(x) / sum(exp(x), axis), without overflow.

    x: any shape. Returns out (same shape) and cache = (out, axis).
    """
    axis = _normalize_axis("softmax_forward", axis, np.ndim(x))
    # subtracting the max changes nothing mathematically but keeps exp from overflowing
    out = x - x.max(axis=axis, keepdims=True)
    np.exp(out, out=out)
    out *= 1.0 / _sum(out, axis)
    cache = (out, axis)
    return out, cache


def softmax_backward(dout, cache):
    """Backward of softmax_forward. dout: shape of x. Returns dx (shape of x)."""
    out, axis = cache
    _check_dout("softmax_backward", dout, out.shape)
    dx = dout - _sum(dout, axis, out)
    dx *= out
    return dx


def _sum(x, axis, y=None):
    """sum(x * y) (or sum(x)) over axis, keeping it. einsum's fused loop is ~4x faster
    than ndarray.sum on short rows such as ViT's D = 64."""
    if axis % x.ndim != x.ndim - 1:
        return (x if y is None else x * y).sum(axis=axis, keepdims=True)
    if y is None:
        return np.einsum("...d->...", x)[..., None]
    return np.einsum("...d,...d->...", x, y)[..., None]


def _normalize_axis(func: str, axis, ndim: int) -> int:
    if not isinstance(axis, (int, np.integer)) or not -ndim <= axis < ndim:
        raise ValueError(f"{func}: axis {axis!r} is out of range for an array with {ndim} dimensions")
    return int(axis) % ndim


def softmax_cross_entropy(logits, y, label_smoothing=0.0):
    """Mean cross-entropy of softmax(logits) against integer labels, and its gradient.

    With label smoothing e the target for row n is q = (1 - e) onehot(y[n]) + e / C,
    as in torch.nn.functional.cross_entropy(..., label_smoothing=e).
    logits: (N, C) float
    y: (N,) integers in [0, C)
    Returns loss (a Python float, the mean over N) and dlogits (N, C), the gradient of
    the loss with respect to logits.
    """
    if np.ndim(logits) != 2 or 0 in np.shape(logits):
        raise _shape_error("softmax_cross_entropy", "logits", "(N, C) with N, C >= 1", np.shape(logits))
    N, C = logits.shape
    if np.shape(y) != (N,):
        raise _shape_error("softmax_cross_entropy", "y", (N,), np.shape(y))
    if not np.issubdtype(np.asarray(y).dtype, np.integer):
        raise ValueError(f"softmax_cross_entropy: y should hold integer labels, got dtype {np.asarray(y).dtype}")
    if y.min() < 0 or y.max() >= C:
        raise ValueError(f"softmax_cross_entropy: labels should be in [0, {C}), got values in [{y.min()}, {y.max()}]")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"softmax_cross_entropy: label_smoothing should be in [0, 1], got {label_smoothing}")
    eps = float(label_smoothing)
    # work with log-probabilities: log p = z - log(sum(exp(z))), z = logits - max
    rows = np.arange(N)
    z = logits - logits.max(axis=1, keepdims=True)  # (N, C), max is 0
    expz = np.exp(z)
    sumexp = expz.sum(axis=1, keepdims=True)  # (N, 1), in [1, C]
    logp = z - np.log(sumexp)  # (N, C)
    nll = -logp[rows, y]  # (N,)
    smooth = -logp.mean(axis=1)  # (N,) cross-entropy against the uniform target
    loss = float(((1.0 - eps) * nll + eps * smooth).mean())
    dlogits = expz / sumexp  # softmax
    dlogits[rows, y] -= 1.0 - eps
    dlogits -= eps / C
    dlogits /= N
    return loss, dlogits


# ---------------------------------------------------------------------------------------
# Task 1.4: LayerNorm
# ---------------------------------------------------------------------------------------

def layernorm_forward(x, gamma, beta, eps=1e-5):
    """LayerNorm over the last axis: out = gamma * (x - mean) / sqrt(var + eps) + beta.

    var is the biased variance (divide by D), as in torch.nn.LayerNorm.
    x: (..., D); gamma, beta: (D,)
    Returns out (..., D) and cache = (xhat, inv_std, gamma), with
    xhat (..., D) the normalised input and inv_std (..., 1) = 1 / sqrt(var + eps).
    """
    if np.ndim(x) < 1:
        raise _shape_error("layernorm_forward", "x", "(..., D)", np.shape(x))
    D = x.shape[-1]
    for name, p in (("gamma", gamma), ("beta", beta)):
        if np.shape(p) != (D,):
            raise _shape_error("layernorm_forward", name, (D,), np.shape(p))
    eps = float(eps)
    # two passes (mean, then mean of squared deviations): E[x^2] - E[x]^2 cancels badly
    D = x.shape[-1]
    xhat = x - _sum(x, -1) / D  # (..., D), centred
    var = _sum(xhat, -1, xhat) / D  # (..., 1)
    inv_std = 1.0 / np.sqrt(var + eps)  # (..., 1)
    xhat *= inv_std
    out = xhat * gamma
    out += beta
    cache = (xhat, inv_std, gamma)
    return out, cache


def layernorm_backward(dout, cache):
    """Backward of layernorm_forward.

    dout: (..., D). Returns dx (..., D), dgamma (D,), dbeta (D,), the parameter
    gradients summed over every leading axis.
    """
    xhat, inv_std, gamma = cache
    _check_dout("layernorm_backward", dout, xhat.shape)
    D = xhat.shape[-1]
    dbeta = np.einsum("nd->d", dout.reshape(-1, D))  # (D,)
    dgamma = np.einsum("nd,nd->d", dout.reshape(-1, D), xhat.reshape(-1, D))  # (D,)
    dxhat = dout * gamma  # (..., D)
    # dx = inv_std * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
    dx = dxhat - _sum(dxhat, -1) / D
    dx -= xhat * (_sum(dxhat, -1, xhat) / D)
    dx *= inv_std
    return dx, dgamma, dbeta


# ---------------------------------------------------------------------------------------
# Task 1.5: Dropout
# ---------------------------------------------------------------------------------------

def dropout_forward(x, p, train=True, rng=None):
    """Inverted dropout: zero each element with probability p, scale the rest by 1/(1-p).

    x: any shape; p: drop probability in [0, 1] (p == 1 drops everything);
    rng: an int seed, a np.random.Generator, or None (fresh entropy).
    In eval mode (train=False) or with p == 0 this is the identity and returns x itself.
    Returns out (shape of x) and cache = mask: the scaled keep mask (shape and dtype of
    x, entries 0 or 1/(1-p)), or None for the identity.
    The mask takes one independent draw per element from np.random.default_rng(rng) (which
    uses a Generator as it is). The reference keeps an element where rng.random(x.shape) >= p;
    any other per-element draw from rng that keeps with probability 1 - p (random() < 1 - p,
    a float32 stream, binomial) is just as correct: the tests check the mask's statistics and
    seeding (same seed, same mask), never its exact entries.
    """
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout_forward: p should be in [0, 1], got {p}")
    # keep each element with probability 1 - p; cast the mask to x's dtype before scaling, so float32 stays float32
    if not train or p == 0.0:
        out, mask = x, None
    else:
        rng = np.random.default_rng(rng)  # an int seed, a Generator (used as is) or None
        if p == 1.0:
            mask = np.zeros_like(x)
        else:
            mask = (rng.random(x.shape) >= p).astype(x.dtype)
            mask *= 1.0 / (1.0 - p)
        out = x * mask
    cache = mask
    return out, cache


def dropout_backward(dout, cache):
    """Backward of dropout_forward. dout: shape of x. Returns dx (shape of x)."""
    mask = cache
    if mask is not None:
        _check_dout("dropout_backward", dout, mask.shape)
    dx = dout if mask is None else dout * mask
    return dx
