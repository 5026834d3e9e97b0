"""Task 1.3: softmax along an axis, and softmax cross-entropy with label smoothing."""
import numpy as np
import pytest

from a1_helpers import (F32_ATOL, F32_HINT, F32_RTOL, NUM_ATOL, NUM_RTOL, check_forward, check_inputs_unchanged,
                        check_layer, close, expect_python_float, numerical_grad, numerical_grads, parts, random_array,
                        sweep, torch, torch_grads)

pytestmark = pytest.mark.task1_3
SM_F, SM_B = "layers.softmax_forward", "layers.softmax_backward"
CE = "layers.softmax_cross_entropy"
CE_RETURN = "softmax_cross_entropy return value (loss, dlogits)"


AXIS_HINTS = {"last_axis": "reduce along `axis` with keepdims=True (max, sum, and the backward's sum), not always "
                           "along the last axis"}


def _axis_cases(rng, n: int):
    """n random shapes of 1 to 4 axes (non-square, 1 included), each with a random axis,
    negative or not; `last_axis` says whether it is the last one."""
    cases = []
    for i in range(n):
        shape = tuple(int(v) for v in rng.integers(1, 6, size=1 + i % 4))
        axis = int(rng.integers(-len(shape), len(shape)))
        cases.append({"last_axis": axis % len(shape) == len(shape) - 1, "x": shape, "axis": axis})
    return cases


@pytest.mark.hint("reduce along `axis` with keepdims=True, not always along the last axis")
def test_softmax_forward_along_every_axis(student, reference, rng):
    def check(case):
        x = random_array(rng, case["x"], 3.0)
        check_forward(student, SM_F, (x,), reference("layers").softmax_forward(x, axis=case["axis"])[0],
                      kwargs={"axis": case["axis"]})
    sweep(_axis_cases(rng, 6), check, vary=("last_axis", "axis"), hints=AXIS_HINTS)


@pytest.mark.hint("dx = out * (dout - sum(dout * out)), the sum along `axis` with keepdims=True")
def test_softmax_matches_reference_along_every_axis(student, reference, rng):
    """Non-square shapes, so a softmax over the wrong axis cannot pass by accident."""
    L = reference("layers")

    def check(case):
        x, dout = random_array(rng, case["x"], 3.0), random_array(rng, case["x"])
        out, cache = L.softmax_forward(x, axis=case["axis"])
        check_layer(student, SM_F, SM_B, (x,), out, dout, [L.softmax_backward(dout, cache)], ["dx"],
                    kwargs={"axis": case["axis"]})
    sweep(_axis_cases(rng, 8), check, vary=("last_axis", "axis"), hints=AXIS_HINTS)


def test_softmax_default_axis_is_last(student, reference, rng):
    x, dout = random_array(rng, (2, 3, 4)), random_array(rng, (2, 3, 4))
    L = reference("layers")
    out, cache = L.softmax_forward(x)
    check_layer(student, SM_F, SM_B, (x,), out, dout, [L.softmax_backward(dout, cache)], ["dx"])


@pytest.mark.hint("dx = out * (dout - sum(dout * out)), the sum along `axis` with keepdims=True")
@pytest.mark.parametrize("axis", [1, -1])
def test_softmax_matches_torch_and_numerical_gradient(student, reference, rng, axis):
    x, dout = random_array(rng, (3, 5, 4), 2.0), random_array(rng, (3, 5, 4))
    out, (dx,) = torch_grads(lambda t: torch().softmax(t, dim=axis), [x], dout)
    check_layer(student, SM_F, SM_B, (x,), out, dout, [dx], ["dx"], kwargs={"axis": axis})
    num = numerical_grads(reference("layers").softmax_forward, [x], [0], dout, axis=axis)
    check_layer(student, SM_F, SM_B, (x,), out, dout, num, ["dx"], kwargs={"axis": axis},
                rtol=NUM_RTOL, atol=NUM_ATOL)


@pytest.mark.hint("subtract the max along `axis` before exp: exp(1e4) overflows")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_huge_logits_no_overflow(student, reference, rng, dtype):
    """Logits of magnitude 1e4: exp would overflow without the max shift."""
    x = (random_array(rng, (4, 6)) * 1e4).astype(dtype)
    x[0] = 1e4  # a row of ties at the top
    dout = random_array(rng, (4, 6), dtype=dtype)
    L = reference("layers")
    out, cache = L.softmax_forward(x.astype(np.float64))
    check_layer(student, SM_F, SM_B, (x,), out, dout, [L.softmax_backward(dout.astype(np.float64), cache)],
                ["dx"], rtol=F32_RTOL if dtype == np.float32 else 1e-6, atol=F32_ATOL if dtype == np.float32 else 1e-9,
                dtype=dtype)


def _ce_case(rng, N, C, scale=2.0, dtype=np.float64):
    return random_array(rng, (N, C), scale, dtype), rng.integers(0, C, size=N)


def _check_ce(student, logits, y, eps, loss, dlogits, rtol=1e-6, atol=1e-9, dtype=None):
    """eps = 0 is left to the default (label_smoothing=0.0), so the default is checked too."""
    got = parts(student.call(CE, logits, y, **({"label_smoothing": eps} if eps else {})), 2, CE_RETURN)
    close(got[0], float(loss), "loss", rtol=rtol, atol=atol)
    close(got[1], dlogits, "dlogits", rtol=rtol, atol=atol, dtype=dtype)


CE_HINTS = {"label_smoothing": "with label smoothing e the target is q = (1 - e) onehot(y) + e / C: the loss gains e "
                               "times the mean over classes of -log p, and dlogits = (softmax - q) / N"}


