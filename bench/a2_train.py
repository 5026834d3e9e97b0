"""Assignment 2 reference: train the NumPy ViT and ConViT on full MNIST within a wall-clock
budget on 2 CPU cores, and time one training step against the same model in torch.

    make bench NAME=a2_train                                  # the full recipes (10 + 15 min)
    make bench NAME=a2_train ARGS="--models vit --budget-scale 0.2 --train-subset 20000"
    make bench NAME=a2_train ARGS="--models vit --set vit.model.patch_size=4 --set vit.model.depth=3"
    .venv/bin/python -m bench.a2_train --ratio-only           # step-time ratio only, nothing trained

Goals: ViT >= 97.5% test accuracy within 10 minutes, ConViT >= 98.0% within 15 minutes,
NumPy step / torch-autograd step <= 2.5 (same threads, same batch). Threads: set before
NumPy loads, from OPENBLAS_NUM_THREADS (default 2, the benchmark's setting); torch uses the
same number. Prints a table, saves the accuracy curves as bench/results/a2_train-<model>.png.
"""
from __future__ import annotations

import os
import sys

# Before NumPy loads: OpenBLAS reads its thread count once, at import.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")
THREADS = int(os.environ["OPENBLAS_NUM_THREADS"])

import argparse  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "a2_numpy_vit"
RESULTS = ROOT / "bench" / "results"

# The recipes: float32 throughout, vectorised attention, AdamW (no decay on biases, norms,
# pos, cls) with linear warm-up and cosine decay timed to end at the budget, random
# translations of +-2 pixels (no flips: a flipped digit is another digit or none).
RECIPES = {
    "vit": {
        "model": dict(model="ViT", patch_size=7, dim=64, depth=4, num_heads=4, mlp_ratio=2.0, pos="learned",
                      pool="cls", final_norm=True, activation="gelu", dropout=0.0, label_smoothing=0.0),
        "solver": dict(optimizer="adamw", lr=2e-3, weight_decay=0.05, batch_size=128, warmup_epochs=1.0,
                       min_lr=1e-5, crop_padding=2),
        "budget_s": 600, "goal": 0.975,
    },
    "convit": {
        "model": dict(model="ConViT", channels=(16, 32), kernel_size=3, patch_size=1, dim=64, depth=2, num_heads=4,
                      mlp_ratio=2.0, final_norm=True, activation="relu", dropout=0.0, label_smoothing=0.0),
        "solver": dict(optimizer="adamw", lr=2e-3, weight_decay=0.05, batch_size=128, warmup_epochs=0.5,
                       min_lr=1e-5, crop_padding=2),
        "budget_s": 900, "goal": 0.98,
    },
}


def _path():
    if str(SOLUTION) not in sys.path:
        sys.path.insert(0, str(SOLUTION))


