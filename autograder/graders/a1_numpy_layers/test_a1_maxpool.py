"""Task 1.7: maxpool2d_forward / maxpool2d_backward (ties: first maximum in row-major order)."""
import numpy as np
import pytest

from a1_helpers import (F32_ATOL, F32_HINT, F32_RTOL, NUM_ATOL, NUM_RTOL, GradingFailure, check_forward,
                        check_inputs_unchanged, check_layer, close, expect_array, expect_real, numerical_grads,
                        parts, random_array, sweep, torch, torch_grads)

pytestmark = pytest.mark.task1_7

FWD, BWD = "conv.maxpool2d_forward", "conv.maxpool2d_backward"


def _distinct(rng, shape, dtype=np.float64):
    """Values with no ties anywhere (a permutation), so the argmax is unambiguous."""
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 3.0).astype(dtype)


def _out_shape(shape, k, s):
    N, C, H, W = shape
    return N, C, (H - k) // s + 1, (W - k) // s + 1


def _check(student, reference, x, dout, k, stride, rtol=1e-6, atol=1e-9, dtype=None):
    P = reference("conv")
    xe = x.astype(np.float64)
    out, cache = P.maxpool2d_forward(xe, kernel_size=k, stride=stride)
    dx = P.maxpool2d_backward(dout.astype(np.float64), cache)
    check_layer(student, FWD, BWD, (x,), out, dout, [dx], ["dx"], kwargs={"kernel_size": k, "stride": stride},
                rtol=rtol, atol=atol, dtype=dtype)


VARY = ("kernel_size", "stride")
# the hint for failures that follow one setting alone (checks.sweep)
HINTS = {"stride": "step the windows by the stride (it defaults to kernel_size): OH = (H - kernel_size) // stride + 1; "
                   "where windows overlap (stride < kernel_size) add into dx, never assign",
         "kernel_size": "each window is kernel_size x kernel_size: loop over both of its offsets, and its argmax is "
                        "i * kernel_size + j"}


def _random_cases(seed: int):
    """Every kernel (1, 2, 3) with every stride (default, 1, 2, 3), random sizes: odd
    sizes that leave edge rows out, overlapping windows, batches of 1."""
    rng = np.random.default_rng(seed)
    cases = []
    for k in (1, 2, 3):
        for stride in (None, 1, 2, 3):
            N, C = (int(v) for v in rng.integers(1, 4, size=2))
            H, W = (int(v) for v in rng.integers(k, 10, size=2))
            cases.append({"x": (N, C, H, W), "kernel_size": k, "stride": stride})
    return cases


@pytest.mark.hint("OH = (H - kernel_size) // stride + 1, windows stepped by the stride (not the kernel size)")
def test_maxpool_forward_on_random_shapes(student, reference, rng):
    """Every kernel size (1, 2, 3) with every stride (default, 1, 2, 3), random sizes."""
    def check(case):
        k, stride = case["kernel_size"], case["stride"]
        x = _distinct(rng, case["x"])
        out, _ = reference("conv").maxpool2d_forward(x, kernel_size=k, stride=stride)
        check_forward(student, FWD, (x,), out, kwargs={"kernel_size": k, "stride": stride})
    sweep(_random_cases(int(rng.integers(2**32))), check, vary=VARY, hints=HINTS)


@pytest.mark.hint("where windows overlap (stride < kernel_size) an element collects the sum: add into dx, never assign")
def test_maxpool_matches_reference_on_random_shapes(student, reference, rng):
    """Odd sizes that leave edge rows out, overlapping windows (stride < kernel), batch of 1."""
    def check(case):
        k, stride = case["kernel_size"], case["stride"]
        x = _distinct(rng, case["x"])
        dout = random_array(rng, _out_shape(x.shape, k, k if stride is None else stride))
        _check(student, reference, x, dout, k, stride)
    sweep(_random_cases(int(rng.integers(2**32))), check, vary=VARY, hints=HINTS)


@pytest.mark.hint("where windows overlap (stride < kernel_size) an element collects the sum: add into dx, never assign")
@pytest.mark.weight(4)
def test_maxpool_matches_torch_autograd(student, rng):
    """Kernel 2 with its default stride, 3 with stride 1 and 2 (overlapping), 2 with stride 3 (gaps)."""
    F = torch().nn.functional

    def check(case):
        k, stride = case["kernel_size"], case["stride"]
        x = _distinct(rng, case["x"])
        dout = random_array(rng, _out_shape(x.shape, k, k if stride is None else stride))
        out, grads = torch_grads(lambda t: F.max_pool2d(t, k, stride), [x], dout)
        check_layer(student, FWD, BWD, (x,), out, dout, grads, ["dx"], kwargs={"kernel_size": k, "stride": stride})
    sweep([{"x": (2, 3, 7, 8), "kernel_size": k, "stride": s} for k, s in [(2, None), (3, 1), (3, 2), (2, 3)]],
          check, vary=VARY, hints=HINTS)


