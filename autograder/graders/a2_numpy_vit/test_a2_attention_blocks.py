"""Hidden graders, tasks 2.3 (attention) and 2.4 (MLP, encoder block)."""
import numpy as np
import pytest
import torch

from a2util import expect_grad, expect_grads, expect_same, numeric_grad
from autograder.engine.checks import GradingFailure, expect_close
from autograder.engine.student import StudentError


def _sdpa_torch(q, k, v):
    with torch.no_grad():
        return torch.nn.functional.scaled_dot_product_attention(
            torch.from_numpy(q), torch.from_numpy(k), torch.from_numpy(v)).numpy()


@pytest.mark.task2_3
@pytest.mark.parametrize("shape", [((2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 6)), ((4, 8), (4, 8), (4, 3))])
def test_attention_forward_matches_torch(student, rng, shape):
    """softmax(Q K^T / sqrt(d)) V, softmax over the keys; checked against torch's SDPA."""
    q, k, v = (rng.standard_normal(s) * 2 for s in shape)
    out, _ = student.call("attention.attention_forward", q, k, v)
    expect_close(out, _sdpa_torch(q, k, v), rtol=1e-9, atol=1e-12, name="attention output",
                 hint="check the 1/sqrt(d) scale and the softmax axis (over the keys)")


@pytest.mark.task2_3
def test_attention_backward_gradcheck(student, reference, rng):
    ref = reference("attention")
    q, k, v = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 5, 2))
    out, cache = student.call("attention.attention_forward", q, k, v)
    dout = rng.standard_normal(out.shape)
    dq, dk, dv = student.call("attention.attention_backward", dout, cache)
    expect_grad(dq, numeric_grad(lambda z: ref.attention_forward(z, k, v)[0], q, dout), "dq")
    expect_grad(dk, numeric_grad(lambda z: ref.attention_forward(q, z, v)[0], k, dout), "dk")
    expect_grad(dv, numeric_grad(lambda z: ref.attention_forward(q, k, z)[0], v, dout), "dv")


def _mhsa_inputs(rng, N=2, T=5, D=8):
    return (rng.standard_normal((N, T, D)), rng.standard_normal((D, 3 * D)) * 0.4, rng.standard_normal(3 * D) * 0.4,
            rng.standard_normal((D, D)) * 0.4, rng.standard_normal(D) * 0.4)


def _torch_mha(x, w_qkv, b_qkv, w_o, b_o, H):
    D = x.shape[-1]
    mha = torch.nn.MultiheadAttention(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.from_numpy(w_qkv.T))
        mha.in_proj_bias.copy_(torch.from_numpy(b_qkv))
        mha.out_proj.weight.copy_(torch.from_numpy(w_o.T))
        mha.out_proj.bias.copy_(torch.from_numpy(b_o))
        t = torch.from_numpy(x)
        return mha(t, t, t, need_weights=False)[0].numpy()


@pytest.mark.task2_3
@pytest.mark.parametrize("fn", ["mhsa_loop_forward", "mhsa_forward"])
@pytest.mark.parametrize("H", [1, 2, 4])
def test_mhsa_forward_matches_torch(student, rng, fn, H):
    """Both versions against torch.nn.MultiheadAttention with the same weights."""
    args = _mhsa_inputs(rng)
    out, _ = student.call(f"attention.{fn}", *args, H)
    expect_close(out, _torch_mha(*args, H), rtol=1e-8, atol=1e-10, name=f"{fn} output")


@pytest.mark.task2_3
@pytest.mark.parametrize("fn", ["mhsa_loop", "mhsa"])
def test_mhsa_backward_gradcheck(student, reference, rng, fn):
    ref = reference("attention")
    args = list(_mhsa_inputs(rng, N=2, T=4, D=6))
    out, cache = student.call(f"attention.{fn}_forward", *args, 3)
    dout = rng.standard_normal(out.shape)
    grads = student.call(f"attention.{fn}_backward", dout, cache)
    if not isinstance(grads, tuple) or len(grads) != 5:
        raise GradingFailure(f"{fn}_backward should return (dx, dw_qkv, db_qkv, dw_o, db_o)")
    for i, name in enumerate(["dx", "dw_qkv", "db_qkv", "dw_o", "db_o"]):
        def f(z, i=i):
            a = list(args)
            a[i] = z
            return ref.mhsa_forward(*a, 3)[0]
        expect_grad(grads[i], numeric_grad(f, args[i], dout), f"{fn}_backward {name}")


@pytest.mark.task2_3
def test_loop_and_vectorised_agree(student, rng):
    """The two versions are the same function: outputs and every gradient agree."""
    args = _mhsa_inputs(rng, N=3, T=6, D=12)
    out1, c1 = student.call("attention.mhsa_loop_forward", *args, 4)
    out2, c2 = student.call("attention.mhsa_forward", *args, 4)
    expect_same(out2, out1, "mhsa_forward vs mhsa_loop_forward", rtol=1e-10)
    dout = rng.standard_normal(out1.shape)
    g1 = student.call("attention.mhsa_loop_backward", dout, c1)
    g2 = student.call("attention.mhsa_backward", dout, c2)
    for name, a, b in zip(["dx", "dw_qkv", "db_qkv", "dw_o", "db_o"], g2, g1):
        expect_same(a, b, f"mhsa_backward {name} vs mhsa_loop_backward", rtol=1e-10)


