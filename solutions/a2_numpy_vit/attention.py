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
    ### BEGIN SOLUTION Task 2.3: scores, softmax over the keys, weighted sum of the values
    scale = 1.0 / float(np.sqrt(q.shape[-1]))  # a Python float keeps float32 arrays float32
    scores = (q @ k.swapaxes(-1, -2)) * scale  # (..., Tq, Tk)
    attn, sm_cache = layers.softmax_forward(scores, axis=-1)
    out = attn @ v  # (..., Tq, dv)
    cache = {"q": q, "k": k, "v": v, "attn": attn, "softmax": sm_cache, "scale": scale}
    ### END SOLUTION
    return out, cache


def attention_backward(dout, cache):
    """Backward pass of `attention_forward`.

    dout: (..., Tq, dv). Returns dq (..., Tq, d), dk (..., Tk, d), dv (..., Tk, dv).
    """
    ### BEGIN SOLUTION Task 2.3: through out = A V, the softmax, and S = scale * Q K^T
    q, k, v, attn, scale = cache["q"], cache["k"], cache["v"], cache["attn"], cache["scale"]
    dv = attn.swapaxes(-1, -2) @ dout  # (..., Tk, dv)
    dattn = dout @ v.swapaxes(-1, -2)  # (..., Tq, Tk)
    dscores = layers.softmax_backward(dattn, cache["softmax"]) * scale
    dq = dscores @ k  # (..., Tq, d)
    dk = dscores.swapaxes(-1, -2) @ q  # (..., Tk, d)
    ### END SOLUTION
    return dq, dk, dv


def mhsa_loop_forward(x, w_qkv, b_qkv, w_o, b_o, num_heads):
    """Multi-head self-attention, one head at a time.

    x: (N, T, D); w_qkv: (D, 3D); b_qkv: (3D,); w_o: (D, D); b_o: (D,); num_heads divides D.
    Returns out (N, T, D) and a cache for `mhsa_loop_backward`.
    """
    _check_mhsa(x, w_qkv, b_qkv, w_o, b_o, num_heads)
    ### BEGIN SOLUTION Task 2.3: project to qkv, attend with each head's column slices, concatenate, project
    D = x.shape[-1]
    d = D // num_heads
    qkv, qkv_cache = layers.linear_forward(x, w_qkv, b_qkv)  # (N, T, 3D)
    heads, head_caches = [], []
    for h in range(num_heads):
        cols = slice(h * d, (h + 1) * d)
        q, k, v = qkv[..., cols], qkv[..., D:][..., cols], qkv[..., 2 * D:][..., cols]
        a, c = attention_forward(q, k, v)  # (N, T, d)
        heads.append(a)
        head_caches.append(c)
    merged = np.concatenate(heads, axis=-1)  # (N, T, D)
    out, o_cache = layers.linear_forward(merged, w_o, b_o)
    cache = (qkv_cache, head_caches, o_cache, num_heads)
    ### END SOLUTION
    return out, cache


def mhsa_loop_backward(dout, cache):
    """Backward pass of `mhsa_loop_forward`.

    dout: (N, T, D). Returns dx (N, T, D), dw_qkv (D, 3D), db_qkv (3D,), dw_o (D, D), db_o (D,).
    """
    ### BEGIN SOLUTION Task 2.3: mirror the forward pass, writing each head's dq, dk, dv into its columns
    qkv_cache, head_caches, o_cache, num_heads = cache
    dmerged, dw_o, db_o = layers.linear_backward(dout, o_cache)  # (N, T, D)
    N, T, D = dmerged.shape
    d = D // num_heads
    dqkv = np.empty((N, T, 3 * D), dtype=dmerged.dtype)
    for h in range(num_heads):
        dq, dk, dv = attention_backward(dmerged[..., h * d:(h + 1) * d], head_caches[h])
        for j, g in enumerate((dq, dk, dv)):
            dqkv[..., j * D + h * d:j * D + (h + 1) * d] = g
    dx, dw_qkv, db_qkv = layers.linear_backward(dqkv, qkv_cache)
    ### END SOLUTION
    return dx, dw_qkv, db_qkv, dw_o, db_o


def mhsa_forward(x, w_qkv, b_qkv, w_o, b_o, num_heads):
    """Multi-head self-attention, every head at once (same contract as `mhsa_loop_forward`).

    No Python loop over heads or examples: reshape qkv (N, T, 3D) -> (3, N, H, T, d) and
    call `attention_forward` once on (N, H, T, d) arrays.
    """
    _check_mhsa(x, w_qkv, b_qkv, w_o, b_o, num_heads)
    ### BEGIN SOLUTION Task 2.3: one batched attention over (N, H, T, d), then merge the heads
    N, T, D = x.shape
    H, d = num_heads, D // num_heads
    qkv, qkv_cache = layers.linear_forward(x, w_qkv, b_qkv)  # (N, T, 3D)
    q, k, v = qkv.reshape(N, T, 3, H, d).transpose(2, 0, 3, 1, 4)  # 3 x (N, H, T, d), views
    a, attn_cache = attention_forward(q, k, v)  # (N, H, T, d)
    merged = a.transpose(0, 2, 1, 3).reshape(N, T, D)
    out, o_cache = layers.linear_forward(merged, w_o, b_o)
    cache = (qkv_cache, attn_cache, o_cache, num_heads)
    ### END SOLUTION
    return out, cache


def mhsa_backward(dout, cache):
    """Backward pass of `mhsa_forward` (same contract as `mhsa_loop_backward`)."""
    ### BEGIN SOLUTION Task 2.3: undo the merge, batched attention backward, stack dq, dk, dv back to (N, T, 3D)
    qkv_cache, attn_cache, o_cache, H = cache
    dmerged, dw_o, db_o = layers.linear_backward(dout, o_cache)
    N, T, D = dmerged.shape
    d = D // H
    da = dmerged.reshape(N, T, H, d).transpose(0, 2, 1, 3)  # (N, H, T, d)
    dq, dk, dv = attention_backward(da, attn_cache)
    dqkv = np.empty((N, T, 3, H, d), dtype=dmerged.dtype)
    for j, g in enumerate((dq, dk, dv)):  # a loop over q, k, v, not over heads
        dqkv[:, :, j] = g.transpose(0, 2, 1, 3)
    dx, dw_qkv, db_qkv = layers.linear_backward(dqkv.reshape(N, T, 3 * D), qkv_cache)
    ### END SOLUTION
    return dx, dw_qkv, db_qkv, dw_o, db_o
