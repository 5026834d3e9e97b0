"""Hidden graders, task 2.8: the training loop (checkpoints: test_a2_checkpoint.py).

The training grader trains a small ViT with the student's Solver on a fixed MNIST subset
(synthetic digits when MNIST is not cached), then evaluates the returned parameters with
the reference model here, in the trusted process: the student's reported numbers are never
used for the grade.
"""
import numpy as np
import pytest

from a2util import mnist_subset
from autograder.engine.checks import GradingFailure, expect_close

pytestmark = pytest.mark.task2_8

TRAIN = dict(model="ViT", image_size=28, in_chans=1, patch_size=7, dim=32, depth=1, num_heads=2, mlp_ratio=2.0,
             num_classes=10, pos="learned", pool="cls", final_norm=True, activation="gelu", dropout=0.0,
             label_smoothing=0.0, seed=0, dtype="float32")
SOLVER = dict(optimizer="adamw", lr=5e-3, weight_decay=0.01, batch_size=32, num_epochs=4, warmup_epochs=0.3,
              mean=(0.1307,), std=(0.3081,), seed=0, num_train_eval=200)
# Accuracy the trained parameters must reach on held-out images within this step budget
# (4 epochs of 63 steps): the reference reaches 0.66 on the MNIST subset and 0.97 on the
# synthetic digits; a loop that does not learn stays near 0.1.
THRESHOLD = {"mnist": 0.55, "synthetic": 0.85}


def _accuracy_and_loss(reference, params, data):
    model = reference("models").build_model(TRAIN)
    for k in model.params:
        if k not in params or params[k].shape != model.params[k].shape:
            raise GradingFailure(f"trained parameters lack {k!r} or changed its shape")
        model.params[k] = np.asarray(params[k], np.float32)
    norm = reference("data").normalize
    Xv = norm(data["X_val"], SOLVER["mean"], SOLVER["std"])
    Xt = norm(data["X_train"][:500], SOLVER["mean"], SOLVER["std"])
    acc = float(np.mean(model.loss(Xv).argmax(axis=1) == data["y_val"]))
    loss, _ = model.loss(Xt, data["y_train"][:500])
    return acc, float(loss)


@pytest.mark.weight(3)
def test_training_loop_learns(student, reference):
    data, source = mnist_subset(2000, 1000, seed=0)
    init = reference("models").build_model(TRAIN).params
    _, loss0 = _accuracy_and_loss(reference, init, data)
    r = student.call("harness:a2.train", TRAIN, data, SOLVER)
    acc, loss1 = _accuracy_and_loss(reference, r["params"], data)
    if not np.isfinite(loss1) or loss1 > 0.75 * loss0:
        raise GradingFailure(f"training barely lowered the loss ({loss0:.3f} -> {loss1:.3f}, measured by the grader)")
    if acc < THRESHOLD[source]:
        raise GradingFailure(f"held-out accuracy {acc:.3f} after training is below {THRESHOLD[source]} "
                             f"({source} data, measured by the grader)")


def test_history_and_schedule(student, reference):
    data, _ = mnist_subset(300, 100, seed=1)
    kw = {**SOLVER, "num_epochs": 2, "batch_size": 50}
    h = student.call("harness:a2.train", TRAIN, data, kw)["history"]
    for key in ("train_acc", "val_acc", "train_loss", "val_loss"):
        if len(h.get(key, [])) != 2:
            raise GradingFailure(f"history[{key!r}] should have one entry per epoch")
    if len(h.get("loss", [])) != 12 or len(h.get("lr", [])) != 12:
        raise GradingFailure("history['loss'] and history['lr'] should have one entry per step")
    steps = 12
    warm = round(0.3 * 6)
    # the schedule is task 2.6's: the Solver must use optim.warmup_cosine as it is while 2.8 is graded
    expected = [reference("optim").warmup_cosine(s, kw["lr"], warm, steps, 0.0) for s in range(steps)]
    expect_close(np.array(h["lr"]), np.array(expected), rtol=1e-9, name="learning rate used at each step")


def test_resume_continues_exactly(student):
    """Stop after 1 epoch, resume from the checkpoint, finish: same parameters as one run."""
    data, _ = mnist_subset(200, 50, seed=2)
    kw = {**SOLVER, "num_epochs": 2, "batch_size": 50}
    full = student.call("harness:a2.train", TRAIN, data, kw)["params"]
    resumed = student.call("harness:a2.train_resumed", TRAIN, data, kw, 1)
    if resumed["epoch"] != 2:
        raise GradingFailure(f"after resuming, training should end at epoch 2, got {resumed['epoch']}")
    for k, v in full.items():
        expect_close(resumed["params"].get(k), v, rtol=1e-5, atol=1e-6, name=f"params[{k!r}] after resuming")


