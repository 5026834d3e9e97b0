"""Synthetic fixtures: real shapes and dtypes, deterministic, and learnable."""
import numpy as np
import pytest

import vitdata


@pytest.mark.parametrize("name, shape", [("mnist", (1, 28, 28)), ("cifar10", (3, 32, 32))])
def test_shapes_dtypes_and_balance(name, shape):
    x, y = vitdata.synthetic(name, "train")
    assert x.shape == (512, *shape) and x.dtype == np.uint8
    assert y.shape == (512,) and y.dtype == np.int64
    assert np.bincount(y, minlength=10).min() >= 51
    xt, yt = vitdata.synthetic(name, "test", n=30)
    assert xt.shape == (30, *shape) and sorted(set(yt.tolist())) == list(range(10))
    assert x.std() > 20  # not a constant image


def test_deterministic_and_seeded():
    a = vitdata.synthetic("cifar10", "train", n=50, seed=1)
    b = vitdata.synthetic("cifar10", "train", n=50, seed=1)
    c = vitdata.synthetic("cifar10", "train", n=50, seed=2)
    t = vitdata.synthetic("cifar10", "test", n=50, seed=1)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0]) and not np.array_equal(a[0], t[0])


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown dataset"):
        vitdata.synthetic("svhn")
    with pytest.raises(ValueError, match="n must be positive"):
        vitdata.synthetic("mnist", n=0)


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_learnable_by_a_linear_model(name):
    """Softmax regression: the loss drops and test accuracy is far above chance in 200 steps."""
    x, y = vitdata.synthetic(name, "train")
    xt, yt = vitdata.synthetic(name, "test")
    feats = vitdata.normalize(x, name).reshape(len(x), -1)  # (N, D)
    feats_t = vitdata.normalize(xt, name).reshape(len(xt), -1)
    w = np.zeros((feats.shape[1], 10), np.float32)
    onehot = np.eye(10, dtype=np.float32)[y]
    losses = []
    for _ in range(200):
        logits = feats @ w  # (N, 10)
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        losses.append(-np.log(p[np.arange(len(y)), y] + 1e-12).mean())
        w -= 1e-3 * feats.T @ (p - onehot) / len(y)
    accuracy = ((feats_t @ w).argmax(1) == yt).mean()
    assert losses[-1] < 0.5 * losses[0]
    assert accuracy > 0.6
