"""Task 2.1: cut images into patches and embed each patch with a linear layer.

A ViT reads an image as a sequence. With patch size p, an image (C, H, W) becomes
P = (H/p) * (W/p) patches, read row by row over the patch grid (left to right, top to
bottom). Each patch is flattened in (C, p, p) order, so a patch vector has C*p*p numbers
and the embedding weight `w` (C*p*p, D) is a conv kernel (D, C, p, p) reshaped and
transposed: patch embedding *is* a p x p convolution with stride p.
"""
import numpy as np

import layers


def _check_patch_size(H, W, p):
    if not isinstance(p, (int, np.integer)) or isinstance(p, bool) or p < 1:
        raise ValueError(f"patch size must be a positive integer, got {p!r}")
    if H % p or W % p:
        raise ValueError(
            f"patch size {p} does not divide the image size {H}x{W} "
            f"(choose a divisor of both, e.g. {_divisors(H, W)})"
        )


def _divisors(H, W):
    return ", ".join(str(d) for d in range(1, min(H, W) + 1) if H % d == 0 and W % d == 0)


def patchify(x, p):
    """Cut images into non-overlapping p x p patches.

    x: (N, C, H, W), with p dividing H and W.
    Returns patches (N, P, C*p*p), P = (H/p)*(W/p); patch k is at grid row k // (W/p),
    column k % (W/p), and is flattened in (C, p, p) order.
    """
    if x.ndim != 4:
        raise ValueError(f"patchify expects images (N, C, H, W), got shape {x.shape}")
    N, C, H, W = x.shape
    _check_patch_size(H, W, p)
    ### BEGIN SOLUTION Task 2.1: reshape to (N, C, H/p, p, W/p, p), move the grid axes first, flatten
    rows, cols = H // p, W // p
    x = x.reshape(N, C, rows, p, cols, p)
    x = x.transpose(0, 2, 4, 1, 3, 5)  # (N, rows, cols, C, p, p)
    patches = x.reshape(N, rows * cols, C * p * p)
    ### END SOLUTION
    return patches


def unpatchify(patches, p, image_shape):
    """Inverse of `patchify`: put the patches back together into images.

    patches: (N, P, C*p*p); image_shape: (C, H, W). Returns x (N, C, H, W).
    """
    C, H, W = image_shape
    _check_patch_size(H, W, p)
    N = patches.shape[0]
    expected = (N, (H // p) * (W // p), C * p * p)
    if patches.shape != expected:
        raise ValueError(f"unpatchify: patches of shape {expected} make a {image_shape} image, got {patches.shape}")
    ### BEGIN SOLUTION Task 2.1: undo patchify's reshape and transpose
    rows, cols = H // p, W // p
    x = patches.reshape(N, rows, cols, C, p, p)
    x = x.transpose(0, 3, 1, 4, 2, 5)  # (N, C, rows, p, cols, p)
    x = x.reshape(N, C, H, W)
    ### END SOLUTION
    return x


def patch_embed_forward(x, w, b, p):
    """Patchify, then a linear layer on every patch.

    x: (N, C, H, W); w: (C*p*p, D); b: (D,).
    Returns out (N, P, D) and a cache for `patch_embed_backward`.
    """
    N, C, H, W = x.shape
    _check_patch_size(H, W, p)
    if w.shape[0] != C * p * p or b.shape != (w.shape[1],):
        raise ValueError(f"patch embedding with C={C}, p={p} needs w ({C * p * p}, D) and b (D,), "
                         f"got w {w.shape} and b {b.shape}")
    ### BEGIN SOLUTION Task 2.1: patchify, then layers.linear_forward; keep what the backward pass needs
    patches = patchify(x, p)  # (N, P, C*p*p)
    out, lin_cache = layers.linear_forward(patches, w, b)  # (N, P, D)
    cache = (lin_cache, p, (C, H, W))
    ### END SOLUTION
    return out, cache


def patch_embed_backward(dout, cache):
    """Backward pass of `patch_embed_forward`.

    dout: (N, P, D). Returns dx (N, C, H, W), dw (C*p*p, D), db (D,).
    """
    ### BEGIN SOLUTION Task 2.1: linear backward, then unpatchify the patch gradient
    lin_cache, p, image_shape = cache
    dpatches, dw, db = layers.linear_backward(dout, lin_cache)
    dx = unpatchify(dpatches, p, image_shape)
    ### END SOLUTION
    return dx, dw, db
