"""Task 1.2: ReLU and GELU (exact erf form and tanh approximation)."""
import math

import numpy as np
import pytest

from a1_helpers import (F32_ATOL, F32_HINT, F32_RTOL, NUM_ATOL, NUM_RTOL, GradingFailure, check_forward,
                        check_inputs_unchanged, check_layer, close, expect_array, expect_real, numerical_grads, parts,
                        random_array, sweep, torch, torch_grads)

pytestmark = pytest.mark.task1_2

HINTS = {"approximate": "approximate='none' is x Phi(x) with the exact Phi (normal_cdf), approximate='tanh' the tanh "
                        "form: each mode has its own forward and its own derivative"}


def _shapes(rng, n: int, modes=None):
    """n random shapes of 1 to 4 axes (odd sizes, 1 included), each mode of `modes` in turn."""
    cases = []
    for i in range(n):
        case = {"axes": 1 + i % 4, "x": tuple(int(v) for v in rng.integers(1, 6, size=1 + i % 4))}
        if modes:
            case["approximate"] = modes[i % len(modes)]
        cases.append(case)
    return cases


def _relu_input(rng, shape, dtype=np.float64):
    x = random_array(rng, shape, 2.0, dtype)
    x.flat[::3] = 0.0  # exact zeros: the gradient there is 0, as in torch
    return x


@pytest.mark.hint("the gradient at x == 0 is 0: pass dout where x > 0")
def test_relu_matches_reference(student, reference, rng):
    """Random shapes of 1 to 4 axes, with exact zeros in x."""
    L = reference("layers")

    def check(case):
        x, dout = _relu_input(rng, case["x"]), random_array(rng, case["x"])
        out, cache = L.relu_forward(x)
        check_layer(student, "layers.relu_forward", "layers.relu_backward", (x,), out, dout,
                    [L.relu_backward(dout, cache)], ["dx"])
    sweep(_shapes(rng, 6), check, vary=("axes",))


@pytest.mark.hint("Phi(x) = (1 + erf(x / sqrt(2))) / 2, and approximate='tanh' switches to the tanh form")
def test_gelu_forward_matches_reference(student, reference, rng):
    def check(case):
        x = random_array(rng, case["x"], 4.0)
        out, _ = reference("layers").gelu_forward(x, approximate=case["approximate"])
        check_forward(student, "layers.gelu_forward", (x,), out, kwargs={"approximate": case["approximate"]},
                      rtol=1e-7, atol=1e-12)
    sweep(_shapes(rng, 6, ("none", "tanh")), check, vary=("approximate",), hints=HINTS)


@pytest.mark.hint("d/dx [x Phi(x)] = Phi(x) + x phi(x): keep both terms, and differentiate the tanh form in tanh mode")
def test_gelu_matches_reference(student, reference, rng):
    """Values up to about +-12, so both tails of Phi are exercised."""
    L = reference("layers")

    def check(case):
        x, dout = random_array(rng, case["x"], 4.0), random_array(rng, case["x"])
        out, cache = L.gelu_forward(x, approximate=case["approximate"])
        check_layer(student, "layers.gelu_forward", "layers.gelu_backward", (x,), out, dout,
                    [L.gelu_backward(dout, cache)], ["dx"], kwargs={"approximate": case["approximate"]}, rtol=1e-7,
                    atol=1e-12)
    sweep(_shapes(rng, 6, ("none", "tanh")), check, vary=("approximate",), hints=HINTS)


@pytest.mark.hint("normal_cdf(x) = (1 + erf(x / sqrt(2))) / 2 for an array of any shape, in x's own dtype")
def test_normal_cdf_on_its_own(student, rng):
    """normal_cdf is a documented function of its own (not only GELU's helper): Phi(x) for
    float64 and float32 arrays of several shapes, both tails included, against math.erf."""
    def check(case):
        dtype = np.dtype(case["dtype"])
        x = np.concatenate([np.linspace(-9, 9, 19), random_array(rng, 41, 3.0)])[:int(np.prod(case["x"]))]
        x = x.reshape(case["x"]).astype(dtype)
        expected = np.vectorize(lambda v: 0.5 * (1.0 + math.erf(v / math.sqrt(2.0))))(x.astype(np.float64))
        f32 = dtype == np.float32
        close(student.call("layers.normal_cdf", x), expected, "normal_cdf(x)", rtol=F32_RTOL if f32 else 1e-7,
              atol=F32_ATOL if f32 else 1e-12, dtype=dtype)
    sweep([{"x": shape, "dtype": dt} for dt in ("float64", "float32") for shape in [(19,), (3, 4, 5)]], check,
          vary=("dtype",), hints={"dtype": F32_HINT})


@pytest.mark.hint("cache = (x, phi, approximate), phi the factor with out = x * phi (Phi(x) itself in either mode), "
                  "as gelu_backward unpacks it")
