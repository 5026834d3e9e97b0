"""Hidden graders, tasks 2.1 (patches) and 2.2 (CLS token, positions)."""
import numpy as np
import pytest

from a2util import expect_grad, expect_same, numeric_grad
from autograder.engine.checks import GradingFailure, expect_close
from autograder.engine.student import StudentError

SHAPES = [((2, 1, 28, 28), 7), ((2, 1, 28, 28), 4), ((2, 3, 32, 32), 4), ((1, 2, 6, 9), 3)]


@pytest.mark.task2_1
@pytest.mark.parametrize("shape,p", SHAPES)
def test_patchify(student, reference, rng, shape, p):
    """patchify: grid order row by row, each patch flattened in (C, p, p) order."""
    x = rng.standard_normal(shape)
    got = student.call("patches.patchify", x, p)
    expect_close(got, reference("patches").patchify(x, p), rtol=0, name="patchify(x)")


@pytest.mark.task2_1
@pytest.mark.parametrize("shape,p", SHAPES[1:3])
def test_unpatchify(student, reference, rng, shape, p):
    N, C, H, W = shape
    patches = rng.standard_normal((N, (H // p) * (W // p), C * p * p))
    got = student.call("patches.unpatchify", patches, p, (C, H, W))
    expect_close(got, reference("patches").unpatchify(patches, p, (C, H, W)), rtol=0, name="unpatchify")


@pytest.mark.task2_1
def test_patch_embed_forward_float32(student, reference, rng):
    """Float32 in, float32 out: training runs in float32."""
    x = rng.standard_normal((3, 1, 28, 28)).astype(np.float32)
    w, b = rng.standard_normal((49, 16)).astype(np.float32), rng.standard_normal(16).astype(np.float32)
    out, _ = student.call("patches.patch_embed_forward", x, w, b, 7)
    ref, _ = reference("patches").patch_embed_forward(x, w, b, 7)
    expect_close(out, ref, rtol=1e-4, atol=1e-4, name="patch_embed_forward (float32)")


@pytest.mark.task2_1
def test_patch_embed_gradcheck(student, reference, rng):
    """Float64 gradient check of patch_embed_backward for x, w and b."""
    ref = reference("patches")
    x = rng.standard_normal((2, 2, 6, 6))
    w, b = rng.standard_normal((18, 4)), rng.standard_normal(4)
    out, cache = student.call("patches.patch_embed_forward", x, w, b, 3)
    expect_same(out, ref.patch_embed_forward(x, w, b, 3)[0], "patch_embed_forward(x)")
    dout = rng.standard_normal(out.shape)
    dx, dw, db = student.call("patches.patch_embed_backward", dout, cache)
    expect_grad(dx, numeric_grad(lambda z: ref.patch_embed_forward(z, w, b, 3)[0], x, dout), "dx")
    expect_grad(dw, numeric_grad(lambda z: ref.patch_embed_forward(x, z, b, 3)[0], w, dout), "dw")
    expect_grad(db, numeric_grad(lambda z: ref.patch_embed_forward(x, w, z, 3)[0], b, dout), "db")


@pytest.mark.task2_1
def test_bad_patch_size_is_refused(student, rng):
    student.call("patches.patchify", rng.standard_normal((1, 1, 28, 28)), 7)  # implemented at all?
    with pytest.raises(StudentError) as e:
        student.call("patches.patchify", np.zeros((1, 1, 28, 28)), 5)
    if e.value.type != "ValueError" or "5" not in e.value.message:
        raise GradingFailure("a patch size that does not divide the image should raise a ValueError naming it")


@pytest.mark.task2_2
def test_cls_forward_backward(student, reference, rng):
    """CLS token in front of every sequence; its gradient sums over the batch."""
    tok = reference("tokens")
    x, cls = rng.standard_normal((4, 5, 6)), rng.standard_normal((1, 1, 6))
    out, cache = student.call("tokens.cls_forward", x, cls)
    expect_close(out, tok.cls_forward(x, cls)[0], rtol=0, name="cls_forward")
    dout = rng.standard_normal(out.shape)
    dx, dcls = student.call("tokens.cls_backward", dout, cache)
    expect_grad(dcls, numeric_grad(lambda z: tok.cls_forward(x, z)[0], cls, dout), "dcls")
    expect_grad(dx, numeric_grad(lambda z: tok.cls_forward(z, cls)[0], x, dout), "dx")


@pytest.mark.task2_2
def test_pos_embed_forward_backward(student, reference, rng):
    tok = reference("tokens")
    x, pos = rng.standard_normal((3, 5, 4)), rng.standard_normal((1, 5, 4))
    out, cache = student.call("tokens.pos_embed_forward", x, pos)
    expect_same(out, x + pos, "pos_embed_forward")
    dout = rng.standard_normal(out.shape)
    dx, dpos = student.call("tokens.pos_embed_backward", dout, cache)
    expect_grad(dpos, numeric_grad(lambda z: tok.pos_embed_forward(x, z)[0], pos, dout), "dpos")
    expect_grad(dx, numeric_grad(lambda z: tok.pos_embed_forward(z, pos)[0], x, dout), "dx")


def _sin1d(T, D, base=10000.0):
    """Independent formula: PE[t, 2i] = sin(t / base^(2i/D)), PE[t, 2i+1] = cos(...)."""
    pe = np.zeros((T, D))
    for t in range(T):
        for i in range(D // 2):
            angle = t / base ** (2 * i / D)
            pe[t, 2 * i], pe[t, 2 * i + 1] = np.sin(angle), np.cos(angle)
    return pe


@pytest.mark.task2_2
@pytest.mark.parametrize("T,D", [(17, 64), (50, 32), (5, 2)])
def test_sinusoidal_1d(student, T, D):
    expect_close(student.call("tokens.sinusoidal_1d", T, D), _sin1d(T, D), rtol=1e-9, atol=1e-12,
                 name=f"sinusoidal_1d({T}, {D})")


@pytest.mark.task2_2
def test_sinusoidal_1d_base(student):
    expect_close(student.call("tokens.sinusoidal_1d", 6, 8, base=100.0), _sin1d(6, 8, 100.0), rtol=1e-9,
                 atol=1e-12, name="sinusoidal_1d(6, 8, base=100)")


@pytest.mark.task2_2
@pytest.mark.parametrize("gh,gw,D", [(4, 4, 16), (7, 7, 64), (2, 3, 8)])
def test_sinusoidal_2d(student, gh, gw, D):
    rows, cols = _sin1d(gh, D // 2), _sin1d(gw, D // 2)
    expected = np.array([np.concatenate([rows[k // gw], cols[k % gw]]) for k in range(gh * gw)])
    expect_close(student.call("tokens.sinusoidal_2d", gh, gw, D), expected, rtol=1e-9, atol=1e-12,
                 name=f"sinusoidal_2d({gh}, {gw}, {D})")
