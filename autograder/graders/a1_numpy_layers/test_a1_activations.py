"""Task 1.2: ReLU and GELU (exact erf form and tanh approximation)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from a1_helpers import (F32_ATOL, F32_HINT, F32_RTOL, NUM_ATOL, NUM_RTOL, check_forward, check_inputs_unchanged,
                        check_layer, examples, numerical_grads, random_array, torch, torch_grads)

pytestmark = pytest.mark.task1_2

shapes = st.lists(st.integers(1, 5), min_size=1, max_size=4)
seeds = st.integers(0, 2**32 - 1)


def _relu_input(rng, shape, dtype=np.float64):
    x = random_array(rng, shape, 2.0, dtype)
    x.flat[::3] = 0.0  # exact zeros: the gradient there is 0, as in torch
    return x


@pytest.mark.hint("the gradient at x == 0 is 0: pass dout where x > 0")
@examples(6)
@given(shape=shapes, seed=seeds)
def test_relu_matches_reference(student, reference, shape, seed):
    rng = np.random.default_rng(seed)
    x, dout = _relu_input(rng, shape), random_array(rng, shape)
    L = reference("layers")
    out, cache = L.relu_forward(x)
    check_layer(student, "layers.relu_forward", "layers.relu_backward", (x,), out, dout,
                [L.relu_backward(dout, cache)], ["dx"])


@pytest.mark.hint("Phi(x) = (1 + erf(x / sqrt(2))) / 2, and approximate='tanh' switches to the tanh form")
@examples(6)
@given(shape=shapes, seed=seeds, approximate=st.sampled_from(["none", "tanh"]))
def test_gelu_forward_matches_reference(student, reference, shape, seed, approximate):
    x = random_array(np.random.default_rng(seed), shape, 4.0)
    out, _ = reference("layers").gelu_forward(x, approximate=approximate)
    check_forward(student, "layers.gelu_forward", (x,), out, kwargs={"approximate": approximate}, rtol=1e-7,
                  atol=1e-12)


@pytest.mark.hint("d/dx [x Phi(x)] = Phi(x) + x phi(x): keep both terms, and differentiate the tanh form in tanh mode")
@examples(6)
@given(shape=shapes, seed=seeds, approximate=st.sampled_from(["none", "tanh"]))
def test_gelu_matches_reference(student, reference, shape, seed, approximate):
    """Values up to about +-12, so both tails of Phi are exercised."""
    rng = np.random.default_rng(seed)
    x, dout = random_array(rng, shape, 4.0), random_array(rng, shape)
    L = reference("layers")
    out, cache = L.gelu_forward(x, approximate=approximate)
    check_layer(student, "layers.gelu_forward", "layers.gelu_backward", (x,), out, dout,
                [L.gelu_backward(dout, cache)], ["dx"], kwargs={"approximate": approximate}, rtol=1e-7, atol=1e-12)


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
