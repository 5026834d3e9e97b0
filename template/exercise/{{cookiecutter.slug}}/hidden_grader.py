"""Hidden grader for task {{ cookiecutter.task_id }}: {{ cookiecutter.title }}.

Runs in the trusted process; the student's code is reached only through `student`.
"""
import numpy as np
import pytest

from autograder.engine.checks import expect_close

pytestmark = pytest.mark.{{ cookiecutter.__marker }}

FORWARD = "{{ cookiecutter.module }}.{{ cookiecutter.function_name }}_forward"
BACKWARD = "{{ cookiecutter.module }}.{{ cookiecutter.function_name }}_backward"


@pytest.mark.parametrize("shape, dtype, rtol", [((7,), np.float64, 1e-12), ((2, 3, 4), np.float64, 1e-12),
                                                ((2, 17, 8), np.float32, 1e-6)])
def test_forward_matches_reference(student, reference, rng, shape, dtype, rtol):
    x = rng.standard_normal(shape).astype(dtype)  # (N, ...)
    out, _ = student.call(FORWARD, x, alpha=0.2)
    expected, _ = reference("{{ cookiecutter.module }}").{{ cookiecutter.function_name }}_forward(x, alpha=0.2)
    expect_close(out, expected, name="out", rtol=rtol)


def test_backward_matches_reference(student, reference, rng):
    """The backward pass alone: the cache comes from the reference forward."""
    ref = reference("{{ cookiecutter.module }}")
    x = rng.standard_normal((4, 5, 3))  # (N, T, D)
    dout = rng.standard_normal(x.shape)
    _, cache = ref.{{ cookiecutter.function_name }}_forward(x, alpha=0.3)
    dx = student.call(BACKWARD, dout, cache)
    expect_close(dx, ref.{{ cookiecutter.function_name }}_backward(dout, cache), name="dx", rtol=1e-12)
