"""Task 1.4: LayerNorm over the last axis."""
import numpy as np
import pytest

from a1_helpers import (F32_ATOL, F32_HINT, F32_RTOL, NUM_ATOL, NUM_RTOL, check_forward, check_inputs_unchanged,
                        check_layer, close, expect_array, expect_real, parts, numerical_grads, random_array, sweep,
                        torch, torch_grads)

pytestmark = pytest.mark.task1_4

FWD, BWD = "layers.layernorm_forward", "layers.layernorm_backward"
NAMES = ["dx", "dgamma", "dbeta"]


def _case(rng, lead, D, dtype=np.float64, offset=0.0, scale=1.0):
    x = (offset + random_array(rng, (*lead, D), scale)).astype(dtype)
    gamma = (1.0 + random_array(rng, (D,), 0.3)).astype(dtype)
    beta = random_array(rng, (D,), 0.3, dtype)
    dout = random_array(rng, (*lead, D), dtype=dtype)
    return x, gamma, beta, dout


def _expected(L, x, gamma, beta, dout, **kw):
    out, cache = L.layernorm_forward(x, gamma, beta, **kw)
    return out, list(L.layernorm_backward(dout, cache))


HINTS = {"leading_axes": "normalise over the last axis only, whatever the leading axes ((D,), (N, D), (N, T, D)), and "
                         "sum dgamma and dbeta over every leading axis"}


def _random_cases(rng, n: int):
    """n cases cycling through 0 to 3 leading axes ((D,), (N, D), (N, T, D), ...), odd
    sizes, D = 1 included sometimes (out = beta there)."""
    cases = []
    for i in range(n):
        lead = tuple(int(v) for v in rng.integers(1, 5, size=i % 4))
        cases.append({"leading_axes": len(lead), "x": (*lead, int(rng.integers(1, 10)))})
    return cases


@pytest.mark.hint("normalise over the last axis only, with the biased variance (divide by D) and eps inside the square "
                  "root")
def test_layernorm_forward_on_random_shapes(student, reference, rng):
    def check(case):
        x, gamma, beta, _ = _case(rng, case["x"][:-1], case["x"][-1], scale=2.0)
        check_forward(student, FWD, (x, gamma, beta), reference("layers").layernorm_forward(x, gamma, beta)[0])
    sweep(_random_cases(rng, 6), check, vary=("leading_axes",), hints=HINTS)


@pytest.mark.hint("variance as the mean of squared deviations from the mean (two passes), not E[x^2] - E[x]^2; eps "
                  "inside the square root")
@pytest.mark.parametrize("case", ["tiny variance", "large offset"])
def test_layernorm_forward_is_stable(student, reference, rng, case):
    """Tiny variance: spread 1e-5, far below eps. Large offset: mean 1e4, spread 1e-2, eps 1e-12."""
    offset, scale, eps = (3.0, 1e-5, 1e-5) if case == "tiny variance" else (1e4, 1e-2, 1e-12)
    x, gamma, beta, _ = _case(rng, (4, 2), 16, offset=offset, scale=scale)
    out, _ = reference("layers").layernorm_forward(x, gamma, beta, eps=eps)
    check_forward(student, FWD, (x, gamma, beta), out, kwargs={"eps": eps}, rtol=1e-5, atol=1e-8)


@pytest.mark.hint("dx has two mean terms (of dxhat and of dxhat * xhat); dgamma and dbeta sum over every leading axis")
def test_layernorm_matches_reference(student, reference, rng):
    """x of shape (D,), (N, D), (N, T, D) ..., D = 1 included (out = beta there)."""
    def check(case):
        x, gamma, beta, dout = _case(rng, case["x"][:-1], case["x"][-1], scale=2.0)
        out, grads = _expected(reference("layers"), x, gamma, beta, dout)
        check_layer(student, FWD, BWD, (x, gamma, beta), out, dout, grads, NAMES)
    sweep(_random_cases(rng, 8), check, vary=("leading_axes",), hints=HINTS)


@pytest.mark.hint("cache = (xhat, inv_std, gamma): xhat (..., D) the normalised input, inv_std (..., 1) = 1 / sqrt(var "
                  "+ eps), as layernorm_backward unpacks it")
