"""Task 1.6: conv2d_forward / conv2d_backward (NCHW, stride, zero padding)."""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from a1_helpers import (F32_ATOL, F32_HINT, F32_RTOL, NUM_ATOL, NUM_RTOL, check_forward, check_inputs_unchanged,
                        check_layer, examples, numerical_grads, random_array, torch, torch_grads)

pytestmark = pytest.mark.task1_6

FWD, BWD = "conv.conv2d_forward", "conv.conv2d_backward"
NAMES = ["dx", "dw", "db"]


def _case(rng, N, C, H, W, F, KH, KW, stride, padding, dtype=np.float64):
    OH = (H + 2 * padding - KH) // stride + 1
    OW = (W + 2 * padding - KW) // stride + 1
    x = random_array(rng, (N, C, H, W), dtype=dtype)
    w = random_array(rng, (F, C, KH, KW), 0.5, dtype)
    b = random_array(rng, (F,), dtype=dtype)
    dout = random_array(rng, (N, F, OH, OW), dtype=dtype)
    return x, w, b, dout


def _reference(conv, x, w, b, dout, stride, padding):
    out, cache = conv.conv2d_forward(x, w, b, stride=stride, padding=padding)
    return out, list(conv.conv2d_backward(dout, cache))


random_shapes = given(N=st.integers(1, 3), C=st.integers(1, 3), F=st.integers(1, 3), H=st.integers(1, 8),
                      W=st.integers(1, 8), KH=st.integers(1, 4), KW=st.integers(1, 4), stride=st.integers(1, 3),
                      padding=st.integers(0, 2), seed=st.integers(0, 2**32 - 1))


@pytest.mark.hint("OH = (H + 2 padding - KH) // stride + 1: a stride that does not divide leaves the last rows unused; "
                  "KH and KW may differ")
@examples(8)
@random_shapes
def test_conv_forward_on_random_shapes(student, reference, N, C, F, H, W, KH, KW, stride, padding, seed):
    assume(H + 2 * padding >= KH and W + 2 * padding >= KW)
    x, w, b, _ = _case(np.random.default_rng(seed), N, C, H, W, F, KH, KW, stride, padding)
    out, _ = reference("conv").conv2d_forward(x, w, b, stride=stride, padding=padding)
    check_forward(student, FWD, (x, w, b), out, kwargs={"stride": stride, "padding": padding})


@pytest.mark.hint("padding 0 must work (dx[:, :, p:-p] is empty at p = 0); windows overlap, so add into dx, never "
                  "assign")
@examples(10)
@random_shapes
def test_conv_matches_reference_on_random_shapes(student, reference, N, C, F, H, W, KH, KW, stride, padding, seed):
    """Odd sizes, non-square kernels, strides that leave input rows unused, batch of 1."""
    assume(H + 2 * padding >= KH and W + 2 * padding >= KW)
    x, w, b, dout = _case(np.random.default_rng(seed), N, C, H, W, F, KH, KW, stride, padding)
    out, grads = _reference(reference("conv"), x, w, b, dout, stride, padding)
    check_layer(student, FWD, BWD, (x, w, b), out, dout, grads, NAMES, kwargs={"stride": stride, "padding": padding})


# every stride/padding combination that behaves differently: stride 1, 2 and 3 (3 does
# not divide the 9-wide input, so the last columns are never read) with padding 0, 1, 2
@pytest.mark.hint("padding 0 must work (dx[:, :, p:-p] is empty at p = 0); crop dx at [p:p + H]; step windows by the "
                  "stride")
@pytest.mark.weight(0.5)
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding", [0, 1, 2])
def test_conv_matches_torch_autograd(student, rng, stride, padding):
    x, w, b, dout = _case(rng, 2, 3, 7, 9, 4, 3, 2, stride, padding)
    F = torch().nn.functional
    out, grads = torch_grads(lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding), [x, w, b], dout)
    check_layer(student, FWD, BWD, (x, w, b), out, dout, grads, NAMES, kwargs={"stride": stride, "padding": padding})


@pytest.mark.hint("db sums dout over N, OH and OW; dw and dx step the windows by the stride and add where they overlap")
def test_conv_gradients_match_numerical_gradients(student, reference, rng):
    x, w, b, dout = _case(rng, 2, 2, 5, 4, 3, 3, 3, 2, 1)
    C = reference("conv")
    out, _ = C.conv2d_forward(x, w, b, stride=2, padding=1)
    grads = numerical_grads(C.conv2d_forward, [x, w, b], [0, 1, 2], dout, stride=2, padding=1)
    check_layer(student, FWD, BWD, (x, w, b), out, dout, grads, NAMES, kwargs={"stride": 2, "padding": 1},
                rtol=NUM_RTOL, atol=NUM_ATOL)


@pytest.mark.hint("stride 1 and padding 0 by default: padding 0 must work (dx[:, :, p:-p] is empty at p = 0)")
def test_conv_defaults_and_1x1_kernel(student, reference, rng):
    """Default stride 1 and padding 0; a 1x1 kernel is a per-pixel linear map."""
    x, w, b, dout = _case(rng, 1, 4, 3, 5, 2, 1, 1, 1, 0)
    out, grads = _reference(reference("conv"), x, w, b, dout, 1, 0)
    check_layer(student, FWD, BWD, (x, w, b), out, dout, grads, NAMES)


@pytest.mark.hint("a single output position: check the crop of dx at [p:p + H]")
def test_conv_kernel_covers_padded_input(student, reference, rng):
    """Kernel as large as the padded input: a single output position."""
    x, w, b, dout = _case(rng, 2, 2, 3, 3, 2, 5, 5, 1, 1)
    out, grads = _reference(reference("conv"), x, w, b, dout, 1, 1)
    check_layer(student, FWD, BWD, (x, w, b), out, dout, grads, NAMES, kwargs={"stride": 1, "padding": 1})


@pytest.mark.hint(F32_HINT)
def test_conv_keeps_float32(student, reference, rng):
    """The ConViT stem's first layer on a small batch: 1 -> 4 channels, 3x3, padding 1."""
    x, w, b, dout = _case(rng, 3, 1, 8, 8, 4, 3, 3, 1, 1, dtype=np.float32)
    out, grads = _reference(reference("conv"), *(a.astype(np.float64) for a in (x, w, b, dout)), 1, 1)
    check_layer(student, FWD, BWD, (x, w, b), out, dout, grads, NAMES, kwargs={"stride": 1, "padding": 1},
                rtol=F32_RTOL, atol=F32_ATOL, dtype=np.float32)


@pytest.mark.hint("work on copies: never write into x, w, b or dout")
@pytest.mark.weight(0.5)
def test_conv_leaves_inputs_unchanged(student, rng):
    """conv2d_forward never writes into x, w or b, the backward never into dout."""
    x, w, b, dout = _case(rng, 2, 2, 5, 5, 3, 3, 3, 2, 1)
    check_inputs_unchanged(student, FWD, BWD, (x, w, b), dout, {"stride": 2, "padding": 1})
