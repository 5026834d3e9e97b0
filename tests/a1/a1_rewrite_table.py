"""Correct rewrites of Assignment 1's solutions, written the way other courses and students
write them: each must keep full marks. A rewrite replaces whole fence bodies: (file,
start of the fence's BEGIN line, new body) for each fence it rewrites."""
from __future__ import annotations

from typing import NamedTuple


class Rewrite(NamedTuple):
    name: str
    task: str
    fences: tuple[tuple[str, str, str], ...]


CONV_LOOPS_FWD = """\
    # CS231n's naive loops: one window at a time
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), mode="constant")
    out = np.zeros((N, F, OH, OW), dtype=x.dtype)
    for n in range(N):
        for f in range(F):
            for i in range(OH):
                for j in range(OW):
                    hs, ws = i * stride, j * stride
                    out[n, f, i, j] = np.sum(xp[n, :, hs:hs + KH, ws:ws + KW] * w[f]) + b[f]
    cols = None
"""
CONV_LOOPS_BWD = """\
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), mode="constant")
    dxp, dw, db = np.zeros_like(xp), np.zeros_like(w), dout.sum(axis=(0, 2, 3))
    for n in range(N):
        for f in range(F):
            for i in range(OH):
                for j in range(OW):
                    hs, ws = i * stride, j * stride
                    dw[f] += xp[n, :, hs:hs + KH, ws:ws + KW] * dout[n, f, i, j]
                    dxp[n, :, hs:hs + KH, ws:ws + KW] += w[f] * dout[n, f, i, j]
    dx = dxp[:, :, padding:padding + H, padding:padding + W]
"""
CONV_WINDOWS_FWD = """\
    from numpy.lib.stride_tricks import sliding_window_view
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = sliding_window_view(xp, (KH, KW), axis=(2, 3))[:, :, ::stride, ::stride][:, :, :OH, :OW]
    out = np.einsum("nchwij,fcij->nfhw", win, w) + b[:, None, None]
    cols = None
"""
CONV_WINDOWS_BWD = """\
    from numpy.lib.stride_tricks import sliding_window_view
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = sliding_window_view(xp, (KH, KW), axis=(2, 3))[:, :, ::stride, ::stride][:, :, :OH, :OW]
    db = np.einsum("nfhw->f", dout)
    dw = np.einsum("nchwij,nfhw->fcij", win, dout)
    dxp = np.zeros_like(xp)
    for i in range(KH):
        for j in range(KW):
            dxp[:, :, i:i + stride * OH:stride, j:j + stride * OW:stride] += np.einsum("nfhw,fc->nchw", dout, w[:, :, i, j])
    dx = dxp[:, :, padding:xp.shape[2] - padding, padding:xp.shape[3] - padding]
"""
LINEAR_EINSUM_FWD = """\
    out = np.einsum("...d,dm->...m", x, w) + b
"""
LINEAR_EINSUM_BWD = """\
    dx = np.einsum("...m,dm->...d", dout, w)
    x2, dout2 = x.reshape(-1, w.shape[0]), dout.reshape(-1, w.shape[1])  # einsum cannot sum out an ellipsis
    dw = np.einsum("nd,nm->dm", x2, dout2)
    db = np.einsum("nm->m", dout2)
"""
LN_CS231N_BWD = """\
    # the one-line form: dx = (D dxhat - sum dxhat - xhat sum(dxhat xhat)) / (D std)
    N = xhat.shape[-1]
    dxhat = dout * gamma
    dx = (1.0 / N) * inv_std * (N * dxhat - dxhat.sum(axis=-1, keepdims=True)
                                - xhat * (dxhat * xhat).sum(axis=-1, keepdims=True))
    lead = tuple(range(dout.ndim - 1))
    dgamma = (dout * xhat).sum(axis=lead)
    dbeta = dout.sum(axis=lead)
"""
LN_STAGED_BWD = """\
    # the computational graph, node by node: xmu = x - mu, var, ivar, xhat
    D = xhat.shape[-1]
    xmu = xhat / inv_std
    dbeta = dout.reshape(-1, D).sum(axis=0)
    dgamma = (dout * xhat).reshape(-1, D).sum(axis=0)
    dxhat = dout * gamma
    divar = np.sum(dxhat * xmu, axis=-1, keepdims=True)
    dxmu1 = dxhat * inv_std
    dsqrtvar = -inv_std * inv_std * divar
    dvar = 0.5 * inv_std * dsqrtvar
    dsq = np.ones_like(xhat) / D * dvar
    dxmu2 = 2 * xmu * dsq
    dx1 = dxmu1 + dxmu2
    dmu = -np.sum(dx1, axis=-1, keepdims=True)
    dx = dx1 + np.ones_like(xhat) / D * dmu
"""
SOFTMAX_PLAIN_BWD = """\
    dx = out * (dout - np.sum(dout * out, axis=axis, keepdims=True))
"""
SOFTMAX_PLAIN_FWD = """\
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    out = e / np.sum(e, axis=axis, keepdims=True)
"""
CE_ONEHOT = """\
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    q = np.full_like(logits, eps / C)
    q[np.arange(N), y] += 1.0 - eps
    loss = float(-np.sum(q * log_probs) / N)
    dlogits = (np.exp(log_probs) - q) / N
"""
DROPOUT_BINOMIAL = """\
    if not train or p == 0.0:
        return x, None
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    keep = rng.random(x.shape) < 1.0 - p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    mask = keep.astype(x.dtype) * x.dtype.type(scale)
    out = x * mask
"""
MAXPOOL_LOOPS_FWD = """\
    out = np.zeros((N, C, OH, OW), dtype=x.dtype)
    argmax = np.zeros((N, C, OH, OW), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    window = x[n, c, i * s:i * s + k, j * s:j * s + k]
                    a = int(np.argmax(window))  # row-major, first maximum
                    argmax[n, c, i, j] = a
                    out[n, c, i, j] = window.flat[a]
"""
MAXPOOL_LOOPS_BWD = """\
    N, C, OH, OW = argmax.shape
    dx = np.zeros(x_shape, dtype=dout.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    a, b = divmod(int(argmax[n, c, i, j]), k)
                    dx[n, c, i * s + a, j * s + b] += dout[n, c, i, j]
"""
NUMGRAD_NDITER = """\
    fx = f(x)  # CS231n evaluates f once first
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        oldval = x[ix]
        x[ix] = oldval + h
        fxph = f(x)
        x[ix] = oldval - h
        fxmh = f(x)
        x[ix] = oldval
        grad[ix] = (fxph - fxmh) / (2 * h)
        it.iternext()
"""
REL_ERROR_CS231N = """\
    error = float(np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y)))))
"""

