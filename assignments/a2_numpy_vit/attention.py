"""Task 2.3: scaled dot-product attention and multi-head self-attention.

    A = softmax(Q K^T / sqrt(d))      (..., Tq, Tk), softmax over the keys (last axis)
    out = A V                          (..., Tq, dv)

Multi-head self-attention (MHSA) on tokens x (N, T, D) with H heads of width d = D/H:

    qkv = x W_qkv + b_qkv              (N, T, 3D): columns [Q | K | V], each D wide;
                                       head h owns columns h*d:(h+1)*d of Q, K and V
    a_h = attention(Q_h, K_h, V_h)     (N, T, d) for every head h
    out = concat_h(a_h) W_o + b_o      (N, T, D)

Two versions compute the same function: `mhsa_loop_*` walks over the heads one at a time
(easy to read), `mhsa_*` reshapes to (N, H, T, d) and runs every head in one batched
matrix product (what you train with).
"""
import numpy as np

import layers


def _check_heads(D, num_heads):
    if not isinstance(num_heads, (int, np.integer)) or num_heads < 1 or D % num_heads:
        raise ValueError(f"num_heads={num_heads!r} must be a positive integer that divides the width D={D}")


def _check_mhsa(x, w_qkv, b_qkv, w_o, b_o, num_heads):
    if x.ndim != 3:
        raise ValueError(f"self-attention expects tokens (N, T, D), got shape {x.shape}")
    D = x.shape[-1]
    _check_heads(D, num_heads)
    shapes = {"w_qkv": (w_qkv.shape, (D, 3 * D)), "b_qkv": (b_qkv.shape, (3 * D,)),
              "w_o": (w_o.shape, (D, D)), "b_o": (b_o.shape, (D,))}
    for name, (got, want) in shapes.items():
        if got != want:
            raise ValueError(f"{name} must have shape {want} for width D={D}, got {got}")


def attention_forward(q, k, v):
    """Scaled dot-product attention over the last two axes.

    q: (..., Tq, d); k: (..., Tk, d); v: (..., Tk, dv) (leading axes broadcast, e.g. (N, H)).
    Returns out (..., Tq, dv) and a cache. The attention weights are in cache["attn"]
    (..., Tq, Tk); every row sums to 1.
    """
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"attention needs q (..., Tq, d), k (..., Tk, d), v (..., Tk, dv); "
                         f"got q {q.shape}, k {k.shape}, v {v.shape}")
    raise NotImplementedError("Task 2.3: scores, softmax over the keys, weighted sum of the values")
    return out, cache


def attention_backward(dout, cache):
    """Backward pass of `attention_forward`.

    dout: (..., Tq, dv). Returns dq (..., Tq, d), dk (..., Tk, d), dv (..., Tk, dv).
    """
    raise NotImplementedError("Task 2.3: through out = A V, the softmax, and S = scale * Q K^T")
    return dq, dk, dv


def mhsa_loop_forward(x, w_qkv, b_qkv, w_o, b_o, num_heads):
    """Multi-head self-attention, one head at a time.

    x: (N, T, D); w_qkv: (D, 3D); b_qkv: (3D,); w_o: (D, D); b_o: (D,); num_heads divides D.
    Returns out (N, T, D) and a cache for `mhsa_loop_backward`.
    """
    _check_mhsa(x, w_qkv, b_qkv, w_o, b_o, num_heads)
    raise NotImplementedError("Task 2.3: project to qkv, attend with each head's column slices, concatenate, project")
    return out, cache


def mhsa_loop_backward(dout, cache):
    """Backward pass of `mhsa_loop_forward`.

    dout: (N, T, D). Returns dx (N, T, D), dw_qkv (D, 3D), db_qkv (3D,), dw_o (D, D), db_o (D,).
    """
    raise NotImplementedError("Task 2.3: mirror the forward pass, writing each head's dq, dk, dv into its columns")
    return dx, dw_qkv, db_qkv, dw_o, db_o


def mhsa_forward(x, w_qkv, b_qkv, w_o, b_o, num_heads):
    """Multi-head self-attention, every head at once (same contract as `mhsa_loop_forward`).

    No Python loop over heads or examples: reshape qkv (N, T, 3D) -> (3, N, H, T, d) and
    call `attention_forward` once on (N, H, T, d) arrays.
    """
    _check_mhsa(x, w_qkv, b_qkv, w_o, b_o, num_heads)
    raise NotImplementedError("Task 2.3: one batched attention over (N, H, T, d), then merge the heads")
    return out, cache


def mhsa_backward(dout, cache):
    """Backward pass of `mhsa_forward` (same contract as `mhsa_loop_backward`)."""
    raise NotImplementedError("Task 2.3: undo the merge, batched attention backward, stack dq, dk, dv back to (N, T, 3D)")
    return dx, dw_qkv, db_qkv, dw_o, db_o