@pytest.mark.weight(2)
def test_gelu_cache_feeds_the_reference_backward(student, reference, rng):
    """The documented cache (x, phi, approximate), phi (shape of x) the factor with out = x * phi:
    the reference gelu_backward, given the student's cache, gives the true gradient."""
    hint = "cache = (x, phi, approximate), phi the factor with out = x * phi, as gelu_backward unpacks it"
    L = reference("layers")

    def check(case):
        x, dout = random_array(rng, case["x"], 3.0), random_array(rng, case["x"])
        mode = case["approximate"]
        out, ref_cache = L.gelu_forward(x, approximate=mode)
        _, cache = parts(student.call("layers.gelu_forward", x, approximate=mode), 2, "gelu_forward return value")
        cx, phi, got_mode = parts(cache, 3, "gelu_forward cache (x, phi, approximate)")
        expect_array(cx, shape=x.shape, name="cache x", hint=hint)
        expect_real(cx, "cache x", hint)
        expect_array(expect_real(phi, "cache phi", hint), shape=x.shape, name="cache phi", hint=hint)
        if type(got_mode) is not str or got_mode != mode:
            raise GradingFailure("cache approximate: not the mode the forward was called with", hint)
        close(L.gelu_backward(dout, (cx, phi, mode)), L.gelu_backward(dout, ref_cache),
              "the reference gelu_backward's dx on your cache", rtol=1e-7, atol=1e-12, hint=hint)
    sweep(_shapes(rng, 6, ("none", "tanh")), check, vary=("approximate",), hints={"approximate": hint})


@pytest.mark.hint("d/dx [x Phi(x)] = Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi)")
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_torch_autograd(student, rng, approximate):
    x = np.concatenate([np.linspace(-9, 9, 37), random_array(rng, 23)]).reshape(4, 15)
    dout = random_array(rng, x.shape)
    F = torch().nn.functional
    out, (dx,) = torch_grads(lambda t: F.gelu(t, approximate=approximate), [x], dout)
    check_layer(student, "layers.gelu_forward", "layers.gelu_backward", (x,), out, dout, [dx], ["dx"],
                kwargs={"approximate": approximate}, rtol=1e-7, atol=1e-12)


@pytest.mark.hint("the gradient at x == 0 is 0: pass dout where x > 0")
def test_relu_matches_torch_autograd(student, rng):
    x, dout = _relu_input(rng, (3, 4, 5)), random_array(rng, (3, 4, 5))
    out, (dx,) = torch_grads(lambda t: torch().relu(t), [x], dout)
    check_layer(student, "layers.relu_forward", "layers.relu_backward", (x,), out, dout, [dx], ["dx"])


@pytest.mark.hint("d/dx [x Phi(x)] = Phi(x) + x phi(x); in tanh mode d/dx of sqrt(2/pi) (x + 0.044715 x^3) has a 3")
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_gradient_matches_numerical_gradient(student, reference, rng, approximate):
    x, dout = random_array(rng, (3, 7), 2.0), random_array(rng, (3, 7))
    L = reference("layers")
    out, _ = L.gelu_forward(x, approximate=approximate)
    grads = numerical_grads(L.gelu_forward, [x], [0], dout, approximate=approximate)
    check_layer(student, "layers.gelu_forward", "layers.gelu_backward", (x,), out, dout, grads, ["dx"],
                kwargs={"approximate": approximate}, rtol=NUM_RTOL, atol=NUM_ATOL)


@pytest.mark.hint(F32_HINT)
@pytest.mark.parametrize("layer", ["relu", "gelu", "gelu_tanh"])
def test_activations_keep_float32(student, reference, rng, layer):
    name, kwargs = ("gelu", {"approximate": "tanh"}) if layer == "gelu_tanh" else (layer, {})
    x = _relu_input(rng, (6, 9), np.float32)
    dout = random_array(rng, (6, 9), dtype=np.float32)
    L = reference("layers")
    fwd, bwd = getattr(L, f"{name}_forward"), getattr(L, f"{name}_backward")
    out, cache = fwd(x.astype(np.float64), **kwargs)
    check_layer(student, f"layers.{name}_forward", f"layers.{name}_backward", (x,), out, dout,
                [bwd(dout.astype(np.float64), cache)], ["dx"], kwargs=kwargs, rtol=F32_RTOL, atol=F32_ATOL,
                dtype=np.float32)


@pytest.mark.hint("work on copies: never write into x or dout")
@pytest.mark.weight(0.5)
@pytest.mark.parametrize("layer", ["relu", "gelu", "gelu_tanh"])
def test_activations_leave_inputs_unchanged(student, rng, layer):
    """The forward never writes into x, the backward never into dout."""
    name, kwargs = ("gelu", {"approximate": "tanh"}) if layer == "gelu_tanh" else (layer, {})
    x, dout = _relu_input(rng, (4, 6)), random_array(rng, (4, 6))
    check_inputs_unchanged(student, f"layers.{name}_forward", f"layers.{name}_backward", (x,), dout, kwargs)
