"""Assignment 2 functions that run *inside* the sandbox, next to the student's modules.

Graders call them as `student.call("harness:a2.<name>", ...)` for work that takes several
steps in the student's process (build a model and load parameters, run an optimiser for
100 steps, train with the student's Solver). They only move plain values in and out: every
number that decides a grade is recomputed in the trusted process.
"""
from __future__ import annotations

import contextlib
import io
import os
import tempfile

import numpy as np


# ----------------------------------------------------------------------------- models
def _load_params(model, params: dict) -> None:
    missing = sorted(set(model.params) ^ set(params))
    if missing:
        raise KeyError(f"model.params keys differ from the expected ones at: {', '.join(missing[:6])}")
    for k, v in params.items():
        if model.params[k].shape != v.shape:
            raise ValueError(f"model.params[{k!r}] has shape {model.params[k].shape}, expected {v.shape}")
        model.params[k] = np.array(v, dtype=model.params[k].dtype)


def model_init(config: dict) -> dict:
    """Build a model from config; return its parameters (to check names and shapes)."""
    import models
    model = models.build_model(config)
    return {k: np.asarray(v) for k, v in model.params.items()}


def model_loss(config: dict, params: dict, X, y=None):
    """Build a model, load `params`, return model.loss(X, y): scores, or (loss, grads)."""
    import models
    model = models.build_model(config)
    _load_params(model, params)
    out = model.loss(X, y)
    if y is None:
        return out
    loss, grads = out
    return float(loss), {k: np.asarray(v) for k, v in grads.items()}


class _Counted(np.ndarray):
    """An array that counts every NumPy operation on it (ufuncs, operators, array functions),
    wherever the call comes from: a loop run by C code (map(np.matmul, ...)) or by another
    thread is counted as well as a Python loop."""

    ops = [0]

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        _Counted.ops[0] += 1
        inputs = tuple(_plain_view(i) for i in inputs)
        if "out" in kwargs:
            kwargs["out"] = tuple(_plain_view(o) for o in kwargs["out"])
        return _counted_view(getattr(ufunc, method)(*inputs, **kwargs))

    def __array_function__(self, func, types, args, kwargs):
        _Counted.ops[0] += 1
        return super().__array_function__(func, types, args, kwargs)


def _plain_view(a):
    return a.view(np.ndarray) if isinstance(a, _Counted) else a


def _counted_view(a):
    if isinstance(a, tuple):
        return tuple(_counted_view(x) for x in a)
    return a.view(_Counted) if type(a) is np.ndarray else a


def mhsa_work(x, w_qkv, b_qkv, w_o, b_o, heads: list) -> list:
    """How much work one attention.mhsa_forward call does for each head count in `heads` (same
    x and weights): [Python lines run plus calls made (C functions included), NumPy operations
    on the inputs and everything computed from them]. A vectorised version does the same work
    for 2 heads and for 16; a loop over heads does more with every head, however it is written
    (inline, a comprehension, a helper, map over NumPy functions, threads)."""
    import sys
    import threading

    import attention
    counts = []
    args = [np.asarray(a).view(_Counted) for a in (x, w_qkv, b_qkv, w_o, b_o)]
    for h in heads:
        n = [0]

        def local(frame, event, arg):
            n[0] += event == "line"
            return local

        def on_call(frame, event, arg):
            n[0] += 1
            return local

        def on_c_call(frame, event, arg):
            n[0] += event == "c_call"

        _Counted.ops[0] = 0
        old_trace, old_profile = sys.gettrace(), sys.getprofile()
        threading.settrace(on_call)
        threading.setprofile(on_c_call)
        sys.settrace(on_call)
        sys.setprofile(on_c_call)
        try:
            attention.mhsa_forward(*args, h)
        finally:
            sys.settrace(old_trace)
            sys.setprofile(old_profile)
            threading.settrace(None)
            threading.setprofile(None)
        counts.append([n[0], _Counted.ops[0]])
    return counts


# ----------------------------------------------------------------------------- optimisers
def run_optimizer(name: str, kwargs: dict, params: dict, grads_seq: list, lrs=None) -> dict:
    """optim.<name>(params, **kwargs), then one step per gradient dict (setting opt.lr first
    when `lrs` is given). Returns the parameters after the last step."""
    return run_optimizer_inputs(name, kwargs, params, grads_seq, lrs)["params"]


def run_optimizer_inputs(name: str, kwargs: dict, params: dict, grads_seq: list, lrs=None) -> dict:
    """As run_optimizer, and what became of the caller's arrays: "params" the parameters in
    the optimiser's dict after the last step, "caller" the very arrays the caller's dict held
    when the optimiser was made (updated in place, they equal "params"), "grads" the gradient
    arrays handed to step(), read after the last step (an optimiser must not change them)."""
    import optim
    params = {k: np.array(v) for k, v in params.items()}
    caller = dict(params)
    grads_seq = [{k: np.array(v) for k, v in g.items()} for g in grads_seq]
    opt = getattr(optim, name)(params, **kwargs)
    for i, grads in enumerate(grads_seq):
        if lrs is not None:
            opt.lr = float(lrs[i])
        opt.step(grads)
    return {"params": {k: np.asarray(opt.params[k]) for k in params},
            "caller": {k: np.array(v) for k, v in caller.items()},
            "grads": [{k: np.array(v) for k, v in g.items()} for g in grads_seq]}


