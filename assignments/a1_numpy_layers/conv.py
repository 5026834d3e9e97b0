"""Conv2d and MaxPool2d, forward and backward, in NumPy (NCHW layout).

No Python loops over the batch, channels or output positions: both layers loop only over
the kernel's KH x KW offsets, and each iteration moves a whole strided slice at once.
Every function keeps the dtype it is given (float32 in, float32 out: its gradients too),
and none writes into its inputs (x, w, b, dout, the cache).
"""
from __future__ import annotations

import numpy as np


def _shape_error(func: str, what: str, expected, got) -> ValueError:
    return ValueError(f"{func}: {what} should have shape {expected}, got {tuple(got)}")


def _check_int(func: str, name: str, value, low: int) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
        raise ValueError(f"{func}: {name} should be an integer >= {low}, got {value!r}")
    return int(value)


def _out_size(func: str, size: int, kernel: int, stride: int, pad: int, axis: str) -> int:
    if size + 2 * pad < kernel:
        raise ValueError(f"{func}: kernel {axis} {kernel} is larger than the padded input {axis} {size + 2 * pad}")
    return (size + 2 * pad - kernel) // stride + 1


# ---------------------------------------------------------------------------------------
# Task 1.6: Conv2d
# ---------------------------------------------------------------------------------------

def conv2d_forward(x, w, b, stride=1, padding=0):
    """2-D cross-correlation (what deep learning calls convolution), as torch's conv2d.

    x: (N, C, H, W); w: (F, C, KH, KW); b: (F,)
    stride, padding: ints, the same along height and width; padding adds zeros.
    Returns out (N, F, OH, OW) with OH = (H + 2 padding - KH) // stride + 1 (OW alike)
    and cache = (x, w, stride, padding, cols), where cols is whatever your forward wants
    to reuse in the backward (the reference keeps the im2col matrix
    (N, C*KH*KW, OH*OW)); it may be None.
    """
    f = "conv2d_forward"
    if np.ndim(x) != 4:
        raise _shape_error(f, "x", "(N, C, H, W)", np.shape(x))
    if np.ndim(w) != 4 or w.shape[1] != x.shape[1]:
        raise _shape_error(f, "w", f"(F, {x.shape[1]}, KH, KW) to match x {x.shape}", np.shape(w))
    if np.shape(b) != (w.shape[0],):
        raise _shape_error(f, "b", (w.shape[0],), np.shape(b))
    stride = _check_int(f, "stride", stride, 1)
    padding = _check_int(f, "padding", padding, 0)
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    OH = _out_size(f, H, KH, stride, padding, "height")
    OW = _out_size(f, W, KW, stride, padding, "width")
    # im2col: cols[n, c, i, j, oh, ow] = xp[n, c, i + s*oh, j + s*ow]
    raise NotImplementedError("Task 1.6: zero-pad x, gather the KH x KW windows (im2col), one matmul, add b")
    cache = (x, w, stride, padding, cols)
    return out, cache


def conv2d_backward(dout, cache):
    """Backward of conv2d_forward.

    dout: (N, F, OH, OW). Returns dx (N, C, H, W), dw (F, C, KH, KW), db (F,).
    """
    x, w, stride, padding, cols = cache
    N, C, H, W = x.shape
    F, _, KH, KW = w.shape
    OH = (H + 2 * padding - KH) // stride + 1
    OW = (W + 2 * padding - KW) // stride + 1
    if np.shape(dout) != (N, F, OH, OW):
        raise _shape_error("conv2d_backward", "dout", (N, F, OH, OW), np.shape(dout))
    # dw[f, k] = sum_n sum_p dout[n, f, p] cols[n, k, p]: one matmul over (N*OH*OW)
    # col2im: each window offset adds its slice back; windows overlap, so add, never assign
    raise NotImplementedError("Task 1.6: db, dw (via the windows) and dx (scatter-add into the padded input, then crop)")
    return dx, dw, db


# ---------------------------------------------------------------------------------------
# Task 1.7: MaxPool2d
# ---------------------------------------------------------------------------------------

def maxpool2d_forward(x, kernel_size=2, stride=None):
    """Max over each kernel_size x kernel_size window, per image and channel.

    x: (N, C, H, W); stride defaults to kernel_size. No padding; windows that would
    run past the edge are dropped, as in torch (OH = (H - kernel_size) // stride + 1).
    Ties: the first maximum in row-major order within the window wins (as np.argmax and
    torch do); the backward routes the gradient to that element only.
    Returns out (N, C, OH, OW) and cache = (x_shape, kernel_size, stride, argmax), where
    argmax (N, C, OH, OW) is the winner's row-major index i * kernel_size + j within its window.
    """
    f = "maxpool2d_forward"
    if np.ndim(x) != 4:
        raise _shape_error(f, "x", "(N, C, H, W)", np.shape(x))
    k = _check_int(f, "kernel_size", kernel_size, 1)
    s = k if stride is None else _check_int(f, "stride", stride, 1)
    N, C, H, W = x.shape
    OH = _out_size(f, H, k, s, 0, "height")
    OW = _out_size(f, W, k, s, 0, "width")
    # ties: the earliest offset in the window (row-major) keeps the argmax
    raise NotImplementedError("Task 1.7: out = max over each window, argmax = the first maximum's index in it")
    cache = (x.shape, k, s, argmax)
    return out, cache


def maxpool2d_backward(dout, cache):
    """Backward of maxpool2d_forward.

    dout: (N, C, OH, OW). Returns dx (N, C, H, W): each window's gradient goes to its
    argmax; where windows overlap (stride < kernel_size) an element collects the sum.
    """
    x_shape, k, s, argmax = cache
    if np.shape(dout) != argmax.shape:
        raise _shape_error("maxpool2d_backward", "dout", argmax.shape, np.shape(dout))
    raise NotImplementedError("Task 1.7: route each dout entry to its window's argmax")
    return dx
