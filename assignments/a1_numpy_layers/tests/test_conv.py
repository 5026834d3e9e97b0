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


@pytest.mark.parametrize("kernel", [(3, 3), (2, 3)])
def test_conv_backward_at_padding_0(rng, num_grad, close, kernel):
    x, w, b = rng.standard_normal((2, 2, 5, 6)), rng.standard_normal((3, 2, *kernel)), rng.standard_normal(3)
    out, cache = conv.conv2d_forward(x, w, b, stride=1, padding=0)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv.conv2d_backward(dout, cache)
    assert np.shape(dx) == x.shape, (f"conv2d_backward at padding=0 returns dx of shape {np.shape(dx)}, expected "
                                     f"{x.shape}: check the crop (dx[:, :, p:-p] is empty when p = 0)")
    close(dx, num_grad(lambda a: conv.conv2d_forward(a, w, b)[0], x, dout), "dx at padding 0", rtol=1e-5)
    close(dw, num_grad(lambda a: conv.conv2d_forward(x, a, b)[0], w, dout), "dw at padding 0", rtol=1e-5)


@pytest.mark.parametrize("stride,padding", [(2, 0), (3, 1), (3, 2)])
def test_conv_stride_that_does_not_divide(rng, num_grad, close, stride, padding):
    """H + 2p - KH not a multiple of the stride: the last rows and columns are never read."""
    x, w, b = rng.standard_normal((1, 2, 8, 7)), rng.standard_normal((2, 2, 3, 2)), rng.standard_normal(2)
    out, cache = conv.conv2d_forward(x, w, b, stride=stride, padding=padding)
    oh, ow = (8 + 2 * padding - 3) // stride + 1, (7 + 2 * padding - 2) // stride + 1
    assert out.shape == (1, 2, oh, ow), (f"stride {stride}, padding {padding}: out has shape {out.shape}, expected "
                                         f"{(1, 2, oh, ow)} (OH = (H + 2p - KH) // stride + 1)")
    dout = rng.standard_normal(out.shape)
    dx, _, _ = conv.conv2d_backward(dout, cache)
    f = lambda a: conv.conv2d_forward(a, w, b, stride=stride, padding=padding)[0]  # noqa: E731
    close(dx, num_grad(f, x, dout), f"dx (stride {stride}, padding {padding}): crop at [p:p + H], step by the stride",
          rtol=1e-5)


@pytest.mark.parametrize("padding", [0, 1])
def test_conv_keeps_float32(rng, padding):
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((2, 2, 5, 5), (3, 2, 3, 3), (3,)))
    out, cache = conv.conv2d_forward(x, w, b, stride=2, padding=padding)
    assert out.dtype == np.float32, f"conv2d_forward turned float32 into {out.dtype}: a buffer without dtype=?"
    for name, g in zip(("dx", "dw", "db"), conv.conv2d_backward(np.ones_like(out), cache)):
        assert g.dtype == np.float32, f"conv2d_backward {name} is {g.dtype} for float32 input: np.zeros(...) needs dtype="


def test_conv_leaves_its_inputs_unchanged(rng):
    x, w, b = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal((2, 2, 3, 3)), rng.standard_normal(2)
    saved = [a.copy() for a in (x, w, b)]
    out, cache = conv.conv2d_forward(x, w, b, stride=1, padding=1)
    dout = rng.standard_normal(out.shape)
    dout0 = dout.copy()
    conv.conv2d_backward(dout, cache)
    for name, a, a0 in zip(("x", "w", "b", "dout"), (x, w, b, dout), (*saved, dout0)):
        assert np.array_equal(a, a0), f"conv2d changed its input {name} in place: work on a copy"
