import numpy as np
import pytest

import conv

pytestmark = pytest.mark.task1_7


def test_maxpool_forward_small_example(close):
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    out, _ = conv.maxpool2d_forward(x, kernel_size=2)
    close(out, np.array([[[[5.0, 7.0], [13.0, 15.0]]]]), "out")
    out, _ = conv.maxpool2d_forward(x, kernel_size=3, stride=1)
    close(out, np.array([[[[10.0, 11.0], [14.0, 15.0]]]]), "out (kernel 3, stride 1)")


def test_maxpool_gradient_check(rng, num_grad, close):
    x = rng.permutation(2 * 2 * 6 * 5).reshape(2, 2, 6, 5) * 0.1  # distinct values: no ties
    dout = rng.standard_normal((2, 2, 3, 2))
    _, cache = conv.maxpool2d_forward(x, kernel_size=2)
    close(conv.maxpool2d_backward(dout, cache), num_grad(lambda a: conv.maxpool2d_forward(a, 2)[0], x, dout), "dx")


def test_maxpool_ties_go_to_the_first_maximum(close):
    x = np.ones((1, 1, 2, 2))
    _, cache = conv.maxpool2d_forward(x, kernel_size=2)
    dx = conv.maxpool2d_backward(np.array([[[[3.0]]]]), cache)
    close(dx, np.array([[[[3.0, 0.0], [0.0, 0.0]]]]), "dx (all four tie: the top-left one gets it)")


def test_maxpool_keeps_float32(rng):
    out, cache = conv.maxpool2d_forward(rng.standard_normal((1, 2, 4, 4)).astype(np.float32))
    assert out.dtype == np.float32 and conv.maxpool2d_backward(np.ones_like(out), cache).dtype == np.float32


@pytest.mark.parametrize("k,stride,shape", [(2, 3, (1, 1, 7, 8)), (3, 2, (1, 2, 8, 7)), (3, 1, (2, 1, 5, 6))])
def test_maxpool_strides_and_overlaps(rng, num_grad, close, k, stride, shape):
    """A stride that does not divide (edge rows unused) and stride < kernel (windows overlap)."""
    x = rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1
    out, cache = conv.maxpool2d_forward(x, kernel_size=k, stride=stride)
    oh, ow = (shape[2] - k) // stride + 1, (shape[3] - k) // stride + 1
    assert out.shape == shape[:2] + (oh, ow), (f"kernel {k}, stride {stride}: out has shape {out.shape}, expected "
                                               f"{shape[:2] + (oh, ow)} (OH = (H - k) // stride + 1)")
    dout = rng.standard_normal(out.shape)
    dx = conv.maxpool2d_backward(dout, cache)
    close(dx, num_grad(lambda a: conv.maxpool2d_forward(a, k, stride)[0], x, dout),
          f"dx (kernel {k}, stride {stride}): where windows overlap, add into dx (never assign)")


def test_maxpool_argmax_cache_is_row_major():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 0, 1] = 5.0  # the window's maximum is in row 0, column 1
    _, (x_shape, k, s, argmax) = conv.maxpool2d_forward(x, kernel_size=3)
    assert tuple(x_shape) == (1, 1, 3, 3) and (k, s) == (3, 3), "cache should be (x_shape, kernel_size, stride, argmax)"
    assert np.shape(argmax) == (1, 1, 1, 1), "argmax in the cache should have the shape of out (N, C, OH, OW)"
    assert argmax[0, 0, 0, 0] == 1, ("argmax should be the row-major index i * kernel_size + j within the window "
                                     f"(here 0 * 3 + 1 = 1), got {argmax[0, 0, 0, 0]}: column-major?")


def test_maxpool_float32_gradient_and_inputs_unchanged(rng):
    x = rng.standard_normal((1, 2, 4, 4)).astype(np.float32)
    x0 = x.copy()
    out, cache = conv.maxpool2d_forward(x, kernel_size=2, stride=1)
    dout = np.ones_like(out)
    dx = conv.maxpool2d_backward(dout, cache)
    assert dx.dtype == np.float32, f"maxpool2d_backward dx is {dx.dtype} for float32 input: np.zeros(...) needs dtype="
    assert np.array_equal(x, x0) and np.all(dout == 1), "maxpool2d changed its input in place: work on a copy"