# ----------------------------------------------------------------------------- data
def call_and_inputs(target: str, args: list, kwargs: dict) -> dict:
    """Call module.function(*args, **kwargs) on copies of the arguments; return the result
    and the argument arrays as the call left them (a function must not change its inputs
    unless its docstring says so)."""
    import importlib
    module, _, fn = target.rpartition(".")
    args = [np.array(a) if isinstance(a, np.ndarray) else a for a in args]
    out = getattr(importlib.import_module(module), fn)(*args, **kwargs)
    return {"out": out, "args": [np.array(a) if isinstance(a, np.ndarray) else a for a in args]}


def collect_batches(X, y, batch_size, shuffle=True, seed=0) -> list:
    import data
    return [[np.asarray(a), np.asarray(b)] for a, b in data.iterate_minibatches(X, y, batch_size, shuffle=shuffle,
                                                                               seed=seed)]


# ----------------------------------------------------------------------------- checkpoints
def _scratch() -> str:
    return tempfile.mkdtemp(prefix="a2-", dir=os.environ.get("TMPDIR", "/tmp"))


def _stepped_model(config: dict, steps: int, seed: int):
    """A model and an AdamW optimiser after `steps` steps on random data (nonzero state)."""
    import models
    import optim
    model = models.build_model(config)
    opt = optim.AdamW(model.params, lr=1e-3, weight_decay=0.05)
    rng = np.random.default_rng(seed)
    C, S = config["in_chans"], config["image_size"]
    for _ in range(steps):
        X = rng.standard_normal((4, C, S, S)).astype(model.dtype)
        _, grads = model.loss(X, rng.integers(0, config["num_classes"], 4))
        opt.step(grads)
    return model, opt


def checkpoint_roundtrip(config: dict, steps: int = 2, seed: int = 0) -> dict:
    """save_checkpoint then load_checkpoint. Returns the model's params, the optimiser state,
    the loaded dict, the file's bytes and the folder's listing afterwards."""
    import checkpoint
    model, opt = _stepped_model(config, steps, seed)
    folder = _scratch()
    path = os.path.join(folder, "model.npz")
    checkpoint.save_checkpoint(path, model, opt, {"epoch": 1, "step": steps})
    loaded = checkpoint.load_checkpoint(path)
    with open(path, "rb") as f:
        blob = np.frombuffer(f.read(), dtype=np.uint8).copy()
    return {"params": {k: np.asarray(v) for k, v in model.params.items()},
            "optim": {k: {kk: np.asarray(vv) for kk, vv in st.items()} for k, st in opt.state.items()},
            "loaded": _plain(loaded), "file": blob, "listing": sorted(os.listdir(folder))}


class _Exploding:
    """Fails when NumPy turns it into an array: a crash in the middle of writing."""

    def __array__(self, *args, **kwargs):
        raise RuntimeError("simulated crash while writing the checkpoint")


