"""Hidden graders, task 2.8: checkpoints and the training loop.

The training grader trains a small ViT with the student's Solver on a fixed MNIST subset
(synthetic digits when MNIST is not cached), then evaluates the returned parameters with
the reference model here, in the trusted process: the student's reported numbers are never
used for the grade.
"""
import json

import numpy as np
import pytest

from a2util import mnist_subset
from autograder.engine.untrusted import parse_json, read_npz
from autograder.engine.checks import GradingFailure, expect_close, listing_excerpt, same_bytes

pytestmark = pytest.mark.task2_8

TINY = dict(model="ViT", image_size=8, in_chans=1, patch_size=4, dim=8, depth=1, num_heads=2, mlp_ratio=2.0,
            num_classes=3, pos="learned", pool="cls", final_norm=True, activation="gelu", dropout=0.0,
            label_smoothing=0.0, seed=0, dtype="float32")
TRAIN = dict(model="ViT", image_size=28, in_chans=1, patch_size=7, dim=32, depth=1, num_heads=2, mlp_ratio=2.0,
             num_classes=10, pos="learned", pool="cls", final_norm=True, activation="gelu", dropout=0.0,
             label_smoothing=0.0, seed=0, dtype="float32")
SOLVER = dict(optimizer="adamw", lr=5e-3, weight_decay=0.01, batch_size=32, num_epochs=4, warmup_epochs=0.3,
              mean=(0.1307,), std=(0.3081,), seed=0, num_train_eval=200)
# Accuracy the trained parameters must reach on held-out images within this step budget
# (4 epochs of 63 steps): the reference reaches 0.66 on the MNIST subset and 0.97 on the
# synthetic digits; a loop that does not learn stays near 0.1.
THRESHOLD = {"mnist": 0.55, "synthetic": 0.85}


def test_checkpoint_round_trip(student):
    r = student.call("harness:a2.checkpoint_roundtrip", TINY, 2, 0)
    loaded = r["loaded"]
    for k, v in r["params"].items():
        expect_close(loaded["params"].get(k), v, rtol=0, name=f"loaded params[{k!r}]")
    for name, st in r["optim"].items():
        for key, v in st.items():
            expect_close(loaded["optim"].get(name, {}).get(key), v, rtol=0, name=f"loaded optimiser state {name}/{key}")
    if loaded["meta"].get("config") != TINY:
        raise GradingFailure("the checkpoint's meta must hold the model's config")
    if r["listing"] != ["model.npz"]:
        raise GradingFailure(f"saving left extra files behind: {r['listing']}")


def test_checkpoint_file_format(student):
    """An .npz with a JSON 'meta' (format, format_version, config) and 'param/<name>' arrays; no pickles."""
    r = student.call("harness:a2.checkpoint_roundtrip", TINY, 1, 1)
    files = read_npz(np.asarray(r["file"]).tobytes(), "the checkpoint")   # bounded: the student's file
    meta = files.get("meta")
    if type(meta) is not np.ndarray or meta.dtype.kind != "U":
        raise GradingFailure("the checkpoint's meta must be a JSON object stored as a string array")
    meta = parse_json(str(meta), "the checkpoint's meta")
    if meta.get("format_version") != 1 or meta.get("format") != "vitlab-numpy-vit":
        raise GradingFailure("meta must name format 'vitlab-numpy-vit' and format_version 1")
    for k, v in r["params"].items():
        expect_close(files.get(f"param/{k}"), v, rtol=0, name=f"archive entry param/{k}")


def test_wrong_format_version_is_refused(student, reference, tmp_path):
    ck, models = reference("checkpoint"), reference("models")
    path = tmp_path / "old.npz"
    ck.save_checkpoint(path, models.build_model(TINY))
    with np.load(path, allow_pickle=False) as z:
        files = {k: z[k] for k in z.files}
    meta = json.loads(str(files["meta"]))
    meta["format_version"] = 99
    files["meta"] = np.array(json.dumps(meta))
    np.savez(path, **files)
    r = student.call("harness:a2.checkpoint_load_blob", np.frombuffer(path.read_bytes(), np.uint8))
    if "error" not in r or not r["error"][2] or "99" not in r["error"][1]:
        raise GradingFailure("loading a checkpoint of another format version must raise a ValueError "
                             "(CheckpointError) that names the version")
    r = student.call("harness:a2.checkpoint_load_blob", np.frombuffer(b"not a zip file at all", np.uint8))
    if "error" not in r or not r["error"][2] or r["path"] not in r["error"][1]:
        raise GradingFailure("loading a file that is not a checkpoint must raise a ValueError naming the file")


def test_pickled_arrays_are_refused(student, reference, tmp_path):
    """A checkpoint holding a pickled (object) array is refused with a ValueError naming the file:
    np.load(..., allow_pickle=False), since unpickling a file can run any code in it."""
    ck, models = reference("checkpoint"), reference("models")
    path = tmp_path / "pickled.npz"
    ck.save_checkpoint(path, models.build_model(TINY))
    with np.load(path, allow_pickle=False) as z:
        files = {k: z[k] for k in z.files}
    files["param/head.b"] = np.array([{"not": "an array of numbers"}], dtype=object)
    np.savez(path, **files)
    r = student.call("harness:a2.checkpoint_load_blob", np.frombuffer(path.read_bytes(), np.uint8))
    if "error" not in r:
        raise GradingFailure("load_checkpoint unpickled an object array from the file; load with "
                             "allow_pickle=False so a checkpoint can never run code",
                             hint="np.load(path, allow_pickle=False), and turn its errors into CheckpointError")
    if not r["error"][2] or r["path"] not in r["error"][1]:
        raise GradingFailure("a checkpoint with a pickled array must raise a ValueError (CheckpointError) naming "
                             "the file")


def test_save_is_atomic(student):
    """A crash while writing leaves the previous checkpoint intact and no temporary files."""
    r = student.call("harness:a2.checkpoint_crash", TINY)
    if not r["raised"]:
        raise GradingFailure("save_checkpoint should let the simulated crash propagate")
    if not same_bytes(r["before"], r["after"]):
        raise GradingFailure("a crash while saving damaged the existing checkpoint: write to a temporary file "
                             "in the same folder, then os.replace it into place")
    if r["listing"] != ["model.npz"]:
        raise GradingFailure(f"a crash while saving left files behind: {listing_excerpt(r['listing'])}")


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
