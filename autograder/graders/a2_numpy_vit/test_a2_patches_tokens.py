"""Hidden graders, tasks 2.1 (patches) and 2.2 (CLS token, positions)."""
import numpy as np
import pytest

from a2util import expect_grad, expect_same, numeric_grad
from autograder.engine.checks import GradingFailure, expect_close, sweep
from autograder.engine.student import StudentError

SHAPES = [((2, 1, 28, 28), 7), ((2, 1, 28, 28), 4), ((2, 3, 32, 32), 4), ((1, 2, 6, 9), 3)]


def _shape_cases(shapes):
    return [{"x": shape, "p": p} for shape, p in shapes]


@pytest.mark.task2_1
def test_patchify(student, reference, rng):
    """patchify: grid order row by row, each patch flattened in (C, p, p) order; square and non-square
    images, one or several channels, a batch of one."""
    def check(case):
        x = rng.standard_normal(case["x"])
        got = student.call("patches.patchify", x, case["p"])
        expect_close(got, reference("patches").patchify(x, case["p"]), rtol=0, name="patchify(x)")
    sweep(_shape_cases(SHAPES), check)


@pytest.mark.task2_1
def test_unpatchify(student, reference, rng):
    """unpatchify puts patches back into images of the given (C, H, W), square or not."""
    def check(case):
        N, C, H, W = case["x"]
        p = case["p"]
        patches = rng.standard_normal((N, (H // p) * (W // p), C * p * p))
        got = student.call("patches.unpatchify", patches, p, (C, H, W))
        expect_close(got, reference("patches").unpatchify(patches, p, (C, H, W)), rtol=0, name="unpatchify")
    sweep(_shape_cases(SHAPES), check)


@pytest.mark.task2_1
def test_patch_embed_forward_float32(student, reference, rng):
    """Float32 in, float32 out: training runs in float32."""
    x = rng.standard_normal((3, 1, 28, 28)).astype(np.float32)
    w, b = rng.standard_normal((49, 16)).astype(np.float32), rng.standard_normal(16).astype(np.float32)
    out, _ = student.call("patches.patch_embed_forward", x, w, b, 7)
    ref, _ = reference("patches").patch_embed_forward(x, w, b, 7)
    expect_close(out, ref, rtol=1e-4, atol=1e-4, name="patch_embed_forward (float32)")


@pytest.mark.task2_1
def test_patch_embed_float32_gradients(student, reference, rng):
    """A float32 layer gives float32 gradients: dx, dw and db of a float32 patch embedding are float32."""
    x = rng.standard_normal((2, 1, 8, 12)).astype(np.float32)
    w, b = rng.standard_normal((16, 6)).astype(np.float32), rng.standard_normal(6).astype(np.float32)
    out, cache = student.call("patches.patch_embed_forward", x, w, b, 4)
    dout = rng.standard_normal((2, 6, 6)).astype(np.float32)
    grads = student.call("patches.patch_embed_backward", dout, cache)
    ref = reference("patches")
    want = ref.patch_embed_backward(dout, ref.patch_embed_forward(x, w, b, 4)[1])
    for name, g, e in zip(("dx", "dw", "db"), grads, want):
        expect_close(g, e, rtol=1e-4, atol=1e-4 * float(np.abs(e).max()), name=f"patch_embed_backward {name} (float32)")


@pytest.mark.task2_1
def test_patch_embed_gradcheck(student, reference, rng):
    """Float64 gradient check of patch_embed_backward for x, w and b, on square and non-square images
    and a batch of one."""
    ref = reference("patches")

    def check(case):
        x, p = rng.standard_normal(case["x"]), case["p"]
        C = x.shape[1]
        w, b = rng.standard_normal((C * p * p, 4)), rng.standard_normal(4)
        out, cache = student.call("patches.patch_embed_forward", x, w, b, p)
        expect_same(out, ref.patch_embed_forward(x, w, b, p)[0], "patch_embed_forward(x)")
        dout = rng.standard_normal(out.shape)
        dx, dw, db = student.call("patches.patch_embed_backward", dout, cache)
        expect_grad(dx, numeric_grad(lambda z: ref.patch_embed_forward(z, w, b, p)[0], x, dout), "dx")
        expect_grad(dw, numeric_grad(lambda z: ref.patch_embed_forward(x, z, b, p)[0], w, dout), "dw")
        expect_grad(db, numeric_grad(lambda z: ref.patch_embed_forward(x, w, z, p)[0], b, dout), "db")
    sweep(_shape_cases([((2, 2, 6, 6), 3), ((1, 2, 6, 9), 3), ((2, 1, 4, 6), 2)]), check)


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
def test_sinusoidal_2d(student):
    """Rows in the first D/2 channels, columns in the last D/2, patches row by row; square and
    non-square grids, and the base passed on to both halves."""
    def check(case):
        gh, gw, D, base = case["grid_h"], case["grid_w"], case["D"], case["base"]
        rows, cols = _sin1d(gh, D // 2, base), _sin1d(gw, D // 2, base)
        expected = np.array([np.concatenate([rows[k // gw], cols[k % gw]]) for k in range(gh * gw)])
        kw = {} if base == 10000.0 else {"base": base}
        expect_close(student.call("tokens.sinusoidal_2d", gh, gw, D, **kw), expected, rtol=1e-9, atol=1e-12,
                     name=f"sinusoidal_2d({gh}, {gw}, {D}{', base=%g' % base if kw else ''})")
    sweep([dict(grid_h=gh, grid_w=gw, D=D, base=base) for gh, gw, D, base in
           [(4, 4, 16, 10000.0), (7, 7, 64, 10000.0), (2, 3, 8, 10000.0), (3, 2, 8, 100.0), (4, 4, 16, 50.0)]],
          check)
