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
    raise NotImplementedError("Task 2.2: broadcast cls to (N, 1, D) and concatenate in front of x")
    return out, cache


def cls_backward(dout, cache):
    """Backward pass of `cls_forward`.

    dout: (N, P+1, D). Returns dx (N, P, D) and dcls (1, 1, D): the CLS token is shared by
    the whole batch, so its gradient is the sum over the batch.
    """
    raise NotImplementedError("Task 2.2: split dout into the CLS position and the rest")
    return dx, dcls


def pos_embed_forward(x, pos):
    """Add position embeddings: out = x + pos.

    x: (N, T, D); pos: (1, T, D). Returns out (N, T, D) and a cache.
    """
    if pos.shape != (1,) + x.shape[1:]:
        raise ValueError(f"position embedding must have shape {(1,) + x.shape[1:]}, got {pos.shape}")
    raise NotImplementedError("Task 2.2: add (broadcasting over the batch)")
    return out, cache


def pos_embed_backward(dout, cache):
    """Backward pass of `pos_embed_forward`. dout: (N, T, D). Returns dx (N, T, D), dpos (1, T, D)."""
    raise NotImplementedError("Task 2.2: x passes the gradient through; pos is shared by the batch")
    return dx, dpos


def sinusoidal_1d(T, D, base=10000.0):
    """Fixed 1-D sinusoidal encodings ("Attention is all you need", section 3.5).

    PE[t, 2i] = sin(t / base**(2i/D)),  PE[t, 2i+1] = cos(t / base**(2i/D)),
    for t = 0..T-1 and i = 0..D/2-1. D must be even. Returns PE (T, D), float64.
    """
    if D % 2:
        raise ValueError(f"sinusoidal_1d needs an even width D, got D={D}")
    raise NotImplementedError("Task 2.2: outer product of positions and inverse frequencies, then interleave sin and cos")
    return pe


def sinusoidal_2d(grid_h, grid_w, D, base=10000.0):
    """Fixed 2-D sinusoidal encodings over a grid_h x grid_w patch grid (as in MAE).

    The first D/2 channels are `sinusoidal_1d` of the patch's row, the last D/2 channels
    `sinusoidal_1d` of its column, so D must be divisible by 4. Patches are in `patchify`
    order (row by row). Returns PE (grid_h*grid_w, D), float64.
    """
    if D % 4:
        raise ValueError(f"sinusoidal_2d needs a width D divisible by 4, got D={D}")
    raise NotImplementedError("Task 2.2: encode rows and columns with half the channels each")
    return pe
