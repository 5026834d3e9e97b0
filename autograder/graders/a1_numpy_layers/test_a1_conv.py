"""Task 1.6: conv2d_forward / conv2d_backward (NCHW, stride, zero padding)."""
import numpy as np
import pytest

from a1_helpers import (F32_ATOL, F32_HINT, F32_RTOL, NUM_ATOL, NUM_RTOL, check_forward, check_inputs_unchanged,
                        check_layer, numerical_grads, random_array, sweep, torch, torch_grads)

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


# every stride/padding combination that behaves differently: stride 1, 2 and 3 (3 does not
# divide most sizes, so the last rows or columns are never read) with padding 0, 1, 2
SETTINGS = [{"stride": s, "padding": p} for p in (0, 1, 2) for s in (1, 2, 3)]
VARY = ("stride", "padding")
# the hint for failures that follow one setting alone (checks.sweep)
HINTS = {"padding": "pad both sides of H and W by padding zeros (H + 2 padding rows); padding 0 must work "
                    "(dx[:, :, p:-p] is empty at p = 0); crop dx at [p:p + H]",
         "stride": "step the windows by the stride, in the forward and in col2im; OH = (H + 2 padding - KH) // stride "
                   "+ 1, so a stride that does not divide leaves the last rows unused"}


def _random_cases(seed: int, dtype=np.float64):
    """One case per stride/padding setting, each with random sizes: odd sizes, non-square
    kernels, batches of 1; the kernel never exceeds the padded input."""
    rng = np.random.default_rng(seed)
    cases = []
    for setting in SETTINGS:
        p = setting["padding"]
        N, C, F = (int(v) for v in rng.integers(1, 4, size=3))
        H, W = (int(v) for v in rng.integers(1, 9, size=2))
        KH, KW = int(rng.integers(1, min(4, H + 2 * p) + 1)), int(rng.integers(1, min(4, W + 2 * p) + 1))
        cases.append({"x": (N, C, H, W), "w": (F, C, KH, KW), **setting})
    return cases


def _arrays(rng, case, dtype=np.float64):
    (N, C, H, W), (F, _, KH, KW) = case["x"], case["w"]
    return _case(rng, N, C, H, W, F, KH, KW, case["stride"], case["padding"], dtype)


@pytest.mark.hint("OH = (H + 2 padding - KH) // stride + 1: a stride that does not divide leaves the last rows unused; "
                  "KH and KW may differ")
def test_conv_forward_on_random_shapes(student, reference, rng):
    """Every stride (1, 2, 3) with every padding (0, 1, 2), random sizes and kernels."""
    def check(case):
        x, w, b, _ = _arrays(rng, case)
        out, _ = reference("conv").conv2d_forward(x, w, b, stride=case["stride"], padding=case["padding"])
        check_forward(student, FWD, (x, w, b), out, kwargs={"stride": case["stride"], "padding": case["padding"]})
    sweep(_random_cases(int(rng.integers(2**32))), check, vary=VARY, hints=HINTS)


@pytest.mark.hint("padding 0 must work (dx[:, :, p:-p] is empty at p = 0); windows overlap, so add into dx, never "
                  "assign")
def test_conv_matches_reference_on_random_shapes(student, reference, rng):
    """Odd sizes, non-square kernels, strides that leave input rows unused, batch of 1."""
    def check(case):
        x, w, b, dout = _arrays(rng, case)
        out, grads = _reference(reference("conv"), x, w, b, dout, case["stride"], case["padding"])
        check_layer(student, FWD, BWD, (x, w, b), out, dout, grads, NAMES,
                    kwargs={"stride": case["stride"], "padding": case["padding"]})
    sweep(_random_cases(int(rng.integers(2**32))), check, vary=VARY, hints=HINTS)


@pytest.mark.hint("padding 0 must work (dx[:, :, p:-p] is empty at p = 0); crop dx at [p:p + H]; step windows by the "
                  "stride")
@pytest.mark.weight(4.5)
def test_conv_matches_torch_autograd(student, rng):
    """Every stride (1, 2, 3; 3 leaves the last columns of a 9-wide input unread) with every padding (0, 1, 2)."""
    F = torch().nn.functional

    def check(case):
        stride, padding = case["stride"], case["padding"]
        x, w, b, dout = _arrays(rng, case)
        out, grads = torch_grads(lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding), [x, w, b], dout)
        check_layer(student, FWD, BWD, (x, w, b), out, dout, grads, NAMES,
                    kwargs={"stride": stride, "padding": padding})
    sweep([{"x": (2, 3, 7, 9), "w": (4, 3, 3, 2), **s} for s in SETTINGS], check, vary=VARY, hints=HINTS)


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
@pytest.mark.property
def test_conv_leaves_inputs_unchanged(student, rng):
    """conv2d_forward never writes into x, w or b, the backward never into dout."""
    x, w, b, dout = _case(rng, 2, 2, 5, 5, 3, 3, 3, 2, 1)
    check_inputs_unchanged(student, FWD, BWD, (x, w, b), dout, {"stride": 2, "padding": 1})
