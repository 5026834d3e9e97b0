"""Tasks 4.1-4.4: a submitted checkpoint, as the course's own ViT / ConViT, evaluated on the
full official test set; one test per accuracy threshold in course.toml [capstone].

No student code runs here. The checkpoint is read with safetensors, bounded (a4_files); the
model is the kit's Assignment 3 architecture built from the validated config.json, with the
weights loaded strictly (a4_model); accuracy is computed in this process, in batches sized
from the memory budget and under a hard memory bound (a4_memory). The evaluation runs once
per checkpoint (a4_run) and every threshold test of that checkpoint reuses its outcome (an
error fails all of them). A checkpoint whose accuracy on held-out images drawn at grading
time does not agree with its test accuracy (a4_holdout) is held for review: every threshold
test gets status `review` and 0 points until the instructor's override. A last test per
checkpoint writes the instructor's review notes (the numbers and the provenance) to
grader.log and is skipped, so it never counts towards the score and the student never sees it.
"""
from __future__ import annotations

import numpy as np
import pytest

import a4_eval
import a4_run
from autograder.engine import leaderboard
from autograder.engine.checks import GradingFailure

_RESULTS: dict = {}


def _outcome(reference, job, capstone, submission, name):
    key = (job.submission, name)
    if key not in _RESULTS:
        try:
            _RESULTS[key] = ("ok", a4_run.evaluate(reference, job, capstone, submission, name))
        except Exception as e:  # noqa: BLE001 - replayed for every threshold of this checkpoint
            _RESULTS[key] = ("error", e)
    return _RESULTS[key]


def test_checkpoint_accuracy(threshold_case, request, reference, job, capstone, submission):
    """The checkpoint reaches this threshold of test accuracy (percent)."""
    name, threshold = threshold_case
    kind, value = _outcome(reference, job, capstone, submission, name)
    if kind == "error":
        raise value
    if value["disagree"]:
        a4_eval.hold_for_review(request, name)
    acc = value["test"]
    if not np.isfinite(acc) or acc < threshold:
        raise GradingFailure(f"{name}: test accuracy {acc:.2f}% on {value['n_test']:,} images ({value['label']}) "
                             f"is below the {threshold:g}% threshold")


def test_review(review_case, request, reference, job, capstone, submission):
    """Instructor only: the measured accuracies and provenance notes go to grader.log; always skipped."""
    kind, value = _outcome(reference, job, capstone, submission, review_case)
    if kind == "ok":
        prov = a4_eval.read_provenance(submission, value["where"])
        notes = a4_eval.review_notes(review_case, value, prov, capstone)
        if not value["disagree"]:       # a checkpoint held for review has no place there yet
            leaderboard.record(a4_eval.session(request.config), review_case, value["test"], value["params"])
    else:
        notes = [f"{review_case}: not evaluated ({type(value).__name__})"]
    record = a4_eval.session(request.config).records.get(request.node.nodeid)
    if record is not None:
        record.internal = "\n".join(notes)
    pytest.skip("instructor review")
