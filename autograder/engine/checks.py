"""Strict comparisons for hidden graders.

Every check raises `GradingFailure` with a message a student may read: what was
expected and what came back (type, shape, dtype, the largest relative error and where),
never the expected values themselves. Checks run in the trusted process on values that
crossed the sandbox boundary, so a returned value is always a real plain ndarray or
torch Tensor, a Python scalar or an opaque `Handle` (anything else, including
subclasses), and no student code runs while comparing.
"""
from __future__ import annotations

import math

import numpy as np

from autograder.engine.inside.wire import Handle


class GradingFailure(AssertionError):
    """A check failed. `str(e)` is shown to the student; `hint` is an optional nudge;
    `credit` is the share of the check that passed (a `sweep` whose cases partly passed)."""

    def __init__(self, message: str, hint: str | None = None, credit: float = 0.0):
        super().__init__(message)
        self.message, self.hint = message, hint
        self.credit = min(max(float(credit), 0.0), 1.0)

    def __str__(self) -> str:
        return self.message


def _dt(dtype) -> str:
    """A dtype as a message may show it: structured dtypes carry student-chosen field names."""
    text = str(dtype)
    return text if len(text) <= 24 and text.replace("torch.", "").isalnum() else "a structured or unusual dtype"


def _shape(shape) -> str:
    shape = tuple(shape)
    return str(shape) if len(shape) <= 8 else f"a {len(shape)}-dimensional shape"


def describe(value) -> str:
    """A short, value-free description of what came back."""
    if isinstance(value, Handle):
        if value.subclass_of:
            return f"a {value.type_name} (a subclass of {value.subclass_of}, which is not accepted)"
        return f"a {value.type_name} object"
    if type(value) is np.ndarray:
        return f"numpy.ndarray of shape {_shape(value.shape)} and dtype {_dt(value.dtype)}"
    torch = _torch()
    if torch is not None and type(value) is torch.Tensor:
        return f"torch.Tensor of shape {_shape(value.shape)} and dtype {_dt(value.dtype)}"
    if isinstance(value, np.generic):
        return f"numpy scalar of dtype {_dt(value.dtype)}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of length {len(value)}"
    return f"a {type(value).__name__}"


def _torch():
    import sys
    return sys.modules.get("torch")


def _is_tensor(value) -> bool:
    torch = _torch()
    return torch is not None and type(value) is torch.Tensor


def _kind(value) -> str:
    return "torch.Tensor" if _is_tensor(value) else "numpy.ndarray"


def expect_array(value, shape=None, dtype=None, name: str = "output", kind: str | None = None,
                 finite: bool = True, hint: str | None = None):
    """Check that `value` is a plain ndarray (or torch Tensor when kind="torch"), with the
    given shape and dtype, all finite. `shape` may use None for "any size here".
    Returns the value so calls can be chained."""
    want = {"numpy": "numpy.ndarray", "torch": "torch.Tensor", None: None}[kind]
    got_ok = type(value) is np.ndarray or _is_tensor(value)
    if not got_ok or (want is not None and _kind(value) != want):
        raise GradingFailure(f"{name}: expected a {want or 'numpy.ndarray'}, got {describe(value)}", hint)
    if shape is not None:
        shape = tuple(shape)
        got = tuple(value.shape)
        if len(got) != len(shape) or any(s is not None and s != g for s, g in zip(shape, got)):
            want_s = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
            raise GradingFailure(f"{name}: expected shape {want_s}, got shape {_shape(got)}", hint)
    if dtype is not None and not _dtype_matches(value, dtype):
        raise GradingFailure(f"{name}: expected dtype {_dtype_name(dtype)}, got dtype {_dt(value.dtype)}", hint)
    if finite:
        bad = _nonfinite(value)
        if bad is not None:
            count, where = bad
            raise GradingFailure(f"{name}: {count} non-finite value(s) (NaN or Inf), first at index {where}",
                                 hint or "look for a division by zero, log(0) or an overflowing exp")
    return value


def _dtype_name(dtype) -> str:
    return str(dtype) if not isinstance(dtype, type) else np.dtype(dtype).name


