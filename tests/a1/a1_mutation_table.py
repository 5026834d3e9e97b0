"""Assignment 1's mutation table: realistic student bugs, each a small edit of the reference
inside one task's solution fence, and correct rewrites that must keep full marks.

A bug is (name, task, file, [(reference text, buggy text), ...]); the edits of one bug all
sit in fences of its own task. test_a1_mutations.py grades them through the real hidden
graders, packing at most one bug per task into each submission.
"""
from __future__ import annotations

from typing import NamedTuple


class Mutation(NamedTuple):
    name: str
    task: str
    file: str
    edits: tuple[tuple[str, str], ...]


def _m(task: str, file: str, name: str, *edits: tuple[str, str]) -> Mutation:
    return Mutation(name, task, file, tuple(edits))


L, C, G = "layers.py", "conv.py", "gradcheck.py"

BUGS = [
    # ---- 1.1 Linear -----------------------------------------------------------------------
    _m("1.1", L, "db summed over the first axis only (wrong for (N, T, D))",
       ("db = dout2.sum(axis=0)  # (M,)", "db = dout.sum(axis=0)  # (M,)")),
    _m("1.1", L, "dw missing a transpose (dout^T x)", ("dw = x2.T @ dout2  # (D, M)", "dw = dout2.T @ x2  # (D, M)")),
    _m("1.1", L, "dx with w instead of w.T", ("dx = (dout2 @ w.T).reshape(x.shape)", "dx = (dout2 @ w).reshape(x.shape)")),
    _m("1.1", L, "bias forgotten in the forward", ("    out += b\n", "")),
    _m("1.1", L, "db accumulated in float64", ("db = dout2.sum(axis=0)  # (M,)", "db = dout2.sum(axis=0, dtype=np.float64)")),
    _m("1.1", L, "CS231n flatten x.reshape(N, -1) (wrong for (N, T, D))",
       ("out = (x.reshape(-1, D) @ w).reshape(*x.shape[:-1], M)  # (N, ..., M)", "out = x.reshape(x.shape[0], -1) @ w")),
    _m("1.1", L, "dw scaled by 1/N (a mean instead of a sum)", ("dw = x2.T @ dout2  # (D, M)", "dw = x2.T @ dout2 / len(x2)")),
    _m("1.1", L, "dx left flat (N*T, D)", ("dx = (dout2 @ w.T).reshape(x.shape)  # (N, ..., D)", "dx = dout2 @ w.T")),
    # ---- 1.2 ReLU and GELU ----------------------------------------------------------------
    _m("1.2", L, "relu gradient 1 at x == 0", ("dx = dout * (x > 0)", "dx = dout * (x >= 0)")),
    _m("1.2", L, "relu backward overwrites dout in place (dx = dout; dx[x <= 0] = 0)",
       ("dx = dout * (x > 0)", "dx = dout\n    dx[x <= 0] = 0")),
    _m("1.2", L, "relu forward clamps x in place", ("out = np.maximum(x, 0)", "out = np.maximum(x, 0, out=x)")),
    _m("1.2", L, "gelu backward drops the Phi(x) term", ("    dphi += phi\n    dx = dout * dphi", "    dx = dout * dphi")),
    _m("1.2", L, "gelu tanh backward without the factor 3",
       ("du = _TANH_K * (1.0 + 3.0 * _TANH_C * x * x)", "du = _TANH_K * (1.0 + _TANH_C * x * x)")),
    _m("1.2", L, "normal_cdf with a NumPy float64 constant (float32 becomes float64)",
       ("    if x.dtype.itemsize > 4:\n        phi = erf(x * _SQRT_HALF)",
        "    if True:\n        phi = erf(x / np.sqrt(np.float64(2.0)))")),
    _m("1.2", L, "gelu ignores approximate (always the exact form)",
       ("    if approximate == \"none\":\n        phi = normal_cdf(x)", "    if True:\n        phi = normal_cdf(x)")),
    _m("1.2", L, "gelu backward density without 1/sqrt(2 pi)",
       ("        dphi *= _INV_SQRT_2PI * x\n", "        dphi *= x\n")),
    _m("1.2", L, "float32 GELU by the tanh approximation", ("    if approximate == \"none\":\n        phi = normal_cdf(x)",
                                                          "    if approximate == \"none\" and x.dtype.itemsize > 4:\n        phi = normal_cdf(x)")),
    # ---- 1.3 Softmax and cross-entropy ----------------------------------------------------
    _m("1.3", L, "softmax always over the last axis",
       ("    out = x - x.max(axis=axis, keepdims=True)\n    np.exp(out, out=out)\n    out *= 1.0 / _sum(out, axis)",
        "    out = x - x.max(axis=-1, keepdims=True)\n    np.exp(out, out=out)\n    out *= 1.0 / _sum(out, -1)")),
    _m("1.3", L, "softmax without the max shift", ("    out = x - x.max(axis=axis, keepdims=True)\n", "    out = x.copy()\n")),
    _m("1.3", L, "softmax backward sums over the last axis", ("dx = dout - _sum(dout, axis, out)", "dx = dout - _sum(dout, -1, out)")),
    _m("1.3", L, "cross-entropy without the max shift", ("z = logits - logits.max(axis=1, keepdims=True)  # (N, C), max is 0",
                                                         "z = logits")),
    _m("1.3", L, "cross-entropy as log of an underflowed probability",
       ("logp = z - np.log(sumexp)  # (N, C)", "logp = np.log(expz / sumexp)  # (N, C)")),
    _m("1.3", L, "dlogits not divided by N", ("    dlogits /= N\n", "")),
    _m("1.3", L, "loss summed instead of averaged",
       ("loss = float(((1.0 - eps) * nll + eps * smooth).mean())", "loss = float(((1.0 - eps) * nll + eps * smooth).sum())")),
    _m("1.3", L, "label smoothing missing from the loss", ("loss = float(((1.0 - eps) * nll + eps * smooth).mean())",
                                                          "loss = float(nll.mean())")),
    _m("1.3", L, "float64 one-hot target (float32 dlogits become float64)",
       ("    dlogits[rows, y] -= 1.0 - eps\n    dlogits -= eps / C\n",
        "    q = np.full((N, C), eps / C)\n    q[rows, y] += 1.0 - eps\n    dlogits = dlogits - q\n")),
    _m("1.3", L, "softmax forward shifts x in place", ("    out = x - x.max(axis=axis, keepdims=True)\n    np.exp(out, out=out)",
                                                      "    x -= x.max(axis=axis, keepdims=True)\n    out = np.exp(x)")),
    _m("1.3", L, "softmax backward scales the cached out in place", ("    dx = dout - _sum(dout, axis, out)\n    dx *= out\n",
                                                                    "    out *= dout - _sum(dout, axis, out)\n    dx = out\n")),
    _m("1.3", L, "softmax shifted by the global max", ("    out = x - x.max(axis=axis, keepdims=True)\n", "    out = x - x.max()\n")),
    _m("1.3", L, "cross-entropy shifted by the global max", ("z = logits - logits.max(axis=1, keepdims=True)  # (N, C), max is 0",
                                                            "z = logits - logits.max()")),
    # ---- 1.4 LayerNorm --------------------------------------------------------------------
    _m("1.4", L, "backward without the two mean terms",
       ("    dx = dxhat - _sum(dxhat, -1) / D\n    dx -= xhat * (_sum(dxhat, -1, xhat) / D)\n", "    dx = dxhat.copy()\n")),
    _m("1.4", L, "backward without the xhat term", ("    dx -= xhat * (_sum(dxhat, -1, xhat) / D)\n", "")),
    _m("1.4", L, "variance as E[x^2] - E[x]^2",
       ("    var = _sum(xhat, -1, xhat) / D  # (..., 1)", "    var = _sum(x, -1, x) / D - (_sum(x, -1) / D) ** 2")),
    _m("1.4", L, "unbiased variance (D - 1)", ("    var = _sum(xhat, -1, xhat) / D  # (..., 1)", "    var = _sum(xhat, -1, xhat) / max(D - 1, 1)")),
    _m("1.4", L, "eps outside the square root", ("inv_std = 1.0 / np.sqrt(var + eps)", "inv_std = 1.0 / (np.sqrt(var) + eps)")),
    _m("1.4", L, "dgamma summed over axis 0 only (wrong for (N, T, D))",
       ("dgamma = np.einsum(\"nd,nd->d\", dout.reshape(-1, D), xhat.reshape(-1, D))  # (D,)",
        "dgamma = (dout * xhat).sum(axis=0)")),
    _m("1.4", L, "mean taken in float64", ("xhat = x - _sum(x, -1) / D  # (..., D), centred",
                                          "xhat = x - x.mean(axis=-1, keepdims=True, dtype=np.float64)")),
    _m("1.4", L, "forward centres x in place", ("xhat = x - _sum(x, -1) / D  # (..., D), centred",
                                               "x -= _sum(x, -1) / D\n    xhat = x.copy()")),
    _m("1.4", L, "dgamma without xhat (the sum of dout)",
       ("dgamma = np.einsum(\"nd,nd->d\", dout.reshape(-1, D), xhat.reshape(-1, D))  # (D,)",
        "dgamma = np.einsum(\"nd->d\", dout.reshape(-1, D))  # (D,)")),
    _m("1.4", L, "backward rescales the cached xhat in place", ("    dx -= xhat * (_sum(dxhat, -1, xhat) / D)\n",
                                                               "    xhat *= _sum(dxhat, -1, xhat) / D\n    dx -= xhat\n")),
    _m("1.4", L, "eps hard-coded to 1e-5", ("inv_std = 1.0 / np.sqrt(var + eps)", "inv_std = 1.0 / np.sqrt(var + 1e-5)")),
    _m("1.4", L, "dxhat without gamma", ("    dxhat = dout * gamma  # (..., D)", "    dxhat = dout.copy()")),
    # ---- 1.5 Dropout ----------------------------------------------------------------------
    _m("1.5", L, "kept entries not scaled", ("            mask *= 1.0 / (1.0 - p)\n", "")),
    _m("1.5", L, "float64 scale (float32 becomes float64)", ("            mask *= 1.0 / (1.0 - p)\n",
                                                             "            mask = mask / np.float64(1.0 - p)\n")),
    _m("1.5", L, "global np.random instead of rng", ("mask = (rng.random(x.shape) >= p).astype(x.dtype)",
                                                   "mask = (np.random.random_sample(x.shape) >= p).astype(x.dtype)")),
    _m("1.5", L, "keeps with probability p", ("mask = (rng.random(x.shape) >= p).astype(x.dtype)",
                                            "mask = (rng.random(x.shape) < p).astype(x.dtype)")),
    _m("1.5", L, "drops in eval mode too", ("    if not train or p == 0.0:", "    if p == 0.0:")),
    _m("1.5", L, "p == 1 divides by zero", ("        if p == 1.0:\n            mask = np.zeros_like(x)\n        else:\n",
                                          "        if False:\n            pass\n        else:\n")),
    _m("1.5", L, "a Generator is reseeded instead of used",
       ("rng = np.random.default_rng(rng)  # an int seed, a Generator (used as is) or None",
        "rng = np.random.default_rng(rng if not isinstance(rng, np.random.Generator) else 0)")),
    _m("1.5", L, "backward forgets the scale", ("dx = dout if mask is None else dout * mask",
                                              "dx = dout if mask is None else dout * (mask != 0)")),
    _m("1.5", L, "one mask row shared by the whole batch", ("mask = (rng.random(x.shape) >= p).astype(x.dtype)",
                                                          "mask = (rng.random(x.shape[-1:]) >= p).astype(x.dtype) * np.ones_like(x)")),
    # ---- 1.6 Conv2d -----------------------------------------------------------------------
    _m("1.6", C, "dx cropped at the top-left corner", ("dx = np.ascontiguousarray(dxp[:, :, P:P + H, P:P + W]) if P else dxp",
                                                      "dx = np.ascontiguousarray(dxp[:, :, :H, :W])")),
    _m("1.6", C, "dx[:, :, p:-p] crop (empty at padding 0)", ("dx = np.ascontiguousarray(dxp[:, :, P:P + H, P:P + W]) if P else dxp",
                                                             "dx = dxp[:, :, P:-P, P:-P]")),
    _m("1.6", C, "crop offset hard-coded to 1", ("dx = np.ascontiguousarray(dxp[:, :, P:P + H, P:P + W]) if P else dxp",
                                                "dx = np.ascontiguousarray(dxp[:, :, 1:1 + H, 1:1 + W]) if P else dxp")),
    _m("1.6", C, "col2im ignores the stride", ("            dxp[:, :, i:i + s * OH:s, j:j + s * OW:s] += dcols[:, :, i, j]",
                                              "            dxp[:, :, i:i + OH, j:j + OW] += dcols[:, :, i, j]")),
    _m("1.6", C, "col2im assigns instead of adding", ("            dxp[:, :, i:i + s * OH:s, j:j + s * OW:s] += dcols[:, :, i, j]",
                                                     "            dxp[:, :, i:i + s * OH:s, j:j + s * OW:s] = dcols[:, :, i, j]")),
    _m("1.6", C, "forward ignores the stride", ("            cols[:, :, i, j] = xp[:, :, i:i + s * OH:s, j:j + s * OW:s]",
                                               "            cols[:, :, i, j] = xp[:, :, i:i + OH, j:j + OW]")),
    _m("1.6", C, "padding hard-coded to 1", ("xp = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P))) if P else x",
                                            "xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))) if P else x")),
    _m("1.6", C, "kernel flipped (true convolution)", ("out = w.reshape(F, -1) @ cols  # (N, F, OH*OW), already in NCHW order",
                                                      "out = w[:, :, ::-1, ::-1].reshape(F, -1) @ cols")),
    _m("1.6", C, "db summed over the wrong axes", ("db = dout2.sum(axis=(0, 2))  # (F,)", "db = dout.sum(axis=(0, 2))  # (F,)")),
    _m("1.6", C, "square kernels only (KW taken as KH)", ("    for i in range(KH):\n        for j in range(KW):\n            cols",
                                                         "    for i in range(KH):\n        for j in range(KH):\n            cols")),
    _m("1.6", C, "float64 im2col buffer (float32 out becomes float64)", ("cols = np.empty((N, C, KH, KW, OH, OW), dtype=x.dtype)",
                                                                        "cols = np.empty((N, C, KH, KW, OH, OW))")),
    _m("1.6", C, "float64 dx buffer", ("dxp = np.zeros((N, C, H + 2 * P, W + 2 * P), dtype=dout.dtype)",
                                      "dxp = np.zeros((N, C, H + 2 * P, W + 2 * P))")),
    _m("1.6", C, "OH and OW swapped in the output reshape", ("    out = out.reshape(N, F, OH, OW)\n",
                                                            "    out = out.reshape(N, F, OW, OH).swapaxes(2, 3).reshape(N, F, OH, OW)\n")),
    _m("1.6", C, "bias forgotten in the forward", ("    out += b[:, None]\n", "")),
    _m("1.6", C, "dw from the first image only", ("dw = np.tensordot(dout2, cols, axes=([0, 2], [0, 2])).reshape(w.shape)",
                                                 "dw = (dout2[0] @ cols[0].T).reshape(w.shape)")),
    _m("1.6", C, "edge padding instead of zeros", ("xp = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P))) if P else x",
                                                  "xp = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)), mode=\"edge\") if P else x")),
    # ---- 1.7 MaxPool2d --------------------------------------------------------------------
    _m("1.7", C, "backward assigns instead of adding", ("dx[:, :, i:i + s * OH:s, j:j + s * OW:s] += dout * (argmax == i * k + j)",
                                                       "dx[:, :, i:i + s * OH:s, j:j + s * OW:s] = dout * (argmax == i * k + j)")),
    _m("1.7", C, "ties go to the last maximum", ("np.putmask(argmax, win > out, i * k + j)", "np.putmask(argmax, win >= out, i * k + j)")),
    _m("1.7", C, "column-major argmax cache", ("np.putmask(argmax, win > out, i * k + j)", "np.putmask(argmax, win > out, j * k + i)"),
       ("dx[:, :, i:i + s * OH:s, j:j + s * OW:s] += dout * (argmax == i * k + j)",
        "dx[:, :, i:i + s * OH:s, j:j + s * OW:s] += dout * (argmax == j * k + i)")),
    _m("1.7", C, "window index i * stride + j", ("np.putmask(argmax, win > out, i * k + j)", "np.putmask(argmax, win > out, i * s + j)"),
       ("dx[:, :, i:i + s * OH:s, j:j + s * OW:s] += dout * (argmax == i * k + j)",
        "dx[:, :, i:i + s * OH:s, j:j + s * OW:s] += dout * (argmax == i * s + j)")),
    _m("1.7", C, "stride taken as the kernel size", ("win = x[:, :, i:i + s * OH:s, j:j + s * OW:s]  # (N, C, OH, OW)",
                                                    "win = x[:, :, i:i + k * OH:k, j:j + k * OW:k][:, :, :OH, :OW]"),
       ("out = x[:, :, 0:s * OH:s, 0:s * OW:s].copy()", "out = x[:, :, 0:k * OH:k, 0:k * OW:k][:, :, :OH, :OW].copy()")),
    _m("1.7", C, "float64 dx buffer", ("dx = np.zeros(x_shape, dtype=dout.dtype)", "dx = np.zeros(x_shape)")),
    _m("1.7", C, "gradient to every tied maximum", ("np.putmask(argmax, win > out, i * k + j)",
                                                   "np.putmask(argmax, win > out, i * k + j)\n            np.putmask(argmax, win == out, i * k + j)")),
    # ---- 1.8 Gradient checking ------------------------------------------------------------
    _m("1.8", G, "x never restored", ("        fxmh = float(f(x))\n        x[ix] = old\n", "        fxmh = float(f(x))\n")),
    _m("1.8", G, "forward difference", ("        grad[ix] = (fxph - fxmh) / (2 * h)", "        grad[ix] = (fxph - float(f(x))) / h")),
    _m("1.8", G, "rel_error of the maxima, not elementwise",
       ("err = np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))",
        "err = np.abs(x - y).max(initial=0) / np.maximum(1e-8, (np.abs(x) + np.abs(y)).max(initial=0))")),
    _m("1.8", G, "rel_error without the 1e-8 floor", ("err = np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))",
                                                      "err = np.abs(x - y) / (np.abs(x) + np.abs(y))")),
    _m("1.8", G, "float64 gradient for float32 x", ("    grad = np.zeros_like(x)\n    for ix in np.ndindex(x.shape):\n        old = x[ix]\n"
                                                    "        x[ix] = old + h\n        fxph",
                                                    "    grad = np.zeros(x.shape)\n    for ix in np.ndindex(x.shape):\n        old = x[ix]\n"
                                                    "        x[ix] = old + h\n        fxph")),
    _m("1.8", G, "f's output not copied", ("        pos = np.array(f(x), copy=True)", "        pos = f(x)")),
    _m("1.8", G, "array gradient not weighted by dout", ("grad[ix] = np.sum((pos - neg) * dout) / (2 * h)",
                                                        "grad[ix] = np.sum(pos - neg) / (2 * h)")),
    _m("1.8", G, "array gradient restores x too early",
       ("        x[ix] = old - h\n        neg = np.array(f(x), copy=True)\n        x[ix] = old\n",
        "        x[ix] = old\n        neg = np.array(f(x), copy=True)\n")),
    _m("1.8", G, "rel_error per column", ("error = float(err.max()) if err.size else 0.0",
                                         "error = err.max(axis=0) if err.ndim else float(err)")),
]
