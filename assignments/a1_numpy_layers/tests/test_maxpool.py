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