@pytest.mark.task2_3
def test_vectorised_attends_all_heads_at_once(student, rng):
    """mhsa_forward must not loop over heads: with 16 heads it does the same work as with 2 heads,
    both the Python-level work (lines run, functions called, in every thread) and the NumPy
    operations on the inputs and what is computed from them (counted even when C code such as
    map(np.matmul, ...) makes the calls), so the heads are batched in arrays."""
    args = _mhsa_inputs(rng, N=2, T=5, D=16)
    counts = student.call("harness:a2.mhsa_work", *args, [2, 16])
    if type(counts) is not list or len(counts) != 2 or any(
            type(c) is not list or len(c) != 2 or any(type(n) is not int for n in c) for c in counts):
        raise GradingFailure("the harness could not measure mhsa_forward")
    (lines2, ops2), (lines16, ops16) = counts
    # a loop costs at least a line or an operation per head: 14 more heads, far more work
    if lines16 - lines2 > 12 or ops16 - ops2 > 6:
        raise GradingFailure(f"mhsa_forward does more work with 16 heads than with 2 ({lines16} vs {lines2} "
                             f"lines and calls, {ops16} vs {ops2} NumPy operations): it loops over the heads",
                             hint="reshape to (N, H, T, d) and call attention_forward once on all heads")


@pytest.mark.task2_3
def test_attention_cache_holds_the_weights(student, reference, rng):
    """cache["attn"] holds the attention weights (..., Tq, Tk), every row summing to 1, as documented."""
    q, k, v = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((2, 3, 6, 2))
    _, cache = student.call("attention.attention_forward", q, k, v)
    attn = cache.get("attn") if type(cache) is dict else student.call(cache, "__getitem__", "attn")
    expect_same(attn, reference("attention").attention_forward(q, k, v)[1]["attn"], 'cache["attn"]', rtol=1e-9)


@pytest.mark.task2_3
@pytest.mark.parametrize("fn", ["mhsa_loop", "mhsa"])
def test_mhsa_float32_gradients_stay_float32(student, reference, rng, fn):
    """A float32 layer gives float32 gradients: dx and every weight gradient keep the input's dtype."""
    args = [a.astype(np.float32) for a in _mhsa_inputs(rng, N=1, T=7, D=12)]
    out, cache = student.call(f"attention.{fn}_forward", *args, 3)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    grads = student.call(f"attention.{fn}_backward", dout, cache)
    ref = reference("attention")
    want = ref.mhsa_backward(dout.astype(np.float64), ref.mhsa_forward(*[a.astype(np.float64) for a in args], 3)[1])
    if not isinstance(grads, tuple) or len(grads) != 5:
        raise GradingFailure(f"{fn}_backward should return (dx, dw_qkv, db_qkv, dw_o, db_o)")
    for name, g, w in zip(["dx", "dw_qkv", "db_qkv", "dw_o", "db_o"], grads, want):
        expect_close(g, w.astype(np.float32), rtol=1e-3, atol=1e-4 * float(np.abs(w).max() + 1e-12),
                     name=f"{fn}_backward {name} (float32)")


@pytest.mark.task2_3
def test_mhsa_float32_stays_float32(student, rng):
    args = [a.astype(np.float32) for a in _mhsa_inputs(rng, N=4, T=17, D=16)]
    out, _ = student.call("attention.mhsa_forward", *args, 4)
    expect_close(out, _torch_mha(*[a.astype(np.float64) for a in args], 4).astype(np.float32), rtol=1e-3,
                 atol=1e-4, name="mhsa_forward (float32)")


@pytest.mark.task2_3
def test_heads_must_divide_width(student, rng):
    student.call("attention.mhsa_forward", *_mhsa_inputs(rng, D=8), 2)  # implemented at all?
    with pytest.raises(StudentError) as e:
        student.call("attention.mhsa_forward", *_mhsa_inputs(rng, D=8), 3)
    if e.value.type != "ValueError" or "3" not in e.value.message:
        raise GradingFailure("num_heads that does not divide D should raise a ValueError naming it")


# ----------------------------------------------------------------------------- task 2.4
def _mlp_inputs(rng, D=5, M=7):
    return (rng.standard_normal((2, 3, D)), rng.standard_normal((D, M)), rng.standard_normal(M),
            rng.standard_normal((M, D)), rng.standard_normal(D))