def checkpoint_crash(config: dict) -> dict:
    """Save a good checkpoint, then save again with a parameter that crashes mid-write.
    Returns whether the second save raised, both files' bytes (the trusted side compares
    them) and the folder listing."""
    import checkpoint
    model, opt = _stepped_model(config, 1, 0)
    folder = _scratch()
    path = os.path.join(folder, "model.npz")
    checkpoint.save_checkpoint(path, model, opt)
    with open(path, "rb") as f:
        before = f.read()
    model.params = dict(model.params)
    keys = list(model.params)
    model.params[keys[len(keys) // 2]] = _Exploding()
    raised = False
    try:
        checkpoint.save_checkpoint(path, model, None)
    except NotImplementedError:
        raise
    except Exception:  # noqa: BLE001 - any exception is the expected outcome
        raised = True
    with open(path, "rb") as f:
        after = f.read()
    return {"raised": raised, "before": np.frombuffer(before, dtype=np.uint8).copy(),
            "after": np.frombuffer(after, dtype=np.uint8).copy(), "listing": sorted(os.listdir(folder))}


def checkpoint_save_plain(config: dict) -> dict:
    """save_checkpoint(path, model) with no optimiser and no progress (the defaults), watching
    every rename it makes. Returns the file's bytes (the trusted side reads its meta), the
    folder's listing and [source folder, target folder] of each os.replace / os.rename."""
    import checkpoint
    import shutil
    model, _ = _stepped_model(config, 0, 0)
    folder = _scratch()
    path = os.path.join(folder, "model.npz")
    renames = []
    real = {"replace": os.replace, "rename": os.rename, "move": shutil.move}

    def watch(name):
        def moved(src, dst, *args, **kwargs):
            renames.append([os.path.dirname(os.path.abspath(os.fspath(src))),
                            os.path.dirname(os.path.abspath(os.fspath(dst)))])
            return real[name](src, dst, *args, **kwargs)
        return moved

    os.replace, os.rename, shutil.move = watch("replace"), watch("rename"), watch("move")
    try:
        checkpoint.save_checkpoint(path, model)
    finally:
        os.replace, os.rename, shutil.move = real["replace"], real["rename"], real["move"]
    with open(path, "rb") as f:
        blob = np.frombuffer(f.read(), dtype=np.uint8).copy()
    return {"file": blob, "listing": sorted(os.listdir(folder)), "renames": renames, "folder": folder}


def checkpoint_restore_blob(config: dict, blob) -> dict:
    """Save a fresh model from config (its own initial weights) with save_checkpoint, replace
    the file with `blob` (a checkpoint the grader made, other weights), load it with
    load_checkpoint and restore it into the model. Returns the model's parameters afterwards
    and what load_checkpoint returned: only a load that reads the file gets the blob's."""
    import checkpoint
    import models
    path = os.path.join(_scratch(), "given.npz")
    model = models.build_model(config)
    try:                 # the student's own save first: a copy kept in memory would now be stale
        checkpoint.save_checkpoint(path, model)
    except NotImplementedError:
        raise
    except Exception:  # noqa: BLE001 - the save is another test's business
        pass
    with open(path, "wb") as f:
        f.write(np.asarray(blob, dtype=np.uint8).tobytes())
    loaded = checkpoint.load_checkpoint(path)
    checkpoint.restore(model, loaded, path)
    return {"params": {k: np.asarray(v) for k, v in model.params.items()}, "loaded": _plain(loaded)}


def checkpoint_load_blob(blob) -> dict:
    """Write `blob` (uint8 array) to a file and call load_checkpoint on it.
    Returns {"error": [type name, message]} or {"loaded": ...}."""
    import checkpoint
    path = os.path.join(_scratch(), "given.npz")
    with open(path, "wb") as f:
        f.write(np.asarray(blob, dtype=np.uint8).tobytes())
    try:
        loaded = checkpoint.load_checkpoint(path)
    except NotImplementedError:
        raise
    except Exception as e:  # noqa: BLE001
        return {"error": [type(e).__name__, str(e), isinstance(e, ValueError)], "path": path}
    return {"loaded": _plain(loaded), "path": path}


def _plain(loaded: dict) -> dict:
    return {"meta": loaded["meta"], "params": {k: np.asarray(v) for k, v in loaded["params"].items()},
            "optim": {k: {kk: np.asarray(vv) for kk, vv in st.items()} for k, st in loaded["optim"].items()}}


# ----------------------------------------------------------------------------- training
def train(config: dict, data: dict, solver_kwargs: dict) -> dict:
    """Train a fresh model with the student's Solver. Returns the trained parameters (the
    grader evaluates them itself) and the recorded history."""
    import models
    from solver import Solver
    model = models.build_model(config)
    solver = Solver(model, data, progress=False, verbose=False, **solver_kwargs)
    with contextlib.redirect_stdout(io.StringIO()):
        history = solver.train()
    return {"params": {k: np.asarray(v) for k, v in model.params.items()}, "history": _jsonish(history)}


def train_resumed(config: dict, data: dict, solver_kwargs: dict, first_epochs: int) -> dict:
    """Train `first_epochs` epochs with checkpointing, then continue to num_epochs in a new
    Solver resumed from the checkpoint. Returns the final parameters."""
    import models
    from solver import Solver
    path = os.path.join(_scratch(), "run.npz")
    total = solver_kwargs["num_epochs"]
    with contextlib.redirect_stdout(io.StringIO()):
        s1 = Solver(models.build_model(config), data, progress=False, verbose=False, checkpoint_path=path,
                    **solver_kwargs)
        s1.max_steps = first_epochs * s1.steps_per_epoch  # stop as if interrupted after first_epochs
        s1.train()
        model = models.build_model(config)
        s2 = Solver(model, data, progress=False, verbose=False, checkpoint_path=path, **solver_kwargs)
        s2.resume(path)
        s2.train()
    return {"params": {k: np.asarray(v) for k, v in model.params.items()}, "epoch": int(s2.epoch), "total": total}


def _jsonish(history: dict) -> dict:
    return {k: [float(x) for x in v] for k, v in history.items()}


# ----------------------------------------------------------------------------- inference
def write_checkpoint(config: dict) -> str:
    """Save a freshly initialised model (reference init, fixed seed) and return the path."""
    import checkpoint
    import models
    path = os.path.join(_scratch(), "model.npz")
    checkpoint.save_checkpoint(path, models.build_model(config), None, {"epoch": 0})
    return path


def write_file(blob, name: str) -> str:
    path = os.path.join(_scratch(), name)
    with open(path, "wb") as f:
        f.write(np.asarray(blob, dtype=np.uint8).tobytes())
    return path


def predict_main(argv: list) -> dict:
    """Run predict.main(argv); return its exit code (or exception) and what it printed."""
    import predict
    out, err = io.StringIO(), io.StringIO()
    code, exc = None, None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = predict.main(argv)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 2
        except NotImplementedError:
            raise
        except Exception as e:  # noqa: BLE001
            exc = [type(e).__name__, str(e)]
    return {"code": code, "exception": exc, "stdout": out.getvalue(), "stderr": err.getvalue()}
