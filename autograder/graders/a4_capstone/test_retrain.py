"""Task 4.5: the student's own training loop learns, so a submitted checkpoint cannot simply be
borrowed.

For each run in course.toml [capstone.retrain.runs], the sandbox runs the student's
`train.train(cfg, data=...)` on a fixed subset of the training set with a fixed seed and
returns the weights it saved. Those weights are loaded here into the reference model for the
same config and evaluated on official test images whose labels never enter the sandbox. If
the student's model names its parameters differently from the reference, the weights are
evaluated with the student's own model in the sandbox instead (labels still stay here).
"""
from __future__ import annotations

import numpy as np
import torch

import a4_eval
from autograder.engine.checks import GradingFailure

ARCH_KEYS = ("model", "img_size", "in_chans", "num_classes", "patch_size", "embed_dim", "depth",
             "num_heads", "mlp_ratio", "local_layers", "pool", "pos_embed", "stem_channels")


def requested_config(retrain: dict, run: dict) -> dict:
    """The config the grader asks for: the run's keys plus a fixed seed, CPU and no time limit."""
    dataset = retrain["dataset"]
    c, h, _ = a4_eval.IMAGE_SHAPE[dataset]
    return {"dataset": dataset, "img_size": h, "in_chans": c, "num_classes": a4_eval.NUM_CLASSES,
            "seed": int(retrain.get("seed", 0)), "deterministic": True, "device": "cpu", "amp": "none",
            "compile": False, "time_budget_s": 0.0, "eval_every": 1, "train_subset": 0, **run}


def data_for(job, cap: dict):
    r = cap["retrain"]
    train = a4_eval.load_split(job, cap, r["dataset"], "train")
    test = a4_eval.load_split(job, cap, r["dataset"], "test")
    n, v, k = int(r["train_images"]), int(r["val_images"]), int(r["test_images"])
    if n + v > len(train.y) or k > len(test.y):
        raise RuntimeError(f"[capstone.retrain] asks for {n} + {v} training and {k} test images; "
                           f"the data has {len(train.y)} and {len(test.y)}")
    return (train.x[:n], train.y[:n], train.x[len(train.y) - v:], train.y[len(train.y) - v:],
            test.x[:k], test.y[:k], test.label)


def reference_predictions(reference, cfg: dict, state: dict, x: np.ndarray, dataset: str):
    """Predicted classes (N,) of the reference model for `cfg` with `state`; None if the state
    does not fit it (other parameter names or shapes)."""
    Config = reference("config").Config
    model = reference("models").build_model(Config.from_dict(cfg))
    own = model.state_dict()
    if set(own) != set(state) or any(tuple(own[k].shape) != tuple(state[k].shape) for k in own):
        return None
    model.load_state_dict(state, strict=True)
    model.eval()
    import vitdata
    mean = torch.tensor(vitdata.MEAN[dataset]).view(1, -1, 1, 1)
    std = torch.tensor(vitdata.STD[dataset]).view(1, -1, 1, 1)
    preds = []
    with torch.no_grad():
        for i in range(0, len(x), 500):
            xb = torch.from_numpy(x[i:i + 500]).float() / 255.0
            preds.append(model((xb - mean) / std).argmax(dim=1).numpy())
    return np.concatenate(preds)


def test_retrain_learns(retrain_case, student, reference, job, capstone):
    """train.train() with a fixed seed on a fixed subset reaches min_accuracy on held-out images."""
    name, run = retrain_case
    r = capstone["retrain"]
    x_tr, y_tr, x_val, y_val, x_te, y_te, label = data_for(job, capstone)
    cfg = requested_config(r, run)
    out = student.call("harness:a4.retrain", cfg, x_tr, y_tr, x_val, y_val, int(r.get("threads", 0)))
    if type(out) is not dict or type(out.get("state")) is not dict or type(out.get("config")) is not dict:
        raise GradingFailure(f"{name}: train() ran, but the harness got no checkpoint back")
    got, state = out["config"], out["state"]
    for key in ARCH_KEYS + ("seed", "epochs", "dataset"):
        if key in cfg and got.get(key) != cfg[key]:
            raise GradingFailure(f"{name}: asked train() to run with {key} = {cfg[key]!r}, but its config "
                                 f"says {got.get(key)!r}")
    for key, t in state.items():
        if type(t) is not torch.Tensor:
            raise GradingFailure(f"{name}: the saved checkpoint holds a {type(t).__name__} under {key!r}")
        if t.is_floating_point() and not bool(t.float().isfinite().all()):
            raise GradingFailure(f"{name}: the weights train() saved hold NaN/Inf values (in {key!r})")
    pred = reference_predictions(reference, cfg, state, x_te, r["dataset"])
    if pred is None:   # the student's model has its own parameter layout: evaluate it in the sandbox
        pred = a4_eval.sandbox_predictions(student, got, state, x_te, r["dataset"], capstone,
                                           float(r.get("budget_s", 120)), f"the {name} run's weights")
    acc, need = a4_eval.accuracy(pred, y_te), float(r["min_accuracy"])
    if acc < need:
        raise GradingFailure(
            f"{name}: after {cfg.get('epochs')} epochs of your train() on {len(y_tr):,} training images "
            f"(seed {cfg['seed']}), the model reaches {acc:.1f}% on {len(y_te):,} held-out test images "
            f"({label}); at least {need:g}% shows that the loop learns. Check the loss, the optimiser "
            f"step and the learning-rate schedule.")
