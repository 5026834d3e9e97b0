"""Task 2.2: the CLS token and position information.

Attention treats its input as a *set*: permuting the tokens permutes the output. Position
embeddings put the order back in. Two kinds are used here:

* learned: a parameter `pos` (1, T, D) added to the tokens (ViT's default);
* fixed sinusoidal: sin/cos waves of geometrically spaced frequencies
  (Vaswani et al., 2017), in 1-D over the token index or 2-D over the patch grid.

The CLS token is one learned vector (1, 1, D) prepended to every sequence; after the
encoder its output summarises the whole image and feeds the classifier head.
"""
import numpy as np


def cls_forward(x, cls):
    """Prepend the CLS token to every sequence.

    x: (N, P, D); cls: (1, 1, D). Returns out (N, P+1, D) with out[:, 0] = cls, and a cache.
    """
    if cls.shape != (1, 1, x.shape[-1]):
        raise ValueError(f"cls token must have shape (1, 1, {x.shape[-1]}), got {cls.shape}")
    ### BEGIN SOLUTION Task 2.2: broadcast cls to (N, 1, D) and concatenate in front of x
    N = x.shape[0]
    out = np.concatenate([np.broadcast_to(cls, (N, 1, cls.shape[-1])), x], axis=1)  # (N, P+1, D)
    cache = None
    ### END SOLUTION
    return out, cache


def cls_backward(dout, cache):
    """Backward pass of `cls_forward`.

    dout: (N, P+1, D). Returns dx (N, P, D) and dcls (1, 1, D): the CLS token is shared by
    the whole batch, so its gradient is the sum over the batch.
    """
    ### BEGIN SOLUTION Task 2.2: split dout into the CLS position and the rest
    dx = dout[:, 1:]
    dcls = dout[:, :1].sum(axis=0, keepdims=True)  # (1, 1, D)
    ### END SOLUTION
    return dx, dcls


def pos_embed_forward(x, pos):
    """Add position embeddings: out = x + pos.

    x: (N, T, D); pos: (1, T, D). Returns out (N, T, D) and a cache.
    """
    if pos.shape != (1,) + x.shape[1:]:
        raise ValueError(f"position embedding must have shape {(1,) + x.shape[1:]}, got {pos.shape}")
    ### BEGIN SOLUTION Task 2.2: add (broadcasting over the batch)
    out = x + pos
    cache = None
    ### END SOLUTION
    return out, cache


def pos_embed_backward(dout, cache):
    """Backward pass of `pos_embed_forward`. dout: (N, T, D). Returns dx (N, T, D), dpos (1, T, D)."""
    ### BEGIN SOLUTION Task 2.2: x passes the gradient through; pos is shared by the batch
    dx = dout
    dpos = dout.sum(axis=0, keepdims=True)
    ### END SOLUTION
    return dx, dpos


def sinusoidal_1d(T, D, base=10000.0):
    """Fixed 1-D sinusoidal encodings ("Attention is all you need", section 3.5).

    PE[t, 2i] = sin(t / base**(2i/D)),  PE[t, 2i+1] = cos(t / base**(2i/D)),
    for t = 0..T-1 and i = 0..D/2-1. D must be even. Returns PE (T, D), float64.
    """
    if D % 2:
        raise ValueError(f"sinusoidal_1d needs an even width D, got D={D}")
    ### BEGIN SOLUTION Task 2.2: outer product of positions and inverse frequencies, then interleave sin and cos
    t = np.arange(T, dtype=np.float64)[:, None]  # (T, 1)
    inv_freq = base ** (-np.arange(0, D, 2, dtype=np.float64) / D)  # (D/2,)
    angles = t * inv_freq  # (T, D/2)
    pe = np.empty((T, D), dtype=np.float64)
    pe[:, 0::2] = np.sin(angles)
    pe[:, 1::2] = np.cos(angles)
    ### END SOLUTION
    return pe


def sinusoidal_2d(grid_h, grid_w, D, base=10000.0):
    """Fixed 2-D sinusoidal encodings over a grid_h x grid_w patch grid (as in MAE).

    The first D/2 channels are `sinusoidal_1d` of the patch's row, the last D/2 channels
    `sinusoidal_1d` of its column, so D must be divisible by 4. Patches are in `patchify`
    order (row by row). Returns PE (grid_h*grid_w, D), float64.
    """
    if D % 4:
        raise ValueError(f"sinusoidal_2d needs a width D divisible by 4, got D={D}")
    ### BEGIN SOLUTION Task 2.2: encode rows and columns with half the channels each
    rows = sinusoidal_1d(grid_h, D // 2, base)  # (gh, D/2)
    cols = sinusoidal_1d(grid_w, D // 2, base)  # (gw, D/2)
    pe = np.concatenate([
        np.repeat(rows, grid_w, axis=0),  # patch k has row k // gw
        np.tile(cols, (grid_h, 1)),  # and column k % gw
    ], axis=1)
    ### END SOLUTION
    return pe