def _ce_cases(rng, n: int):
    """n random (N, C) problems (1 included) with each smoothing in turn and labels of
    several integer dtypes (the docstring asks for integers, not int64)."""
    eps, labels = (0.0, 0.1, 0.37), ("int64", "int32", "uint8")
    return [{"label_smoothing": eps[i % 3], "N": int(rng.integers(1, 7)), "C": int(rng.integers(1, 8)),
             "labels": labels[i % 3 if i < 3 else (i // 3) % 3]} for i in range(n)]


def _ce_arrays(rng, case):
    logits, y = _ce_case(rng, case["N"], case["C"])
    return logits, y.astype(case["labels"])


@pytest.mark.hint("the loss is the mean over N of (1 - e) (-log p_y) + e (mean over classes of -log p)")
def test_cross_entropy_loss_matches_reference(student, reference, rng):
    def check(case):
        logits, y = _ce_arrays(rng, case)
        eps = case["label_smoothing"]
        loss, _ = reference("layers").softmax_cross_entropy(logits, y, label_smoothing=eps)
        got = parts(student.call(CE, logits, y, label_smoothing=eps), 2, CE_RETURN)
        close(got[0], float(loss), "loss")
    sweep(_ce_cases(rng, 6), check, vary=("label_smoothing", "labels"), hints=CE_HINTS)


@pytest.mark.hint("dlogits = (softmax(logits) - q) / N, q the smoothed target (1 - e) onehot + e / C")
def test_cross_entropy_matches_reference(student, reference, rng):
    def check(case):
        logits, y = _ce_arrays(rng, case)
        eps = case["label_smoothing"]
        loss, dlogits = reference("layers").softmax_cross_entropy(logits, y, label_smoothing=eps)
        _check_ce(student, logits, y, eps, loss, dlogits)
    sweep(_ce_cases(rng, 8), check, vary=("label_smoothing", "labels"), hints=CE_HINTS)


@pytest.mark.hint("the loss is documented as a Python float: return float(...), not a NumPy scalar")
def test_cross_entropy_loss_is_a_python_float(student, rng):
    """loss is "a Python float" (the docstring), for float64 and float32 logits alike."""
    def check(case):
        logits, y = _ce_case(rng, 4, 3, dtype=np.dtype(case["dtype"]))
        got = parts(student.call(CE, logits, y, label_smoothing=case["label_smoothing"]), 2, CE_RETURN)
        expect_python_float(got[0], "loss")
    sweep([{"dtype": d, "label_smoothing": e} for d in ("float64", "float32") for e in (0.0, 0.1)], check)


@pytest.mark.hint("dlogits = (softmax(logits) - q) / N, q the smoothed target (1 - e) onehot + e / C")
@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_cross_entropy_matches_torch(student, rng, eps):
    logits, y = _ce_case(rng, 7, 5)
    t = torch()
    tl = t.tensor(logits, requires_grad=True)
    loss = t.nn.functional.cross_entropy(tl, t.tensor(y), label_smoothing=eps)
    loss.backward()
    _check_ce(student, logits, y, eps, loss.item(), tl.grad.numpy())


@pytest.mark.hint("dlogits = (softmax(logits) - q) / N, q the smoothed target (1 - e) onehot + e / C")
def test_cross_entropy_gradient_matches_numerical_gradient(student, reference, rng):
    logits, y = _ce_case(rng, 4, 6)
    L = reference("layers")
    loss, _ = L.softmax_cross_entropy(logits, y, label_smoothing=0.15)
    num = numerical_grad(lambda z: L.softmax_cross_entropy(z, y, label_smoothing=0.15)[0], logits, np.array(1.0))
    _check_ce(student, logits, y, 0.15, loss, num, rtol=NUM_RTOL, atol=NUM_ATOL)


@pytest.mark.hint("shift by the max, then log p = z - log(sum(exp(z))): log(softmax) takes log(0) once a probability "
                  "underflows")
@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_cross_entropy_huge_logits_finite(student, reference, rng, eps):
    """Logits of magnitude 1e4 (some rows with the label far below the max): finite, exact loss."""
    logits, y = _ce_case(rng, 6, 5, scale=1e4)
    loss, dlogits = reference("layers").softmax_cross_entropy(logits, y, label_smoothing=eps)
    _check_ce(student, logits, y, eps, loss, dlogits, rtol=1e-9, atol=1e-12)


@pytest.mark.hint(F32_HINT)
def test_cross_entropy_keeps_float32(student, reference, rng):
    logits, y = _ce_case(rng, 5, 4, dtype=np.float32)
    loss, dlogits = reference("layers").softmax_cross_entropy(logits.astype(np.float64), y, label_smoothing=0.1)
    _check_ce(student, logits, y, 0.1, loss, dlogits, rtol=F32_RTOL, atol=F32_ATOL, dtype=np.float32)


@pytest.mark.hint("work on copies: never write into x, logits or dout")
@pytest.mark.weight(0.5)
def test_softmax_and_cross_entropy_leave_inputs_unchanged(student, rng):
    """softmax_forward/backward never write into x or dout, nor cross-entropy into logits."""
    x, dout = random_array(rng, (3, 5), 3.0), random_array(rng, (3, 5))
    check_inputs_unchanged(student, SM_F, SM_B, (x,), dout, {"axis": 0})
    logits, y = _ce_case(rng, 4, 5)
    check_inputs_unchanged(student, CE, None, (logits, y), kwargs={"label_smoothing": 0.1})
