"""Fence parsing and stubbing, pinned by golden files."""
from pathlib import Path

import pytest

from vitlab.release.fences import FenceError, parse, render, task_owners

GOLDEN = Path(__file__).parent / "golden"
SOLUTION = (GOLDEN / "ops_solution.py").read_text()


def test_release_stubs_every_task_and_keeps_signature_docstring_and_hints():
    assert render(SOLUTION, "ops.py") == (GOLDEN / "ops_release.py").read_text()


def test_given_code_keeps_solutions_and_drops_markers_and_hidden_tests():
    assert render(SOLUTION, "ops.py", stub_tasks=set()) == (GOLDEN / "ops_given.py").read_text()


def test_isolated_variant_stubs_only_the_graded_task():
    out = render(SOLUTION, "ops.py", stub_tasks={"1.2"})
    assert "out = (alpha * x)" in out
    assert 'NotImplementedError("Task 1.2' in out and "Task 1.1" not in out


def test_rendered_stub_is_valid_python_that_raises_with_the_task_id():
    namespace: dict = {}
    exec(compile(render(SOLUTION, "ops.py"), "ops.py", "exec"), namespace)
    import numpy as np

    with pytest.raises(NotImplementedError, match=r"^Task 1\.1: multiply x by alpha$"):
        namespace["scale_forward"](np.ones((1, 1)), 2.0)
    with pytest.raises(ValueError, match=r"expected x of shape \(N, D\), got \(3,\)"):
        namespace["scale_forward"](np.ones(3), 2.0)


def test_task_owners_names_functions_and_methods():
    assert task_owners(SOLUTION, "ops.py") == {"scale_forward": "1.1", "Doubler.__call__": "1.2"}


@pytest.mark.parametrize(
    "source, line, words",
    [
        ("def f():\n    ### BEGIN SOLUTION Task 1.1: x\n    return 1\n", 2, "no matching END"),
        ("def f():\n    return 1\n    ### END SOLUTION\n", 3, "without a matching BEGIN"),
        ("def f():\n    ### BEGIN SOLUTION Task 1.1: x\n    ### BEGIN SOLUTION Task 1.1: y\n"
         "    ### END SOLUTION\n    ### END SOLUTION\n", 3, "cannot nest"),
        ("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n", 2, "must read"),
        ("def f():\n    ### BEGIN SOLUTION Task 1.1: x\n    ### END HIDDEN TESTS\n", 3, "closes"),
        ("def f():\n    ### BEGIN SOLUTON Task 1.1: x\n", 2, "malformed fence marker"),
    ],
)
def test_malformed_fences_name_file_and_line(source, line, words):
    with pytest.raises(FenceError, match=rf"^ops\.py:{line}: .*{words}"):
        parse(source, "ops.py")


def test_fence_outside_a_definition_is_an_error():
    with pytest.raises(FenceError, match=r"ops\.py:1: .*inside a function"):
        task_owners("### BEGIN SOLUTION Task 1.1: x\ny = 1\n### END SOLUTION\n", "ops.py")