@pytest.mark.task2_4
@pytest.mark.parametrize("activation", ["gelu", "gelu_tanh", "relu"])
def test_mlp_forward_backward(student, reference, rng, activation):
    ref = reference("blocks")
    args = list(_mlp_inputs(rng))
    out, cache = student.call("blocks.mlp_forward", *args, activation=activation)
    expect_same(out, ref.mlp_forward(*args, activation=activation)[0], f"mlp_forward ({activation})")
    dout = rng.standard_normal(out.shape)
    grads = student.call("blocks.mlp_backward", dout, cache)
    for i, name in enumerate(["dx", "dw1", "db1", "dw2", "db2"]):
        def f(z, i=i):
            a = list(args)
            a[i] = z
            return ref.mlp_forward(*a, activation=activation)[0]
        expect_grad(grads[i], numeric_grad(f, args[i], dout), f"mlp_backward {name} ({activation})")


@pytest.mark.task2_4
def test_mlp_dropout(student, reference, rng):
    """Dropout on the hidden units through layers.dropout_forward with the given rng; off in eval."""
    ref = reference("blocks")
    args = _mlp_inputs(rng)
    out, cache = student.call("blocks.mlp_forward", *args, p_drop=0.5, train=True, rng=3)
    expect_same(out, ref.mlp_forward(*args, p_drop=0.5, train=True, rng=3)[0], "mlp_forward with dropout")
    dout = rng.standard_normal(out.shape)
    grads = student.call("blocks.mlp_backward", dout, cache)
    rgrads = ref.mlp_backward(dout, ref.mlp_forward(*args, p_drop=0.5, train=True, rng=3)[1])
    expect_same(grads[0], rgrads[0], "mlp_backward dx with dropout")
    out, _ = student.call("blocks.mlp_forward", *args, p_drop=0.5, train=False, rng=3)
    expect_same(out, ref.mlp_forward(*args, p_drop=0.0)[0], "mlp_forward in evaluation mode")


@pytest.mark.task2_4
def test_block_dropout_train_and_eval(student, reference, rng):
    """block_forward with p_drop=0.5: in training, the MLP's dropout draws from the given rng exactly as
    the reference does (and backward routes through the same mask); in evaluation, nothing is dropped."""
    ref = reference("blocks")
    x, p = rng.standard_normal((3, 5, 8)), _block_params(rng, D=8, M=16)
    out, cache = student.call("blocks.block_forward", x, p, 2, p_drop=0.5, train=True, rng=11)
    want, want_cache = ref.block_forward(x, p, 2, p_drop=0.5, train=True, rng=11)
    expect_same(out, want, "block_forward in training mode with dropout", rtol=1e-9)
    dout = rng.standard_normal(out.shape)
    dx, grads = student.call("blocks.block_backward", dout, cache)
    rdx, rgrads = ref.block_backward(dout, want_cache)
    expect_same(dx, rdx, "block_backward dx with dropout", rtol=1e-9)
    expect_grads(grads, rgrads, "block grads with dropout", rtol=1e-9)
    out, _ = student.call("blocks.block_forward", x, p, 2, p_drop=0.5, train=False, rng=11)
    expect_same(out, ref.block_forward(x, p, 2, p_drop=0.0)[0], "block_forward in evaluation mode (p_drop=0.5)",
                rtol=1e-9)


def _block_params(rng, D=4, M=8):
    shapes = {"ln1.g": (D,), "ln1.b": (D,), "attn.qkv.w": (D, 3 * D), "attn.qkv.b": (3 * D,),
              "attn.proj.w": (D, D), "attn.proj.b": (D,), "ln2.g": (D,), "ln2.b": (D,),
              "mlp.fc1.w": (D, M), "mlp.fc1.b": (M,), "mlp.fc2.w": (M, D), "mlp.fc2.b": (D,)}
    return {k: rng.standard_normal(s) * 0.5 + (1.0 if k.endswith(".g") else 0.0) for k, s in shapes.items()}


@pytest.mark.task2_4
@pytest.mark.parametrize("activation", ["gelu", "relu"])
def test_block_forward(student, reference, rng, activation):
    x, p = rng.standard_normal((3, 5, 8)), _block_params(rng, D=8, M=16)
    out, _ = student.call("blocks.block_forward", x, p, 2, activation=activation)
    expect_same(out, reference("blocks").block_forward(x, p, 2, activation=activation)[0],
                f"block_forward ({activation})", rtol=1e-9)


@pytest.mark.task2_4
def test_block_backward_gradcheck(student, reference, rng):
    """Float64 gradient check of dx and every parameter of the block."""
    ref = reference("blocks")
    x, p = rng.standard_normal((2, 3, 4)), _block_params(rng)
    out, cache = student.call("blocks.block_forward", x, p, 2)
    dout = rng.standard_normal(out.shape)
    dx, grads = student.call("blocks.block_backward", dout, cache)
    expect_grad(dx, numeric_grad(lambda z: ref.block_forward(z, p, 2)[0], x, dout), "block dx")
    if type(grads) is not dict or set(grads) != set(p):
        raise GradingFailure("block_backward should return (dx, grads) with grads keyed like the block's params")
    for key in p:
        num = numeric_grad(lambda z, key=key: ref.block_forward(x, {**p, key: z}, 2)[0], p[key], dout)
        expect_grad(grads[key], num, f"block grads[{key!r}]")
    expect_grads(grads, ref.block_backward(dout, ref.block_forward(x, p, 2)[1])[1], "block grads", rtol=1e-7)