DROPOUT_F32_STREAM = """\
    if train and p > 0.0:
        gen = np.random.default_rng(rng)
        if p >= 1.0:
            mask = np.zeros_like(x)
        else:  # a float32 stream, and the scale as x's own dtype
            mask = (gen.random(x.shape, dtype=np.float32) >= p).astype(x.dtype) / x.dtype.type(1.0 - p)
        out = x * mask
    else:
        out, mask = x, None
"""
NUMGRAD_PLUS_MINUS = """\
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        x[ix] += h  # restored by += h below, up to rounding
        fxph = f(x)
        x[ix] -= 2 * h
        fxmh = f(x)
        x[ix] += h
        grad[ix] = (fxph - fxmh) / (2 * h)
"""
NUMGRAD_ARRAY_NDITER = """\
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        oldval = x[ix]
        x[ix] = oldval + h
        pos = f(x).copy()
        x[ix] = oldval - h
        neg = f(x).copy()
        x[ix] = oldval
        grad[ix] = np.sum((pos - neg) * dout) / (2 * h)
        it.iternext()
"""

_L, _C, _G = "layers.py", "conv.py", "gradcheck.py"
REWRITES = [
    Rewrite("explicit-loop conv (CS231n naive)", "1.6",
            ((_C, "### BEGIN SOLUTION Task 1.6: zero-pad", CONV_LOOPS_FWD),
             (_C, "### BEGIN SOLUTION Task 1.6: db, dw", CONV_LOOPS_BWD))),
    Rewrite("sliding_window_view + einsum conv", "1.6",
            ((_C, "### BEGIN SOLUTION Task 1.6: zero-pad", CONV_WINDOWS_FWD),
             (_C, "### BEGIN SOLUTION Task 1.6: db, dw", CONV_WINDOWS_BWD))),
    Rewrite("einsum linear", "1.1",
            ((_L, "### BEGIN SOLUTION Task 1.1: compute", LINEAR_EINSUM_FWD),
             (_L, "### BEGIN SOLUTION Task 1.1: dx, dw", LINEAR_EINSUM_BWD))),
    Rewrite("LayerNorm backward, one-line CS231n form", "1.4",
            ((_L, "### BEGIN SOLUTION Task 1.4: dx (with", LN_CS231N_BWD),)),
    Rewrite("LayerNorm backward, staged graph form", "1.4",
            ((_L, "### BEGIN SOLUTION Task 1.4: dx (with", LN_STAGED_BWD),)),
    Rewrite("plain NumPy softmax and a one-hot cross-entropy", "1.3",
            ((_L, "### BEGIN SOLUTION Task 1.3: a numerically", SOFTMAX_PLAIN_FWD),
             (_L, "### BEGIN SOLUTION Task 1.3: dx = out", SOFTMAX_PLAIN_BWD),
             (_L, "### BEGIN SOLUTION Task 1.3: loss", CE_ONEHOT))),
    Rewrite("dropout keeping rng.random() < 1 - p", "1.5",
            ((_L, "### BEGIN SOLUTION Task 1.5: identity", DROPOUT_BINOMIAL),)),
    Rewrite("max-pool with loops and np.argmax", "1.7",
            ((_C, "### BEGIN SOLUTION Task 1.7: out = max", MAXPOOL_LOOPS_FWD),
             (_C, "### BEGIN SOLUTION Task 1.7: route", MAXPOOL_LOOPS_BWD))),
    Rewrite("CS231n gradient check (nditer, rel_error in one line)", "1.8",
            ((_G, "### BEGIN SOLUTION Task 1.8: for every index", NUMGRAD_NDITER),
             (_G, "### BEGIN SOLUTION Task 1.8: max over", REL_ERROR_CS231N))),
    Rewrite("dropout from a float32 random stream", "1.5",
            ((_L, "### BEGIN SOLUTION Task 1.5: identity", DROPOUT_F32_STREAM),)),
    Rewrite("gradient check by += h, -= 2h, += h; CS231n's array check", "1.8",
            ((_G, "### BEGIN SOLUTION Task 1.8: for every index", NUMGRAD_PLUS_MINUS),
             (_G, "### BEGIN SOLUTION Task 1.8: as eval_numerical_gradient", NUMGRAD_ARRAY_NDITER))),
]