def _dtype_matches(value, dtype) -> bool:
    if _is_tensor(value):
        torch = _torch()
        if isinstance(dtype, torch.dtype):
            return value.dtype == dtype
        return str(value.dtype).replace("torch.", "") == np.dtype(dtype).name
    try:
        return value.dtype == np.dtype(dtype)
    except TypeError:
        return False


def _as_numpy(value) -> np.ndarray:
    if _is_tensor(value):
        return value.detach().cpu().numpy()
    return value


def _nonfinite(value):
    a = _as_numpy(value)
    if a.dtype.kind not in "fc":
        return None
    mask = ~np.isfinite(a)
    if not mask.any():
        return None
    return int(mask.sum()), tuple(int(i) for i in np.argwhere(mask)[0])


def expect_close(value, expected, rtol: float = 1e-6, atol: float = 0.0, name: str = "output",
                 dtype=None, hint: str | None = None):
    """Check type, shape, dtype (that of `expected` unless given), finiteness, then
    |value - expected| <= atol + rtol * |expected| everywhere. Scalars are compared as
    Python numbers (a bool is not a number here)."""
    if _is_scalar(expected):
        return _expect_scalar(value, expected, rtol, atol, name, hint)
    kind = "torch" if _is_tensor(expected) else "numpy"
    exp = _as_numpy(expected)
    want_dtype = dtype if dtype is not None else (expected.dtype if kind == "torch" else exp.dtype)
    expect_array(value, shape=exp.shape, dtype=want_dtype, name=name, kind=kind, hint=hint)
    got = _as_numpy(value)
    if exp.dtype.kind not in "fc":
        diff = np.argwhere(got != exp)
        if len(diff):
            raise GradingFailure(f"{name}: {len(diff)} of {exp.size} entries differ, first at index "
                                 f"{tuple(int(i) for i in diff[0])}", hint)
        return value
    err = np.abs(got.astype(np.complex128 if exp.dtype.kind == "c" else np.float64) - exp)
    tol = atol + rtol * np.abs(exp)
    bad = err > tol
    if bad.any():
        rel = err / np.maximum(np.abs(exp), np.finfo(np.float64).tiny)
        worst = np.unravel_index(int(np.argmax(np.where(bad, rel, -1))), exp.shape)
        raise GradingFailure(
            f"{name}: {int(bad.sum())} of {exp.size} entries are off; max relative error "
            f"{float(rel[worst]):.3g} at index {tuple(int(i) for i in worst)} "
            f"(allowed: rtol={rtol:g}, atol={atol:g})", hint)
    return value


def _is_scalar(x) -> bool:
    return type(x) in (int, float) or isinstance(x, np.generic) and x.shape == ()


def _expect_scalar(value, expected, rtol, atol, name, hint):
    """A real number: a Python int or float, or a NumPy integer or floating scalar; never a
    bool, complex, object or string, and an int must fit in a float."""
    real = type(value) in (int, float) or type(value).__module__ == "numpy" and \
        isinstance(value, (np.integer, np.floating)) and not isinstance(value, np.timedelta64)
    # (np.timedelta64 subclasses np.signedinteger: a duration is not a number of the layer's)
    if not real:
        raise GradingFailure(f"{name}: expected a real number, got {describe(value)}", hint)
    try:
        v, e = float(value), float(expected)
    except OverflowError:
        raise GradingFailure(f"{name}: got an integer too large for a float", hint) from None
    if not math.isfinite(v):
        raise GradingFailure(f"{name}: got a non-finite number ({v})",
                             hint or "look for a division by zero, log(0) or an overflowing exp")
    if abs(v - e) > atol + rtol * abs(e):
        rel = abs(v - e) / max(abs(e), 1e-300)
        raise GradingFailure(f"{name}: relative error {rel:.3g} (allowed: rtol={rtol:g}, atol={atol:g})", hint)
    return value


def expect_equal(value, expected, name: str = "output", hint: str | None = None):
    """Exact equality for ints, strings, bools, None and tuples/lists of them (exact types)."""
    if type(value) is not type(expected):
        raise GradingFailure(f"{name}: expected a {type(expected).__name__}, got {describe(value)}", hint)
    if isinstance(expected, (list, tuple)):
        if len(value) != len(expected):
            raise GradingFailure(f"{name}: expected length {len(expected)}, got length {len(value)}", hint)
        for i, (v, e) in enumerate(zip(value, expected)):
            expect_equal(v, e, name=f"{name}[{i}]", hint=hint)
        return value
    if value != expected:
        raise GradingFailure(f"{name}: wrong value", hint)
    return value


