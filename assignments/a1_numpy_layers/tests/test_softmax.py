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
    assert np.all(np.isfinite(out)) and out[0, 0] == 1.0


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
