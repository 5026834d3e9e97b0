"""One checkpoint's evaluation, from the submitted files to the measured accuracies.

Read and validate the files (a4_eval, a4_files), build the course's own model (a4_model),
choose the batch size from the memory budget (a4_memory), then measure accuracy on the
official test set and on the held-out images drawn for this evaluation (a4_holdout), all
within one time budget and one memory bound. Called once per checkpoint by
test_checkpoints.py; every threshold test of the checkpoint reuses the result.
"""
from __future__ import annotations

import time

import a4_eval
import a4_holdout
import a4_memory
import a4_model

# what each image set is called in messages and notes
TEST, TRAIN, SHIFTED = "test images", "training images drawn at grading time", "shifted test copies"


def evaluate(reference, job, cap: dict, submission, name: str) -> dict:
    """{"test": %, "n_test", "label", "held": {what: (%, n, margin)}, "disagree": [phrases],
    "where", "params", "batch"} for checkpoint `name`; StudentError / GradingFailure for a bad one."""
    spec = cap["checkpoints"][name]
    ck = a4_eval.read_checkpoint(submission, cap, name)
    cfg = a4_model.check_config(ck.config, spec, ck.where, reference)
    model = a4_model.build(cfg, ck.tensors, ck.where, reference, int(cap.get("max_params", 10_000_000)))
    batch = a4_memory.batch_size(cfg, cap, ck.where)
    hold = a4_holdout.settings(cap, spec)
    sets = _image_sets(job, cap, spec, hold)
    test = sets[0][1]
    # budget_s is for the test set; the held-out images get the same time per image
    deadline = time.monotonic() + float(spec["budget_s"]) * sum(len(s.y) for _, s in sets) / max(len(test.y), 1)
    threads = a4_model.threads_for(cap, job)
    acc = {}
    with a4_memory.bounded(cap, a4_model.device_kind(), ck.where):
        for what, split in sets:
            pred = a4_model.predictions(model, split.x, spec["dataset"], batch, threads, deadline, what, ck.where)
            acc[what] = (a4_eval.accuracy(pred, split.y), len(split.y))
    margins = {TRAIN: hold.margin, SHIFTED: hold.shifted_margin}
    held = {what: (*v, margins[what]) for what, v in acc.items() if what in margins}
    return {"test": acc[TEST][0], "n_test": len(test.y), "label": test.label, "held": held,
            "disagree": a4_holdout.disagreements(acc[TEST][0], held),
            "where": ck.where, "params": sum(p.numel() for p in model.parameters()), "batch": batch}


def _image_sets(job, cap: dict, spec: dict, hold: a4_holdout.Settings) -> list:
    """[(what, Split)]: the test set first, then the held-out sets drawn for this evaluation."""
    dataset = spec["dataset"]
    test = a4_eval.load_split(job, cap, dataset, "test")
    sets = [(TEST, test)]
    rng = a4_holdout.draw_rng()
    if hold.train_images:
        train = a4_eval.load_split(job, cap, dataset, "train", sample=lambda n: a4_holdout.sample_indices(
            n, hold.train_images, rng))
        sets.append((TRAIN, train))
    if hold.shifted_images:
        sets.append((SHIFTED, a4_holdout.shifted_copies(test, hold.shifted_images, hold.max_shift, rng)))
    return sets