# ----------------------------------------------------------------------------- torch twins
def torch_twin(cfg: dict):
    """The same architecture in torch (autograd), for the step-time ratio."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    act = {"gelu": nn.GELU(), "gelu_tanh": nn.GELU(approximate="tanh"), "relu": nn.ReLU()}[cfg["activation"]]
    D, H = cfg["dim"], cfg["num_heads"]

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
            self.qkv, self.proj = nn.Linear(D, 3 * D), nn.Linear(D, D)
            hidden = int(round(D * cfg["mlp_ratio"]))
            self.mlp = nn.Sequential(nn.Linear(D, hidden), act, nn.Linear(hidden, D))

        def forward(self, x):
            N, T, _ = x.shape
            q, k, v = self.qkv(self.ln1(x)).reshape(N, T, 3, H, D // H).permute(2, 0, 3, 1, 4)
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(D // H), dim=-1) @ v  # plain autograd ops
            x = x + self.proj(a.transpose(1, 2).reshape(N, T, D))
            return x + self.mlp(self.ln2(x))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            c, s = cfg.get("in_chans", 1), cfg.get("image_size", 28)
            if cfg["model"] == "ConViT":
                c1, c2 = cfg["channels"]
                k = cfg["kernel_size"]
                self.stem = nn.Sequential(nn.Conv2d(c, c1, k, padding=k // 2), nn.ReLU(), nn.MaxPool2d(2),
                                          nn.Conv2d(c1, c2, k, padding=k // 2), nn.ReLU(), nn.MaxPool2d(2))
                c, s = c2, s // 4
            else:
                self.stem = nn.Identity()
            p = cfg["patch_size"]
            self.embed = nn.Conv2d(c, D, p, stride=p)  # = patchify + linear
            n = (s // p) ** 2
            self.cls = nn.Parameter(torch.zeros(1, 1, D)) if cfg.get("pool", "mean") == "cls" else None
            self.pos = nn.Parameter(torch.zeros(1, n + (self.cls is not None), D))
            self.blocks = nn.ModuleList(Block() for _ in range(cfg["depth"]))
            self.norm = nn.LayerNorm(D)
            self.head = nn.Linear(D, 10)

        def forward(self, x):
            t = self.embed(self.stem(x)).flatten(2).transpose(1, 2)
            if self.cls is not None:
                t = torch.cat([self.cls.expand(len(t), -1, -1), t], 1)
            t = t + self.pos
            for b in self.blocks:
                t = b(t)
            t = self.norm(t)
            return self.head(t[:, 0] if self.cls is not None else t.mean(1))

    return Net(), F


def step_times(cfg: dict, solver_kw: dict, repeats: int = 7, inner: int = 3) -> tuple[float, float]:
    """Median ms of one training step (forward, backward, AdamW) in NumPy and in torch,
    timed in alternation so that load from other processes hits both alike."""
    import torch
    _path()
    import models
    import optim

    torch.set_num_threads(THREADS)
    B = solver_kw["batch_size"]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((B, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, B)
    model = models.build_model({**cfg, "seed": 0, "dtype": "float32"})
    opt = optim.AdamW(model.params, lr=1e-3, weight_decay=0.05)
    net, F = torch_twin(cfg)
    topt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.05)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def np_step():
        _, grads = model.loss(X, y)
        opt.step(grads)

    def torch_step():
        topt.zero_grad(set_to_none=True)
        F.cross_entropy(net(Xt), yt).backward()
        topt.step()

    for _ in range(2):
        np_step(), torch_step()
    t_np, t_torch = [], []
    for _ in range(repeats):
        for fn, times in ((np_step, t_np), (torch_step, t_torch)):
            start = time.perf_counter()
            for _ in range(inner):
                fn()
            times.append((time.perf_counter() - start) / inner * 1e3)
    return float(np.median(t_np)), float(np.median(t_torch))


# ----------------------------------------------------------------------------- training
def load_mnist(train_subset: int | None):
    import vitdata
    try:
        X, y = vitdata.load_mnist("train")
        Xt, yt = vitdata.load_mnist("test")
    except vitdata.DatasetMissingError as e:
        raise SystemExit(f"a2_train needs MNIST: {e}") from None
    if train_subset:
        idx = np.random.default_rng(0).permutation(len(y))[:train_subset]
        X, y = X[idx], y[idx]
    return {"X_train": X, "y_train": y, "X_val": Xt, "y_val": yt}


def train(name: str, data: dict, budget_s: float, np_step_ms: float, seed: int = 0, progress: bool = True) -> dict:
    """Train one recipe for budget_s seconds of training time; return its results."""
    _path()
    import models
    import vitdata
    from solver import Solver

    recipe = RECIPES[name]
    model = models.build_model({**recipe["model"], "seed": seed, "dtype": "float32"})
    kw = recipe["solver"]
    spe = math.ceil(len(data["y_train"]) / kw["batch_size"])
    # epochs that fit the budget at the measured speed (+8% for per-epoch evaluation); the
    # Solver's clock keeps the cosine on time if the estimate is off.
    epochs = max(1, int(budget_s / (spe * np_step_ms / 1e3 * 1.08)))
    kw = {**kw, "warmup_epochs": min(kw["warmup_epochs"], 0.1 * epochs)}  # short runs: warm up for 10% at most
    ckpt = ROOT / "runs" / f"a2_{name}.npz"
    solver = Solver(model, data, num_epochs=epochs, mean=vitdata.MEAN["mnist"], std=vitdata.STD["mnist"], seed=seed,
                    time_budget_s=budget_s, checkpoint_path=ckpt, progress=progress, num_train_eval=2000, **kw)
    start = time.perf_counter()
    history = solver.train()
    wall = time.perf_counter() - start
    test_acc = solver.check_accuracy(data["X_val"], data["y_val"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    solver.plot(RESULTS / f"a2_train-{name}.png")
    return {"model": name, "params": model.num_params, "epochs": len(history["epoch"]),
            "planned_epochs": epochs, "steps": solver.step_count, "train_s": solver.elapsed, "wall_s": wall,
            "test_acc": test_acc, "val_curve": history["val_acc"], "checkpoint": str(ckpt.relative_to(ROOT))}


def main() -> list[dict]:
    p = argparse.ArgumentParser(prog="bench.a2_train", description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="vit,convit", help="comma-separated: vit, convit")
    p.add_argument("--budget-scale", type=float, default=1.0, help="multiply each training budget (quick runs: 0.1)")
    p.add_argument("--train-subset", type=int, default=0, help="train on this many images (0: all 60,000)")
    p.add_argument("--ratio-only", action="store_true", help="only time the step against torch")
    p.add_argument("--set", action="append", default=[], metavar="MODEL.PART.KEY=VALUE",
                   help="override a recipe entry, e.g. --set vit.model.patch_size=4 --set vit.solver.lr=3e-3")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args()
    for item in args.set:
        _override(item)
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        raise SystemExit(f"a2_train: unknown model(s) {unknown} (choose from {', '.join(RECIPES)})")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"a2_train: {THREADS} thread(s) for NumPy (OpenBLAS) and torch; load average {load:.1f} on "
          f"{os.cpu_count()} CPUs")
    data = None if args.ratio_only else load_mnist(args.train_subset or None)
    rows, metrics = [], []
    for name in names:
        recipe = RECIPES[name]
        np_ms, torch_ms = step_times(recipe["model"], recipe["solver"])
        ratio = np_ms / torch_ms
        row = {"model": name, "np_ms": np_ms, "torch_ms": torch_ms, "ratio": ratio}
        labels = {"model": name, "threads": THREADS, "batch": recipe["solver"]["batch_size"]}
        metrics += [{"name": "numpy_step_ms", "value": np_ms, "unit": "ms", **labels},
                    {"name": "torch_step_ms", "value": torch_ms, "unit": "ms", **labels},
                    {"name": "step_time_ratio", "value": ratio, "unit": "x", "goal": 2.5, **labels}]
        if not args.ratio_only:
            budget = recipe["budget_s"] * args.budget_scale
            res = train(name, data, budget, np_ms, progress=not args.no_progress)
            row.update(res, budget_s=budget)
            full = args.budget_scale == 1.0 and not args.train_subset
            metrics += [{"name": "test_accuracy", "value": res["test_acc"], "unit": "fraction", "budget_s": budget,
                         "goal": recipe["goal"] if full else None, "train_images": len(data["y_train"]),
                         "epochs": res["epochs"], "params": res["params"], **labels},
                        {"name": "train_time", "value": res["train_s"], "unit": "s", **labels}]
        rows.append(row)
    _print_table(rows)
    return metrics


def _override(item: str) -> None:
    import ast
    key, sep, value = item.partition("=")
    parts = key.strip().split(".")
    if not sep or len(parts) != 3 or parts[0] not in RECIPES or parts[1] not in ("model", "solver"):
        raise SystemExit(f"a2_train: --set {item!r}: expected MODEL.model.KEY=VALUE or MODEL.solver.KEY=VALUE "
                         f"with MODEL one of {', '.join(RECIPES)}")
    section = RECIPES[parts[0]][parts[1]]
    if parts[2] not in section:
        raise SystemExit(f"a2_train: --set {item!r}: {parts[0]}.{parts[1]} has no key {parts[2]!r} "
                         f"(keys: {', '.join(section)})")
    try:
        section[parts[2]] = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        section[parts[2]] = value  # a plain string such as gelu


def _print_table(rows: list[dict]) -> None:
    print(f"\n{'model':8s} {'params':>8s} {'epochs':>7s} {'train s':>8s} {'wall s':>7s} {'test acc':>9s} {'numpy ms':>9s} "
          f"{'torch ms':>9s} {'ratio':>6s}")
    for r in rows:
        acc = f"{r['test_acc']:.4f}" if "test_acc" in r else "-"
        print(f"{r['model']:8s} {r.get('params', '-'):>8} {r.get('epochs', '-'):>7} "
              f"{r.get('train_s', float('nan')):8.0f} {r.get('wall_s', float('nan')):7.0f} {acc:>9s} {r['np_ms']:9.1f} {r['torch_ms']:9.1f} {r['ratio']:6.2f}")
        if "val_curve" in r:
            print(f"         test accuracy per epoch: {' '.join(f'{a:.4f}' for a in r['val_curve'])}")


if __name__ == "__main__":
    main()
