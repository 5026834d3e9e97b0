"""Tasks 4.1-4.4: a submitted checkpoint, as the course's own ViT / ConViT, evaluated on the
full official test set; one test per accuracy threshold in course.toml [capstone].

No student code runs here. The checkpoint is read with safetensors, bounded (a4_files); the
model is the kit's Assignment 3 architecture built from the validated config.json, with the
weights loaded strictly (a4_model); accuracy is computed in this process. The evaluation runs
once per checkpoint and every threshold test of that checkpoint reuses its outcome (an error
fails all of them). A last test per checkpoint writes the instructor's review notes (the
provenance and the training-slice comparison) to grader.log and is skipped, so it never
counts towards the score and the student never sees it.
"""
from __future__ import annotations

import time

import numpy as np
import pytest

import a4_eval
import a4_model
from autograder.engine import leaderboard
from autograder.engine.checks import GradingFailure

_RESULTS: dict = {}


def _evaluate(reference, job, cap, submission, name) -> dict:
    spec = cap["checkpoints"][name]
    ck = a4_eval.read_checkpoint(submission, cap, name)
    cfg = a4_model.check_config(ck.config, spec, ck.where, reference)
    model = a4_model.build(cfg, ck.tensors, ck.where, reference, int(cap.get("max_params", 10_000_000)))
    test = a4_eval.load_split(job, cap, spec["dataset"], "test")
    n_train = int(cap.get("train_slice", 0))
    train = a4_eval.load_split(job, cap, spec["dataset"], "train", first=n_train) if n_train else None
    bs, threads, budget = int(cap.get("eval_batch_size", 500)), a4_model.threads_for(cap, job), float(spec["budget_s"])
    total = len(test.y) + (len(train.y) if train else 0)
    deadline = time.monotonic() + budget * total / max(len(test.y), 1)
    pred = a4_model.predictions(model, test.x, spec["dataset"], bs, threads, deadline, "test images", ck.where)
    out = {"test": a4_eval.accuracy(pred, test.y), "n_test": len(test.y), "label": test.label,
           "train": None, "n_train": 0, "where": ck.where,
           "params": sum(p.numel() for p in model.parameters())}
    if train is not None:
        pred = a4_model.predictions(model, train.x, spec["dataset"], bs, threads, deadline,
                                    "training-slice images", ck.where)
        out.update(train=a4_eval.accuracy(pred, train.y), n_train=len(train.y))
    return out


def _outcome(reference, job, capstone, submission, name):
    key = (job.submission, name)
    if key not in _RESULTS:
        try:
            _RESULTS[key] = ("ok", _evaluate(reference, job, capstone, submission, name))
        except Exception as e:  # noqa: BLE001 - replayed for every threshold of this checkpoint
            _RESULTS[key] = ("error", e)
    return _RESULTS[key]


def test_checkpoint_accuracy(threshold_case, reference, job, capstone, submission):
    """The checkpoint reaches this threshold of test accuracy (percent)."""
    name, threshold = threshold_case
    kind, value = _outcome(reference, job, capstone, submission, name)
    if kind == "error":
        raise value
    acc = value["test"]
    if not np.isfinite(acc) or acc < threshold:
        raise GradingFailure(f"{name}: test accuracy {acc:.2f}% on {value['n_test']:,} images ({value['label']}) "
                             f"is below the {threshold:g}% threshold")


def test_review(review_case, request, reference, job, capstone, submission):
    """Instructor only: provenance and training-slice notes go to grader.log; always skipped."""
    kind, value = _outcome(reference, job, capstone, submission, review_case)
    if kind == "ok":
        prov = a4_eval.read_provenance(submission, value["where"])
        notes = a4_eval.review_notes(review_case, value, prov, capstone)
        leaderboard.record(a4_eval.session(request.config), review_case, value["test"], value["params"])
    else:
        notes = [f"{review_case}: not evaluated ({type(value).__name__})"]
    record = a4_eval.session(request.config).records.get(request.node.nodeid)
    if record is not None:
        record.internal = "\n".join(notes)
    pytest.skip("instructor review")
