"""Tasks 2.3 and 2.4: attention, multi-head self-attention, MLP, encoder block."""
import numpy as np
import pytest

import attention
import blocks
from conftest import check_grad


@pytest.mark.task2_3
def test_attention_forward_small_case():
    q = np.array([[1.0, 0.0], [0.0, 1.0]])
    k = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    v = np.arange(6.0).reshape(3, 2)
    out, cache = attention.attention_forward(q, k, v)
    scores = q @ k.T / np.sqrt(2)
    a = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    assert np.allclose(out, a @ v)


@pytest.mark.task2_3
def test_attention_backward(rng):
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 6))
    out, cache = attention.attention_forward(q, k, v)
    dout = rng.standard_normal(out.shape)
    dq, dk, dv = attention.attention_backward(dout, cache)
    check_grad(lambda z: attention.attention_forward(z, k, v)[0], q, dout, dq)
    check_grad(lambda z: attention.attention_forward(q, z, v)[0], k, dout, dk)
    check_grad(lambda z: attention.attention_forward(q, k, z)[0], v, dout, dv)


def _mhsa_params(rng, D):
    return [rng.standard_normal((D, 3 * D)) * 0.5, rng.standard_normal(3 * D), rng.standard_normal((D, D)),
            rng.standard_normal(D)]


@pytest.mark.task2_3
def test_mhsa_loop_and_vectorised_agree(rng):
    x, params = rng.standard_normal((2, 5, 8)), _mhsa_params(rng, 8)
    out_loop, c_loop = attention.mhsa_loop_forward(x, *params, 2)
    out_vec, c_vec = attention.mhsa_forward(x, *params, 2)
    assert out_vec.shape == (2, 5, 8) and np.allclose(out_loop, out_vec)
    dout = rng.standard_normal(out_vec.shape)
    for g_loop, g_vec in zip(attention.mhsa_loop_backward(dout, c_loop), attention.mhsa_backward(dout, c_vec)):
        assert np.allclose(g_loop, g_vec)


@pytest.mark.task2_3
def test_mhsa_gradients(rng):
    x, params = rng.standard_normal((2, 4, 6)), _mhsa_params(rng, 6)
    out, cache = attention.mhsa_forward(x, *params, 3)
    dout = rng.standard_normal(out.shape)
    dx, dw_qkv, db_qkv, dw_o, db_o = attention.mhsa_backward(dout, cache)
    check_grad(lambda z: attention.mhsa_forward(z, *params, 3)[0], x, dout, dx)
    check_grad(lambda z: attention.mhsa_forward(x, z, *params[1:], 3)[0], params[0], dout, dw_qkv)
    check_grad(lambda z: attention.mhsa_forward(x, *params[:2], z, params[3], 3)[0], params[2], dout, dw_o)


@pytest.mark.task2_3
def test_heads_must_divide_width(rng):
    with pytest.raises(ValueError, match="num_heads=3"):
        attention.mhsa_forward(rng.standard_normal((1, 2, 8)), *_mhsa_params(rng, 8), 3)


def _block_params(rng, D, M):
    shapes = {"ln1.g": (D,), "ln1.b": (D,), "attn.qkv.w": (D, 3 * D), "attn.qkv.b": (3 * D,),
              "attn.proj.w": (D, D), "attn.proj.b": (D,), "ln2.g": (D,), "ln2.b": (D,),
              "mlp.fc1.w": (D, M), "mlp.fc1.b": (M,), "mlp.fc2.w": (M, D), "mlp.fc2.b": (D,)}
    return {k: rng.standard_normal(s) * 0.5 + (1.0 if k.endswith(".g") else 0.0) for k, s in shapes.items()}


@pytest.mark.task2_4
@pytest.mark.parametrize("activation", ["gelu", "relu"])
def test_mlp_gradients(rng, activation):
    x = rng.standard_normal((2, 3, 4))
    w1, b1, w2, b2 = rng.standard_normal((4, 6)), rng.standard_normal(6), rng.standard_normal((6, 4)), rng.standard_normal(4)
    out, cache = blocks.mlp_forward(x, w1, b1, w2, b2, activation)
    dout = rng.standard_normal(out.shape)
    dx, dw1, db1, dw2, db2 = blocks.mlp_backward(dout, cache)
    check_grad(lambda z: blocks.mlp_forward(z, w1, b1, w2, b2, activation)[0], x, dout, dx)
    check_grad(lambda z: blocks.mlp_forward(x, z, b1, w2, b2, activation)[0], w1, dout, dw1)


@pytest.mark.task2_4
def test_block_gradients(rng):
    x, p = rng.standard_normal((2, 3, 4)), _block_params(rng, 4, 8)
    out, cache = blocks.block_forward(x, p, num_heads=2)
    assert out.shape == x.shape
    dout = rng.standard_normal(out.shape)
    dx, grads = blocks.block_backward(dout, cache)
    assert set(grads) == set(p)
    check_grad(lambda z: blocks.block_forward(z, p, 2)[0], x, dout, dx)
    for key in ("ln1.g", "attn.qkv.w", "mlp.fc2.w"):
        def f(z, key=key):
            return blocks.block_forward(x, {**p, key: z}, 2)[0]
        check_grad(f, p[key].copy(), dout, grads[key])
