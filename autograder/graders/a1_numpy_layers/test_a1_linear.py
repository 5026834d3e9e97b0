"""Task 1.1: linear_forward / linear_backward."""
import numpy as np
import pytest

from a1_helpers import (F32_ATOL, F32_HINT, F32_RTOL, NUM_ATOL, NUM_RTOL, check_forward, check_inputs_unchanged,
                        check_layer, numerical_grads, random_array, sweep, torch_grads)

pytestmark = pytest.mark.task1_1

FWD, BWD = "layers.linear_forward", "layers.linear_backward"


def _case(rng, lead, D, M, dtype=np.float64):
    x = random_array(rng, (*lead, D), dtype=dtype)
    w = random_array(rng, (D, M), 0.5, dtype)
    b = random_array(rng, (M,), dtype=dtype)
    dout = random_array(rng, (*lead, M), dtype=dtype)
    return x, w, b, dout


HINTS = {"leading_axes": "x may be (N, D), (N, T, D) or deeper: apply w over the last axis only (x.reshape(-1, D) "
                         "@ w, never x.reshape(N, -1)), sum dw and db over every leading axis, and give dx x's shape"}


def _random_cases(rng, n: int):
    """n cases cycling through 1, 2 and 3 leading axes, with odd random sizes (1 included)."""
    cases = []
    for i in range(n):
        lead = tuple(int(v) for v in rng.integers(1, 5, size=1 + i % 3))
        D, M = int(rng.integers(1, 8)), int(rng.integers(1, 7))
        cases.append({"leading_axes": len(lead), "x": (*lead, D), "w": (D, M)})
    return cases


def _arrays(rng, case):
    return _case(rng, case["x"][:-1], *case["w"])


@pytest.mark.hint("x may be (N, D), (N, T, D) or deeper: apply w over the last axis only (x.reshape(-1, D) @ w), never "
                  "x.reshape(N, -1)")
def test_linear_forward_on_random_shapes(student, reference, rng):
    """(N, D), (N, T, D) and (N, A, B, D) inputs of odd sizes."""
    def check(case):
        x, w, b, _ = _arrays(rng, case)
        check_forward(student, FWD, (x, w, b), reference("layers").linear_forward(x, w, b)[0])
    sweep(_random_cases(rng, 6), check, vary=("leading_axes",), hints=HINTS)


@pytest.mark.hint("dw and db sum over every leading axis of x (N, T, ...), not only axis 0")
def test_linear_matches_reference_on_random_shapes(student, reference, rng):
    """(N, D), (N, T, D) and (N, A, B, D) inputs of odd sizes, batch of 1 included."""
    L = reference("layers")

    def check(case):
        x, w, b, dout = _arrays(rng, case)
        out, cache = L.linear_forward(x, w, b)
        check_layer(student, FWD, BWD, (x, w, b), out, dout, list(L.linear_backward(dout, cache)),
                    ["dx", "dw", "db"])
    sweep(_random_cases(rng, 8), check, vary=("leading_axes",), hints=HINTS)


@pytest.mark.hint("dx = dout @ w.T, dw = x^T @ dout and db = the sum of dout, over every leading axis")
def test_linear_gradients_match_numerical_gradients(student, reference, rng):
    x, w, b, dout = _case(rng, (2, 3), 4, 5)
    L = reference("layers")
    out, _ = L.linear_forward(x, w, b)
    grads = numerical_grads(L.linear_forward, [x, w, b], [0, 1, 2], dout)
    check_layer(student, FWD, BWD, (x, w, b), out, dout, grads, ["dx", "dw", "db"], rtol=NUM_RTOL, atol=NUM_ATOL)


@pytest.mark.hint("dx = dout @ w.T, dw = x^T @ dout and db = the sum of dout, over every leading axis")
def test_linear_matches_torch_autograd(student, rng):
    x, w, b, dout = _case(rng, (3, 5), 8, 6)
    out, grads = torch_grads(lambda x, w, b: x @ w + b, [x, w, b], dout)
    check_layer(student, FWD, BWD, (x, w, b), out, dout, grads, ["dx", "dw", "db"])


@pytest.mark.hint("N = D = M = 1: avoid squeeze() and shape-dependent branches")
def test_linear_batch_of_one_single_feature(student, reference, rng):
    x, w, b, dout = _case(rng, (1,), 1, 1)
    L = reference("layers")
    out, cache = L.linear_forward(x, w, b)
    check_layer(student, FWD, BWD, (x, w, b), out, dout, list(L.linear_backward(dout, cache)), ["dx", "dw", "db"])


@pytest.mark.hint(F32_HINT)
def test_linear_keeps_float32(student, reference, rng):
    x, w, b, dout = _case(rng, (4, 3), 6, 5, dtype=np.float32)
    L = reference("layers")
    x64, w64, b64, d64 = (a.astype(np.float64) for a in (x, w, b, dout))
    out, cache = L.linear_forward(x64, w64, b64)
    check_layer(student, FWD, BWD, (x, w, b), out, dout, list(L.linear_backward(d64, cache)), ["dx", "dw", "db"],
                rtol=F32_RTOL, atol=F32_ATOL, dtype=np.float32)


@pytest.mark.hint("work on copies: never write into x, w, b or dout")
@pytest.mark.weight(0.5)
@pytest.mark.property
def test_linear_leaves_inputs_unchanged(student, rng):
    """linear_forward and linear_backward never write into x, w, b or dout."""
    x, w, b, dout = _case(rng, (2, 3), 4, 5)
    check_inputs_unchanged(student, FWD, BWD, (x, w, b), dout)
