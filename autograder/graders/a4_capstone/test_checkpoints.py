"""Tasks 4.1-4.4: a submitted checkpoint, built with the student's own models.py, evaluated on
the full official test set; one test per accuracy threshold in course.toml [capstone].

The checkpoint is read here with safetensors (never unpickled), checked, and sent to the
sandbox as tensors; test images go in, logits come out, and accuracy is computed here
against labels that never enter the sandbox. The evaluation runs once per checkpoint and
every threshold test of that checkpoint reuses its outcome (an error fails all of them).
"""
from __future__ import annotations

import numpy as np

import a4_eval
from autograder.engine.checks import GradingFailure

_RESULTS: dict = {}


def _evaluate(student, job, cap, submission, name) -> tuple[float, int, str]:
    spec = cap["checkpoints"][name]
    ck = a4_eval.read_checkpoint(submission, cap, name)
    a4_eval.check_checkpoint(ck, spec)
    test = a4_eval.load_split(job, cap, spec["dataset"], "test")
    pred = a4_eval.sandbox_predictions(student, ck.config, ck.tensors, test.x, spec["dataset"], cap,
                                       float(spec["budget_s"]), ck.where)
    return a4_eval.accuracy(pred, test.y), len(test.y), test.label


def test_checkpoint_accuracy(threshold_case, student, job, capstone, submission):
    """The checkpoint reaches this threshold of test accuracy (percent)."""
    name, threshold = threshold_case
    key = (job.submission, name)
    if key not in _RESULTS:
        try:
            _RESULTS[key] = ("ok", _evaluate(student, job, capstone, submission, name))
        except Exception as e:  # noqa: BLE001 - replayed for every threshold of this checkpoint
            _RESULTS[key] = ("error", e)
    kind, value = _RESULTS[key]
    if kind == "error":
        raise value
    acc, n, label = value
    if not np.isfinite(acc) or acc < threshold:
        raise GradingFailure(f"{name}: test accuracy {acc:.2f}% on {n:,} images ({label}) is below "
                             f"the {threshold:g}% threshold")
