import numpy as np
import pytest

import layers

pytestmark = pytest.mark.task1_5


def test_dropout_train_mask_and_scale():
    x = np.ones((100, 100))
    out, cache = layers.dropout_forward(x, 0.25, train=True, rng=0)
    kept = out != 0
    assert np.allclose(out[kept], 1 / 0.75), "kept entries should be scaled by 1 / (1 - p)"
    assert abs(kept.mean() - 0.75) < 0.03, f"kept fraction {kept.mean():.3f}, expected about 0.75"
    dx = layers.dropout_backward(np.full_like(x, 2.0), cache)
    assert np.array_equal(dx, 2.0 * out), "the backward should reuse the forward's mask"


def test_dropout_eval_is_identity(rng):
    x = rng.standard_normal((3, 4))
    out, cache = layers.dropout_forward(x, 0.5, train=False)
    assert np.array_equal(out, x)
    assert np.array_equal(layers.dropout_backward(x, cache), x)


def test_dropout_seed_is_reproducible():
    x = np.ones((10, 10))
    a, _ = layers.dropout_forward(x, 0.5, rng=3)
    b, _ = layers.dropout_forward(x, 0.5, rng=np.random.default_rng(3))
    assert np.array_equal(a, b), "an int seed and a Generator with that seed should give the same mask"


def test_dropout_keeps_float32():
    out, cache = layers.dropout_forward(np.ones((4, 4), np.float32), 0.5, rng=1)
    assert out.dtype == np.float32 and layers.dropout_backward(np.ones((4, 4), np.float32), cache).dtype == np.float32


def test_dropout_p_one_drops_everything():
    x = np.ones((3, 4))
    out, cache = layers.dropout_forward(x, 1.0, train=True, rng=0)
    assert np.array_equal(out, np.zeros_like(x)), "p = 1 should drop every element (no division by 1 - p = 0)"
    assert np.array_equal(layers.dropout_backward(x, cache), np.zeros_like(x)), "p = 1: dx should be all zeros"


def test_dropout_uses_the_generator_it_is_given():
    x, g = np.ones((10, 10)), np.random.default_rng(5)
    a, _ = layers.dropout_forward(x, 0.5, rng=g)
    b, _ = layers.dropout_forward(x, 0.5, rng=g)
    assert not np.array_equal(a, b), ("two calls with one Generator gave the same mask: draw from the Generator "
                                      "(np.random.default_rng(rng) returns it as it is), do not reseed it")
    p = 0.5
    out, mask = layers.dropout_forward(x, p, rng=1)
    assert isinstance(mask, np.ndarray) and np.all((mask == 0) | (mask == 1 / (1 - p))), \
        "the cache should be the keep mask already scaled by 1 / (1 - p)"