def expect_handle(value, type_name: str | None = None, name: str = "output", hint: str | None = None):
    """Check that an opaque object came back (optionally of a given class name)."""
    if not isinstance(value, Handle) or value.subclass_of:
        raise GradingFailure(f"{name}: expected an object, got {describe(value)}", hint)
    if type_name is not None and value.type_name.split(".")[-1] != type_name:
        raise GradingFailure(f"{name}: expected a {type_name}, got a {value.type_name}", hint)
    return value


def same_bytes(before, after) -> bool:
    """Two files' raw bytes, as uint8 arrays from the sandbox, are equal: judged here, never
    taken as a flag computed where student code runs."""
    return all(type(b) is np.ndarray and b.dtype == np.uint8 and b.ndim == 1 for b in (before, after)) \
        and before.shape == after.shape and bool(np.array_equal(before, after))


def listing_excerpt(listing, limit: int = 5) -> str:
    """A short excerpt of a folder listing the student's code made, for a message."""
    if not isinstance(listing, list):
        return "(not a listing)"
    shown = ", ".join(str(n)[:40] for n in listing[:limit])
    return f"[{shown}{', ...' if len(listing) > limit else ''}]"


# ---- case sweeps ---------------------------------------------------------------------------
SWEEP_MESSAGE = 560    # characters: the session cuts a failure's message at 600
_VALUES_SHOWN = 6      # values of one parameter named in a pattern
_CASES_SHOWN = 3       # failing cases listed when no single parameter explains them
# a student error that ends the worker (or the task) speaks for every later case: raised at once
_FATAL_TYPES = ("ProcessExited", "Killed")


def sweep(cases, check, vary=None, hints: dict | None = None, hint: str | None = None) -> None:
    """Run `check(case)` for every case, then fail once if any case failed, naming the
    pattern: "fails for padding=1, 2; passes for padding=0 (6 of 9 cases failed)", the
    first failing case's parameters and that case's own message (value-free, as every
    check's), bounded in size. The failure carries the share of cases that passed as
    partial credit.

    cases: dicts of the parameters that define each case, as a student may read them
      (ints, strings, shapes as tuples, dtypes): the grader's settings, never data.
    check: raises GradingFailure (or the student's code raises) when its case fails.
    vary: the parameters the pattern is told in (default: every one that takes more than
      one value across the cases); fixed shapes or random sizes are named with the case only.
    hints: {parameter: hint} for when the failing cases are told apart by that parameter
      alone; otherwise the failing case's own hint, else a hint naming the parameter, else
      `hint` (None: the test's hint marker)."""
    from autograder.engine.student import StudentError

    cases = [dict(c) for c in cases]
    outcomes: list[BaseException | None] = []
    for case in cases:
        try:
            check(case)
            outcomes.append(None)
        except GradingFailure as e:
            outcomes.append(e)
        except StudentError as e:
            if e.kind != "error" or e.type in _FATAL_TYPES:
                raise           # not implemented, timeout, memory, tampering: the whole check's status
            outcomes.append(e)
    failed = [o is not None for o in outcomes]
    if not any(failed):
        return
    first = next(o for o in outcomes if o is not None)
    if all(isinstance(o, StudentError) for o in outcomes):
        raise first             # the code fails on every case: its error says it as it is
    pattern, explained = case_pattern(cases, failed, vary)
    head = f"{pattern} ({sum(failed)} of {len(cases)} cases failed)"
    where = f"first failing case: {case_text(cases[failed.index(True)])}"
    detail = _case_message(first)
    room = SWEEP_MESSAGE - len(head) - len(where) - 2
    if len(detail) > room:
        detail = detail[:max(room - 4, 0)].rstrip() + " ..."
    own = getattr(first, "hint", None)
    if explained:
        names = [k for k, _, _ in explained]
        chosen = next((hints[k] for k in names if hints and hints.get(k)), None)
        fails = "; ".join(f"{k}={_values(f)}" for k, f, _ in explained)
        chosen = chosen or own or (f"only cases with {fails} fail: look at what your code does with "
                                   f"{' and '.join(names)}")
    else:
        chosen = own or hint
    raise GradingFailure("\n".join(x for x in (head, where, detail) if x), chosen,
                         credit=failed.count(False) / len(cases))