@pytest.mark.hint("on ties the first maximum in row-major order wins (np.argmax does that), and only it gets the "
                  "gradient")
@pytest.mark.weight(2)
def test_maxpool_ties_go_to_the_first_maximum(student, reference, rng):
    """Integer-valued inputs with many ties: the gradient goes to the first maximum of each
    window in row-major order (as torch and np.argmax do), and only to it."""
    def check(case):
        k, stride = case["kernel_size"], case["stride"]
        x = rng.integers(0, 3, size=case["x"]).astype(np.float64)
        dout = random_array(rng, _out_shape(x.shape, k, k if stride is None else stride))
        _check(student, reference, x, dout, k, stride)
    sweep([{"x": (2, 2, 6, 6), "kernel_size": k, "stride": s} for k, s in [(2, None), (3, 1)]], check, vary=VARY)


@pytest.mark.hint("each window sends its dout entry to its argmax only")
def test_maxpool_gradient_matches_numerical_gradient(student, reference, rng):
    x = _distinct(rng, (2, 2, 5, 6))
    dout = random_array(rng, (2, 2, 2, 3))
    P = reference("conv")
    out, _ = P.maxpool2d_forward(x, kernel_size=2)
    grads = numerical_grads(P.maxpool2d_forward, [x], [0], dout, kernel_size=2)
    check_layer(student, FWD, BWD, (x,), out, dout, grads, ["dx"], kwargs={"kernel_size": 2},
                rtol=NUM_RTOL, atol=NUM_ATOL)


@pytest.mark.hint("kernel_size=2, and stride defaults to kernel_size")
def test_maxpool_default_arguments(student, reference, rng):
    """maxpool2d_forward(x): kernel 2, stride 2."""
    x = _distinct(rng, (1, 3, 4, 6))
    dout = random_array(rng, (1, 3, 2, 3))
    P = reference("conv")
    out, cache = P.maxpool2d_forward(x)
    check_layer(student, FWD, BWD, (x,), out, dout, [P.maxpool2d_backward(dout, cache)], ["dx"])


@pytest.mark.hint(F32_HINT)
def test_maxpool_keeps_float32(student, reference, rng):
    x = _distinct(rng, (3, 4, 8, 8), np.float32)
    dout = random_array(rng, (3, 4, 4, 4), dtype=np.float32)
    _check(student, reference, x, dout, 2, None, rtol=F32_RTOL, atol=F32_ATOL, dtype=np.float32)


@pytest.mark.hint("work on copies: never write into x or dout")
@pytest.mark.weight(0.5)
@pytest.mark.property
def test_maxpool_leaves_inputs_unchanged(student, rng):
    """maxpool2d_forward never writes into x, the backward never into dout."""
    x = _distinct(rng, (2, 2, 6, 5))
    check_inputs_unchanged(student, FWD, BWD, (x,), random_array(rng, (2, 2, 2, 2)), {"kernel_size": 3, "stride": 2})


@pytest.mark.hint("argmax is the row-major index i * kernel_size + j of the winner in its window")
@pytest.mark.weight(3)
def test_maxpool_argmax_cache_is_row_major(student, reference, rng):
    """The documented cache (x_shape, kernel_size, stride, argmax): argmax holds each
    winner's row-major index i * kernel_size + j within its window, and
    the backward accepts a cache in exactly that layout."""
    hint = "argmax is the row-major index i * kernel_size + j of the winner in its window"
    P = reference("conv")

    def check(case):
        k, stride = case["kernel_size"], case["stride"]
        x = _distinct(rng, case["x"])
        out, ref_cache = P.maxpool2d_forward(x, kernel_size=k, stride=stride)
        got_out, cache = parts(student.call(FWD, x, kernel_size=k, stride=stride), 2, "maxpool2d_forward return value")
        expect_real(got_out, "maxpool2d_forward out")   # a cache alone earns nothing next to an out of the wrong kind
        cache = parts(cache, 4, "maxpool2d_forward cache (x_shape, kernel_size, stride, argmax)")
        argmax = expect_array(cache[3], shape=out.shape, name="cache argmax", hint=hint)
        if argmax.dtype.kind not in "iuf":  # integer indices; float arrays that hold them work as well
            raise GradingFailure(f"cache argmax: expected an array of indices, got dtype {argmax.dtype}", hint)
        wrong = int(np.count_nonzero(argmax != ref_cache[3]))
        if wrong:
            raise GradingFailure(f"cache argmax: {wrong} of {argmax.size} window indices differ from the row-major "
                                 f"index of the first maximum", hint)
        dout = random_array(rng, out.shape)
        documented = (tuple(x.shape), k, k if stride is None else stride, ref_cache[3])
        close(student.call(BWD, dout, documented), P.maxpool2d_backward(dout, ref_cache),
              "maxpool2d_backward dx on a cache in the documented layout", hint=hint)
    sweep([{"x": (2, 3, 7, 6), "kernel_size": k, "stride": s} for k, s in [(2, None), (3, 1), (3, 2)]], check,
          vary=VARY)
