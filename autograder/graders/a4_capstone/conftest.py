"""Capstone graders: fixtures and the parametrisation that course.toml drives.

Each checkpoint of `[capstone.checkpoints.<name>]` becomes one test per threshold, marked
with its task (4.1-4.4), and one review test (instructor notes, skipped). Changing a
threshold is a course.toml edit, not a code edit.
"""
from __future__ import annotations

from pathlib import Path

import pytest

import a4_eval


def _settings(config) -> dict:
    return a4_eval.settings(a4_eval.session(config).job)


def pytest_generate_tests(metafunc):
    if "threshold_case" in metafunc.fixturenames:
        params = []
        for name, spec in _settings(metafunc.config)["checkpoints"].items():
            for thr in spec["thresholds"]:
                params.append(pytest.param((name, float(thr)), marks=a4_eval.task_mark(spec["task"]),
                                           id=f"{name}-{float(thr):g}"))
        metafunc.parametrize("threshold_case", params)
    if "review_case" in metafunc.fixturenames:
        metafunc.parametrize("review_case", [
            pytest.param(name, marks=a4_eval.task_mark(spec["task"]), id=name)
            for name, spec in _settings(metafunc.config)["checkpoints"].items()])


@pytest.fixture
def job(request):
    return a4_eval.session(request.config).job


@pytest.fixture
def capstone(job) -> dict:
    """The graded course's [capstone] settings."""
    return a4_eval.settings(job)


@pytest.fixture
def submission(job) -> Path:
    """The staged submission (read-only to the student's code; read here only as data)."""
    return Path(job.submission)
