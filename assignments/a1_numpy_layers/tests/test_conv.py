import numpy as np
import pytest

import conv

pytestmark = pytest.mark.task1_6


@pytest.mark.parametrize("stride,padding,shape", [(1, 0, (2, 3, 5, 4)), (1, 1, (2, 3, 7, 6)), (2, 1, (2, 3, 4, 3))])
def test_conv_output_shape(rng, stride, padding, shape):
    x, w, b = rng.standard_normal((2, 2, 7, 6)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
    out, _ = conv.conv2d_forward(x, w, b, stride=stride, padding=padding)
    assert out.shape == shape


def test_conv_matches_a_direct_sum(rng, close):
    x, w, b = rng.standard_normal((1, 2, 4, 4)), rng.standard_normal((1, 2, 3, 3)), np.array([0.5])
    out, _ = conv.conv2d_forward(x, w, b)
    expected = np.array([[np.sum(x[0, :, i:i + 3, j:j + 3] * w[0]) + 0.5 for j in range(2)] for i in range(2)])
    close(out[0, 0], expected, "out")


def test_conv_gradient_check(rng, num_grad, close):
    x, w, b = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
    dout = rng.standard_normal((2, 3, 3, 3))
    _, cache = conv.conv2d_forward(x, w, b, stride=2, padding=1)
    dx, dw, db = conv.conv2d_backward(dout, cache)
    f = lambda x_, w_, b_: conv.conv2d_forward(x_, w_, b_, stride=2, padding=1)[0]  # noqa: E731
    close(dx, num_grad(lambda a: f(a, w, b), x, dout), "dx", rtol=1e-5)
    close(dw, num_grad(lambda a: f(x, a, b), w, dout), "dw", rtol=1e-5)
    close(db, num_grad(lambda a: f(x, w, a), b, dout), "db", rtol=1e-5)


def test_conv_rejects_channel_mismatch():
    conv.conv2d_forward(np.zeros((1, 2, 5, 5)), np.zeros((2, 2, 3, 3)), np.zeros(2))  # matching channels work
    with pytest.raises(ValueError, match="w should have shape"):
        conv.conv2d_forward(np.zeros((1, 3, 5, 5)), np.zeros((2, 2, 3, 3)), np.zeros(2))