def case_text(case: dict, keys=None) -> str:
    """"x=(2, 3, 7, 9), stride=1, padding=1": a case as feedback names it."""
    keys = list(case) if keys is None else keys
    return ", ".join(f"{k}={_value(case.get(k))}" for k in keys)


def case_pattern(cases: list[dict], failed: list[bool], vary=None) -> tuple[str, list]:
    """Which values of which parameter fail and which pass: ("fails for padding=1, 2; passes
    for padding=0", [("padding", [1, 2], [0])]) when the cases of each value of a parameter
    all fail or all pass; else, when one parameter alone has values whose cases all pass,
    "fails only for padding=1, 2 (5 of their 6 cases); passes for padding=0"; otherwise the
    failing cases by their varying parameters, or "fails for every case" with the values tried."""
    if vary is None:
        vary = [k for k in cases[0] if len({_value(c.get(k)) for c in cases}) > 1]
    vary = list(vary)
    explained, partly = [], []
    for k in vary:
        by: dict[str, list] = {}
        for c, f in zip(cases, failed):
            entry = by.setdefault(_value(c.get(k)), [c.get(k), 0, 0])
            entry[1] += f
            entry[2] += 1
        fail_v = [v for v, n, t in by.values() if n == t]
        pass_v = [v for v, n, t in by.values() if n == 0]
        some_v = [v for v, n, t in by.values() if n]
        if fail_v and pass_v and len(fail_v) + len(pass_v) == len(by):
            explained.append((k, _sorted(fail_v), _sorted(pass_v)))
        elif pass_v and some_v:     # every failure among these values, though not every case of them
            among = sum(t for _, n, t in by.values() if n)
            partly.append((k, _sorted(some_v), _sorted(pass_v), among))
    if explained:
        text = "; ".join(f"fails for {k}={_values(f)}; passes for {k}={_values(p)}" for k, f, p in explained[:2])
        return text, explained[:2]
    if len(partly) == 1:        # one parameter bounds the failures (with two, the cases say it better)
        k, f, p, n = partly[0]
        return f"fails only for {k}={_values(f)} ({sum(failed)} of their {n} cases); passes for {k}={_values(p)}", \
            [(k, f, p)]
    if all(failed):
        tried = "; ".join(f"{k}={_values(_sorted(list({_value(c.get(k)): c.get(k) for c in cases}.values())))}"
                          for k in vary)
        return "fails for every case" + (f" ({tried})" if tried else ""), []
    bad = [f"({case_text(c, vary)})" for c, f in zip(cases, failed) if f]
    more = f" and {len(bad) - _CASES_SHOWN} more" if len(bad) > _CASES_SHOWN else ""
    return f"fails for {', '.join(bad[:_CASES_SHOWN])}{more}; passes for the other {failed.count(False)}", []


def _case_message(e: BaseException) -> str:
    """The failing case's own message: a check's, or the student's error in one line with
    where it was raised (the traceback's last frame in the student's files, no source line)."""
    if isinstance(e, GradingFailure):
        return e.message
    target = getattr(e, "target", "")
    text = f"{getattr(e, 'type', 'error')}{f' in {target}' if target else ''}: {getattr(e, 'message', '')}"
    text = text.splitlines()[0] if text.strip() else "error"
    frames = [ln.strip() for ln in str(getattr(e, "traceback", "") or "").splitlines()
              if ln.strip().startswith("File ")]
    if frames:
        text += f" ({frames[-1].replace('File ', '', 1)})"
    return text


def _value(v) -> str:
    if isinstance(v, np.dtype) or isinstance(v, type):
        text = getattr(v, "__name__", None) or str(v)
    elif isinstance(v, float):
        text = f"{v:g}"
    elif isinstance(v, (tuple, list)):
        text = "(" + ", ".join(_value(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    else:
        text = str(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _sorted(values: list) -> list:
    try:
        return sorted(values, key=lambda v: (v is None, v))
    except TypeError:
        return list(values)


def _values(values: list) -> str:
    shown = ", ".join(_value(v) for v in values[:_VALUES_SHOWN])
    return shown + (", ..." if len(values) > _VALUES_SHOWN else "")