@pytest.mark.weight(2)
def test_layernorm_cache_feeds_the_reference_backward(student, reference, rng):
    """The documented cache (xhat, inv_std, gamma), xhat (..., D) and inv_std (..., 1) =
    1 / sqrt(var + eps): the reference layernorm_backward, given the student's cache, gives
    the true gradients. Every leading shape, and an eps that is not the default."""
    hint = ("cache = (xhat, inv_std, gamma): xhat (..., D) the normalised input, inv_std (..., 1) = 1 / sqrt(var + "
            "eps), as layernorm_backward unpacks it")
    L = reference("layers")

    def check(case):
        x, gamma, beta, dout = _case(rng, case["x"][:-1], case["x"][-1], scale=2.0)
        eps = case["eps"]
        _, ref_cache = L.layernorm_forward(x, gamma, beta, eps=eps)
        _, cache = parts(student.call(FWD, x, gamma, beta, eps=eps), 2, "layernorm_forward return value")
        xhat, inv_std, g = parts(cache, 3, "layernorm_forward cache (xhat, inv_std, gamma)")
        expect_array(expect_real(xhat, "cache xhat", hint), shape=x.shape, name="cache xhat", hint=hint)
        expect_array(expect_real(inv_std, "cache inv_std", hint), shape=(*x.shape[:-1], 1), name="cache inv_std",
                     hint=hint)
        expect_array(expect_real(g, "cache gamma", hint), shape=gamma.shape, name="cache gamma", hint=hint)
        got = L.layernorm_backward(dout, (xhat, inv_std, g))
        for v, e, n in zip(got, L.layernorm_backward(dout, ref_cache), NAMES):
            close(v, e, f"the reference layernorm_backward's {n} on your cache", rtol=1e-6, atol=1e-9, hint=hint)
    cases = [{**c, "eps": (1e-5, 1e-2)[i % 2]} for i, c in enumerate(_random_cases(rng, 6))]
    sweep(cases, check, vary=("leading_axes", "eps"), hints={"eps": "eps goes inside the square root of inv_std"})


@pytest.mark.hint("dx = inv_std * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dout * gamma")
def test_layernorm_gradients_match_numerical_gradients(student, reference, rng):
    x, gamma, beta, dout = _case(rng, (2, 3), 5)
    L = reference("layers")
    out, _ = L.layernorm_forward(x, gamma, beta)
    grads = numerical_grads(L.layernorm_forward, [x, gamma, beta], [0, 1, 2], dout)
    check_layer(student, FWD, BWD, (x, gamma, beta), out, dout, grads, NAMES, rtol=NUM_RTOL, atol=NUM_ATOL)


@pytest.mark.hint("dx = inv_std * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dout * gamma")
@pytest.mark.parametrize("eps", [1e-5, 1e-3])
def test_layernorm_matches_torch_autograd(student, rng, eps):
    x, gamma, beta, dout = _case(rng, (3, 4), 8, scale=3.0)
    F = torch().nn.functional
    out, grads = torch_grads(lambda x, g, b: F.layer_norm(x, (8,), g, b, eps), [x, gamma, beta], dout)
    check_layer(student, FWD, BWD, (x, gamma, beta), out, dout, grads, NAMES, kwargs={"eps": eps})


@pytest.mark.hint("eps goes inside the square root: 1 / sqrt(var + eps)")
def test_layernorm_tiny_variance(student, reference, rng):
    """Variance ~1e-10, far below eps: the output stays finite and exact."""
    x, gamma, beta, dout = _case(rng, (4,), 16, offset=3.0, scale=1e-5)
    out, grads = _expected(reference("layers"), x, gamma, beta, dout)
    check_layer(student, FWD, BWD, (x, gamma, beta), out, dout, grads, NAMES)


@pytest.mark.hint("variance as the mean of squared deviations from the mean (two passes), not E[x^2] - E[x]^2")
def test_layernorm_large_offset_small_spread(student, reference, rng):
    """Mean 1e4, spread 1e-2, eps 1e-12: E[x^2] - E[x]^2 would lose most digits here."""
    x, gamma, beta, dout = _case(rng, (3, 2), 12, offset=1e4, scale=1e-2)
    out, grads = _expected(reference("layers"), x, gamma, beta, dout, eps=1e-12)
    check_layer(student, FWD, BWD, (x, gamma, beta), out, dout, grads, NAMES, kwargs={"eps": 1e-12},
                rtol=1e-5, atol=1e-8)


@pytest.mark.hint(F32_HINT)
def test_layernorm_keeps_float32(student, reference, rng):
    x, gamma, beta, dout = _case(rng, (5, 3), 10, dtype=np.float32)
    out, grads = _expected(reference("layers"), *(a.astype(np.float64) for a in (x, gamma, beta, dout)))
    check_layer(student, FWD, BWD, (x, gamma, beta), out, dout, grads, NAMES, rtol=F32_RTOL, atol=F32_ATOL,
                dtype=np.float32)


@pytest.mark.hint("work on copies: never write into x, gamma, beta or dout")
@pytest.mark.weight(0.5)
@pytest.mark.property
def test_layernorm_leaves_inputs_unchanged(student, rng):
    """layernorm_forward never writes into x, gamma or beta, the backward never into dout."""
    x, gamma, beta, dout = _case(rng, (2, 3), 6, offset=2.0)
    check_inputs_unchanged(student, FWD, BWD, (x, gamma, beta), dout)
