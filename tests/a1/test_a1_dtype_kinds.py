"""No a1 check gives credit to an output of the wrong dtype kind: a complex array (even with
zero imaginary parts), an object array (it crosses the sandbox as a handle), an integer or
bool array, or a Python int where a float is documented. Hostile values against the graders'
comparison helpers (a1_helpers.py), then a hostile submission graded for real."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from autograder.engine.checks import GradingFailure
from autograder.engine.inside.wire import Handle

ROOT = Path(__file__).resolve().parents[2]
GRADERS = ROOT / "autograder" / "graders" / "a1_numpy_layers"
A1 = ROOT / "solutions" / "a1_numpy_layers"


@pytest.fixture(scope="module")
def h():
    spec = importlib.util.spec_from_file_location("_a1_helpers_under_test", GRADERS / "a1_helpers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EXPECTED = np.array([[1.0, -2.0], [0.5, 3.0]])
HOSTILE = {
    "complex, zero imaginary part": EXPECTED.astype(np.complex128),
    "complex64": EXPECTED.astype(np.complex64),
    "object array (a handle)": Handle(7, "numpy.ndarray"),
    "int array": np.array([[1, -2], [0, 3]]),
    "bool array": EXPECTED > 0,
}


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_close_refuses_a_float_result_of_another_kind(h, kind):
    with pytest.raises(GradingFailure) as e:
        h.close(HOSTILE[kind], EXPECTED, "out", rtol=1e9, atol=1e9)   # any value would pass the tolerance
    assert "out:" in str(e.value) and "floating-point" in str(e.value)
    assert "3.0" not in str(e.value) and "[[" not in str(e.value)     # no expected value in the message


@pytest.mark.parametrize("value", [2, True, 2 + 0j, np.complex128(2.0), np.int64(2), np.array(2.0 + 0j)])
def test_close_refuses_a_float_scalar_of_another_kind(h, value):
    with pytest.raises(GradingFailure, match="floating-point"):
        h.close(value, 2.0, "loss", rtol=1e9, atol=1e9)


def test_close_still_takes_floats(h):
    h.close(EXPECTED.copy(), EXPECTED, "out")
    h.close(EXPECTED.astype(np.float32), EXPECTED, "out", rtol=1e-6, dtype=np.float32)
    h.close(2.0, 2.0, "loss")
    h.close(np.float64(2.0), 2.0, "loss")


@pytest.mark.parametrize("value", [np.float64(0.5), np.float32(0.5), 0, np.array(0.5)])
def test_a_documented_python_float_is_a_python_float(h, value):
    with pytest.raises(GradingFailure):
        h.expect_python_float(value, "loss")
    assert h.expect_python_float(0.5, "loss") == 0.5


class _Student:
    """Answers a grader's calls the way the sandbox would, with chosen values."""

    def __init__(self, out, grad):
        self.out, self.grad = out, grad

    def call(self, name, *args, **kwargs):
        if name == "harness:a1.inputs_after":
            _, _, dout, *inputs = args
            return list(inputs), dout, (self.grad,), (self.grad,)
        return self.out, None


@pytest.mark.parametrize("which", ["out", "gradient"])
@pytest.mark.parametrize("kind", ["complex, zero imaginary part", "object array (a handle)", "int array"])
def test_inputs_unchanged_earns_nothing_next_to_outputs_of_another_kind(h, which, kind):
    """Code that returns garbage leaves its inputs alone too: the check must not pay for that."""
    x = EXPECTED.copy()
    out, grad = (HOSTILE[kind], x.copy()) if which == "out" else (x.copy(), HOSTILE[kind])
    with pytest.raises(GradingFailure, match="floating-point"):
        h.check_inputs_unchanged(_Student(out, grad), "conv.maxpool2d_forward", "conv.maxpool2d_backward", (x,),
                                 x.copy())
    h.check_inputs_unchanged(_Student(x.copy(), x.copy()), "conv.maxpool2d_forward", "conv.maxpool2d_backward",
                             (x,), x.copy())


HOSTILE_EDITS = {
    # Task 1.7 (MaxPool2d): object arrays out of the forward and the backward, the cache intact
    "conv.py": [("    cache = (x.shape, k, s, argmax)\n    return out, cache",
                 "    cache = (x.shape, k, s, argmax)\n    return out.astype(object), cache"),
                ("    ### END SOLUTION\n    return dx\n", "    ### END SOLUTION\n    return dx.astype(object)\n")],
    # Task 1.8 (Gradient checking): complex results with the right real parts, everywhere
    "gradcheck.py": [("    return error\n", "    return complex(error)\n"),
                     ("    ### END SOLUTION\n    return grad\n", "    ### END SOLUTION\n    return grad.astype(complex)\n")],
}


@pytest.mark.slow
def test_hostile_kinds_earn_nothing_when_graded(tmp_path):
    """A submission whose Task 1.7 returns object arrays and whose Task 1.8 returns complex
    values (right real parts) scores 0 in both: no check pays for them."""
    from autograder.engine.grade import grade_all

    folder = tmp_path / "subs" / "hostile"
    folder.mkdir(parents=True)
    for file, edits in HOSTILE_EDITS.items():
        text = (A1 / file).read_text(encoding="utf-8")
        for old, new in edits:
            assert old in text, (file, old)
            text = text.replace(old, new)
        (folder / file).write_text(text, encoding="utf-8")
    grade_all("a1", tmp_path / "subs", tmp_path / "out", workers=1)
    tasks = {t["task"]: t for t in json.loads((tmp_path / "out" / "hostile" / "results.json").read_text())
             ["extra_data"]["tasks"]}
    assert tasks["1.7"]["score"] == 0 and tasks["1.8"]["score"] == 0, \
        {t: (tasks[t]["score"], tasks[t]["message"][:200]) for t in ("1.7", "1.8")}
