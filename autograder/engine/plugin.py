"""pytest plugin for hidden graders (`-p autograder.engine.plugin`): the `student`,
`reference` and `rng` fixtures. The per-student state lives in a `GradingSession`
that the runner registers next to this plugin (see runner.py).
"""
from __future__ import annotations

import numpy as np
import pytest

from autograder.engine.session import GradingSession, seed_for
from autograder.engine.student import Student


def _session(config) -> GradingSession:
    for plugin in config.pluginmanager.get_plugins():
        if isinstance(plugin, GradingSession):
            return plugin
    raise pytest.UsageError("hidden graders run through the grading engine: "
                            "python -m autograder grade --help")


@pytest.fixture
def student(request) -> Student:
    """The student's code for this test's task, in its sandbox (see CONTRIBUTING.md)."""
    session = _session(request.config)
    task = session.task_of(request.node)
    if task is None:
        raise pytest.UsageError(f"{request.node.nodeid}: a test using `student` needs a task marker")
    return Student(session.worker(task))


@pytest.fixture
def reference(request):
    """`reference("layers")` imports a reference module (solutions/<assignment>/layers.py)
    in the trusted process."""
    return _session(request.config).reference


@pytest.fixture
def rng(request) -> np.random.Generator:
    """A NumPy Generator seeded from the test's id: the same inputs on every run."""
    return np.random.default_rng(seed_for(request.node.nodeid))