def test_step_budget_ends_mid_epoch(student):
    """max_steps that ends an epoch half-way: training stops after that many steps, and the cut epoch
    ends like a full one (epoch 1 in history, its train loss the mean over the steps it took)."""
    data, _ = mnist_subset(300, 100, seed=5)
    kw = {**SOLVER, "num_epochs": 2, "batch_size": 50, "max_steps": 4, "num_train_eval": 50}
    h = student.call("harness:a2.train", TRAIN, data, kw)["history"]
    loss = h.get("loss", [])
    if len(loss) != 4:
        raise GradingFailure(f"with max_steps=4 (6 steps per epoch) training took {len(loss)} steps: stop as "
                             "soon as the budget runs out, after any step",
                             hint="check self._out_of_time() after every step, not only between epochs")
    if h.get("epoch") != [1.0]:
        raise GradingFailure("an epoch cut short by the budget should end like a full one: history['epoch'] "
                             "should read [1] after it")
    expect_close(float(h["train_loss"][0]), float(np.mean(loss)), rtol=1e-6,
                 name="train loss of the cut epoch (the mean over the steps it took)")


def _reference_run(reference, data, kw):
    """The reference Solver's run (over the same stand-ins of the other tasks) with these settings."""
    model = reference("models").build_model(TRAIN)
    solver = reference("solver").Solver(model, data, progress=False, verbose=False, **kw)
    history = solver.train()
    return {"params": model.params, "history": history}


def test_outcome_matches_the_reference_solver(student, reference):
    """Two epochs with crop, flip and seed 3, against the reference Solver with the same settings: the
    same loss at every step, the same accuracies (fractions) per epoch, the same final parameters.
    This needs each epoch shuffled with seed (seed, epoch) and augmented with the rng
    np.random.default_rng((seed, epoch, 1)), epoch counting from 0 (self.epoch as the epoch
    starts), as the Solver's docstring says."""
    data, _ = mnist_subset(300, 100, seed=4)
    kw = {**SOLVER, "num_epochs": 2, "batch_size": 50, "crop_padding": 2, "flip": True, "seed": 3,
          "num_train_eval": 100}
    got = student.call("harness:a2.train", TRAIN, data, kw)
    want = _reference_run(reference, data, kw)
    h, w = got["history"], want["history"]
    for key in ("train_acc", "val_acc"):
        values = h.get(key, [])
        if len(values) != 2:
            raise GradingFailure(f"history[{key!r}] should have one entry per epoch")
        if any(not 0.0 <= v <= 1.0 for v in values):
            raise GradingFailure(f"history[{key!r}] holds values outside [0, 1]: check_accuracy should return the "
                                 "fraction of images classified correctly, not a count")
    loss = h.get("loss", [])
    if len(loss) != 12:
        raise GradingFailure("history['loss'] should have one entry per step")
    per_epoch = 6
    for epoch in range(2):
        mine, ref = np.array(loss[epoch * per_epoch:(epoch + 1) * per_epoch]), np.array(w["loss"][epoch * per_epoch:
                                                                                          (epoch + 1) * per_epoch])
        if not np.allclose(mine, ref, rtol=1e-4, atol=1e-5):
            first = "the first epoch" if epoch == 0 else "the second epoch (the first one matched)"
            raise GradingFailure(
                f"the step losses of {first} differ from the reference Solver's with the same seed",
                hint="shuffle each epoch with seed (seed, epoch), epoch counting from 0, and augment every "
                     "training batch (self._prepare(Xb, rng) with rng = np.random.default_rng((seed, epoch, 1)))"
                     if epoch == 0 else "the order must change each epoch: shuffle with seed (seed, epoch)")
    expect_close(np.array(h["train_acc"]), np.array(w["train_acc"]), rtol=1e-6, atol=1e-6,
                 name="history['train_acc']", hint="check_accuracy returns a fraction in [0, 1]")
    expect_close(np.array(h["val_acc"]), np.array(w["val_acc"]), rtol=1e-6, atol=1e-6, name="history['val_acc']")
    for k, v in want["params"].items():
        expect_close(got["params"].get(k), v, rtol=1e-4, atol=1e-5 * float(np.abs(v).max() + 1e-12),
                     name=f"params[{k!r}] after two epochs")
