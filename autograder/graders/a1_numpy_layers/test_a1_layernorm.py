"""Task 1.4: LayerNorm over the last axis."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from a1_helpers import (F32_ATOL, F32_HINT, F32_RTOL, NUM_ATOL, NUM_RTOL, check_forward, check_inputs_unchanged,
                        check_layer, examples, numerical_grads, random_array, torch, torch_grads)

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


random_shapes = given(lead=st.lists(st.integers(1, 4), min_size=0, max_size=3), D=st.integers(1, 9),
                      seed=st.integers(0, 2**32 - 1))


@pytest.mark.hint("normalise over the last axis only, with the biased variance (divide by D) and eps inside the square "
                  "root")
@examples(6)
@random_shapes
def test_layernorm_forward_on_random_shapes(student, reference, lead, D, seed):
    x, gamma, beta, _ = _case(np.random.default_rng(seed), lead, D, scale=2.0)
    check_forward(student, FWD, (x, gamma, beta), reference("layers").layernorm_forward(x, gamma, beta)[0])


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
@examples(8)
@random_shapes
def test_layernorm_matches_reference(student, reference, lead, D, seed):
    """x of shape (D,), (N, D), (N, T, D) ..., D = 1 included (out = beta there)."""
    x, gamma, beta, dout = _case(np.random.default_rng(seed), lead, D, scale=2.0)
    out, grads = _expected(reference("layers"), x, gamma, beta, dout)
    check_layer(student, FWD, BWD, (x, gamma, beta), out, dout, grads, NAMES)


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
def test_layernorm_leaves_inputs_unchanged(student, rng):
    """layernorm_forward never writes into x, gamma or beta, the backward never into dout."""
    x, gamma, beta, dout = _case(rng, (2, 3), 6, offset=2.0)
    check_inputs_unchanged(student, FWD, BWD, (x, gamma, beta), dout)
