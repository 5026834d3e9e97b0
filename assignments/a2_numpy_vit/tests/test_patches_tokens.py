"""Tasks 2.1 and 2.2: patches, patch embedding, CLS token, position encodings."""
import numpy as np
import pytest

import patches
import tokens
from conftest import check_grad


@pytest.mark.task2_1
@pytest.mark.parametrize("shape,p", [((2, 1, 28, 28), 7), ((2, 1, 28, 28), 4), ((2, 3, 32, 32), 4)])
def test_patchify_shapes_and_inverse(rng, shape, p):
    x = rng.standard_normal(shape)
    N, C, H, W = shape
    out = patches.patchify(x, p)
    assert out.shape == (N, (H // p) * (W // p), C * p * p)
    # patch 1 is the second patch of the top row, flattened in (C, p, p) order
    assert np.array_equal(out[0, 1], x[0, :, :p, p:2 * p].reshape(-1))
    assert np.array_equal(patches.unpatchify(out, p, (C, H, W)), x)


@pytest.mark.task2_1
def test_patch_size_must_divide_image(rng):
    with pytest.raises(ValueError, match="5"):
        patches.patchify(rng.standard_normal((1, 1, 28, 28)), 5)


@pytest.mark.task2_1
def test_patch_embed_gradients(rng):
    x = rng.standard_normal((2, 2, 4, 4))
    w, b = rng.standard_normal((8, 3)), rng.standard_normal(3)
    out, cache = patches.patch_embed_forward(x, w, b, 2)
    assert out.shape == (2, 4, 3)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = patches.patch_embed_backward(dout, cache)
    check_grad(lambda z: patches.patch_embed_forward(z, w, b, 2)[0], x, dout, dx)
    check_grad(lambda z: patches.patch_embed_forward(x, z, b, 2)[0], w, dout, dw)
    check_grad(lambda z: patches.patch_embed_forward(x, w, z, 2)[0], b, dout, db)


@pytest.mark.task2_2
def test_cls_token(rng):
    x, cls = rng.standard_normal((3, 4, 5)), rng.standard_normal((1, 1, 5))
    out, cache = tokens.cls_forward(x, cls)
    assert out.shape == (3, 5, 5) and np.array_equal(out[:, 0], np.repeat(cls[0], 3, axis=0))
    dout = rng.standard_normal(out.shape)
    dx, dcls = tokens.cls_backward(dout, cache)
    check_grad(lambda z: tokens.cls_forward(x, z)[0], cls, dout, dcls)
    check_grad(lambda z: tokens.cls_forward(z, cls)[0], x, dout, dx)


@pytest.mark.task2_2
def test_pos_embed(rng):
    x, pos = rng.standard_normal((3, 4, 5)), rng.standard_normal((1, 4, 5))
    out, cache = tokens.pos_embed_forward(x, pos)
    dout = rng.standard_normal(out.shape)
    dx, dpos = tokens.pos_embed_backward(dout, cache)
    check_grad(lambda z: tokens.pos_embed_forward(x, z)[0], pos, dout, dpos)
    check_grad(lambda z: tokens.pos_embed_forward(z, pos)[0], x, dout, dx)


@pytest.mark.task2_2
def test_sinusoidal_encodings():
    pe = tokens.sinusoidal_1d(10, 8)
    assert pe.shape == (10, 8)
    assert np.allclose(pe[0, 0::2], 0) and np.allclose(pe[0, 1::2], 1)
    assert np.isclose(pe[3, 2], np.sin(3 / 10000 ** (2 / 8)))
    pe2 = tokens.sinusoidal_2d(3, 4, 8)
    assert pe2.shape == (12, 8)
    # patch 6 sits at row 1, column 2
    assert np.allclose(pe2[6, :4], tokens.sinusoidal_1d(3, 4)[1])
    assert np.allclose(pe2[6, 4:], tokens.sinusoidal_1d(4, 4)[2])
