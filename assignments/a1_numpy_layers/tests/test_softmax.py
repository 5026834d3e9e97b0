import math

import numpy as np
import pytest

import layers

pytestmark = pytest.mark.task1_3


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_sums_to_one_along_axis(rng, close, axis):
    x = rng.standard_normal((2, 3, 4))
    out, _ = layers.softmax_forward(x, axis=axis)
    e = np.exp(x)
    close(out, e / e.sum(axis=axis, keepdims=True), "out")


def test_softmax_gradient_check(rng, num_grad, close):
    x, dout = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    _, cache = layers.softmax_forward(x, axis=0)
    close(layers.softmax_backward(dout, cache), num_grad(lambda a: layers.softmax_forward(a, axis=0)[0], x, dout),
          "dx", rtol=1e-5)


def test_softmax_large_logits_are_finite():
    out, _ = layers.softmax_forward(np.array([[1e4, 0.0, -1e4]]))
    assert np.all(np.isfinite(out)), "softmax of huge logits overflows: subtract the max along axis before exp"
    assert out[0, 0] == 1.0


def test_cross_entropy_uniform_logits_give_log_c():
    loss, dlogits = layers.softmax_cross_entropy(np.zeros((4, 10)), np.array([0, 3, 9, 2]))
    assert isinstance(loss, float) and math.isclose(loss, math.log(10), rel_tol=1e-12)
    assert dlogits.shape == (4, 10)


@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_cross_entropy_gradient_check(rng, num_grad, close, eps):
    logits, y = rng.standard_normal((4, 5)), np.array([1, 0, 4, 1])
    _, dlogits = layers.softmax_cross_entropy(logits, y, label_smoothing=eps)
    num = num_grad(lambda z: layers.softmax_cross_entropy(z, y, label_smoothing=eps)[0], logits, np.array(1.0))
    close(dlogits, num, "dlogits", rtol=1e-5)


def test_cross_entropy_label_smoothing_value():
    # two classes, perfect prediction target 0: loss = -(1 - eps/2) log p0 - (eps/2) log p1
    logits, eps = np.array([[2.0, 0.0]]), 0.2
    p = np.exp(logits[0]) / np.exp(logits[0]).sum()
    expected = -(1 - eps / 2) * math.log(p[0]) - (eps / 2) * math.log(p[1])
    loss, _ = layers.softmax_cross_entropy(logits, np.array([0]), label_smoothing=eps)
    assert math.isclose(loss, expected, rel_tol=1e-12)


def test_cross_entropy_rejects_bad_labels():
    layers.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 2]))  # labels in range work
    with pytest.raises(ValueError, match="labels"):
        layers.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3]))


def test_cross_entropy_huge_logits():
    """The label's logit 1e4 below the max: p_y underflows to 0, log p_y must not."""
    logits, y = np.array([[1e4, 0.0, -1e4], [5.0, 5.0, 5.0]]), np.array([2, 0])
    loss, dlogits = layers.softmax_cross_entropy(logits, y)
    assert math.isfinite(loss), ("cross-entropy with huge logits is not finite: log of an underflowed probability? "
                                 "compute log p = z - log(sum(exp(z))) after shifting by the max")
    assert math.isclose(loss, (2e4 + math.log(3)) / 2, rel_tol=1e-12), f"loss {loss} with huge logits is off"
    assert np.all(np.isfinite(dlogits)), "dlogits with huge logits contains NaN or Inf"


def test_softmax_and_cross_entropy_keep_float32(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    out, cache = layers.softmax_forward(x)
    assert out.dtype == np.float32, f"softmax_forward turned float32 into {out.dtype}"
    assert layers.softmax_backward(np.ones_like(out), cache).dtype == np.float32, "softmax_backward dx is not float32"
    loss, dlogits = layers.softmax_cross_entropy(x, np.array([0, 3, 1]), label_smoothing=0.1)
    assert isinstance(loss, float), f"the loss should be a Python float, got {type(loss).__name__}"
    assert dlogits.dtype == np.float32, (f"softmax_cross_entropy dlogits is {dlogits.dtype} for float32 logits: "
                                         "a float64 one-hot or np.zeros((N, C)) without dtype=?")


def test_softmax_and_cross_entropy_leave_inputs_unchanged(rng):
    x, dout = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    x0, dout0 = x.copy(), dout.copy()
    out, cache = layers.softmax_forward(x, axis=0)
    layers.softmax_backward(dout, cache)
    layers.softmax_cross_entropy(x, np.array([0, 1, 2]))
    assert np.array_equal(x, x0), "softmax changed x in place (x -= max or np.exp(x, out=x)): work on a copy"
    assert np.array_equal(dout, dout0), "softmax_backward changed dout in place: work on a copy"
