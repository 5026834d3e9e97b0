"""How long the capstone graders take to evaluate each reference recipe's model, against the
evaluation budgets in course.toml [capstone].

    make bench NAME=capstone_eval                          # every recipe, 1 and 2 threads
    make bench NAME=capstone_eval ARGS="--recipes vit_cifar10_gpu --threads 1"

A grader evaluates a checkpoint on the 10,000 official test images in batches of
`eval_batch_size`, on the CPU when the grading machine has no GPU, with each student held to
its share of the cores (one thread when two students are graded at once on two cores). The
time depends on the model's size, not on its weights or the images, so this builds each
recipe's model untrained and feeds it random uint8 images of the dataset's shape: no data,
no training. The margin is budget / time; under 1 a correct submission would time out.
"""
from __future__ import annotations

import argparse
import sys
import time
import tomllib
from pathlib import Path

import numpy as np

from bench import plain_modules

ROOT = Path(__file__).resolve().parent.parent
A4 = ROOT / "solutions" / "a4_capstone"
IMAGES = 10_000


def _a4():
    """config and models of the capstone, by their plain names."""
    return plain_modules(A4, ("config", "models"), evict=("modules", "convit"))


def budgets() -> tuple[dict[str, float], int]:
    """dataset -> the evaluation budget in seconds (the first checkpoint on it), and the batch size."""
    cap = tomllib.loads((ROOT / "course.toml").read_text(encoding="utf-8")).get("capstone", {})
    out: dict[str, float] = {}
    for spec in cap.get("checkpoints", {}).values():
        out.setdefault(spec["dataset"], float(spec["budget_s"]))
    return out, int(cap.get("eval_batch_size", 500))


def eval_seconds(model, shape: tuple[int, int, int], batch: int, threads: int) -> float:
    """Seconds to run IMAGES uint8 images of `shape` through `model` as the grader's harness does."""
    import torch
    torch.set_num_threads(threads)
    x = np.random.default_rng(0).integers(0, 256, (IMAGES, *shape), dtype=np.uint8)
    mean = torch.full((1, shape[0], 1, 1), 0.5)
    std = torch.full((1, shape[0], 1, 1), 0.25)
    model.eval()
    t0 = time.perf_counter()
    with torch.no_grad():
        for i in range(0, IMAGES, batch):
            xb = torch.from_numpy(x[i:i + batch]).float().div_(255.0)          # (B, C, H, W)
            model((xb - mean) / std)                                           # (B, K)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(prog="bench/capstone_eval.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--recipes", help="comma-separated recipe names (default: every *_gpu and *_cpu recipe)")
    p.add_argument("--threads", default="1,2", help="comma-separated torch thread counts (default 1,2)")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    config, models = _a4()
    names = args.recipes.split(",") if args.recipes else sorted(
        q.stem for q in (A4 / "configs").glob("*.toml") if q.stem.endswith(("_gpu", "_cpu")))
    limit, batch = budgets()
    metrics, rows = [], []
    for name in names:
        cfg = config.load_config(A4 / "configs" / f"{name}.toml")
        model = models.build_model(cfg)
        params = sum(t.numel() for t in model.parameters())
        for threads in map(int, args.threads.split(",")):
            s = eval_seconds(model, (cfg.in_chans, cfg.img_size, cfg.img_size), batch, threads)
            budget = limit.get(cfg.dataset)
            rows.append((name, cfg.model, params, threads, s, budget))
            metrics.append({"name": f"{name}.eval_s", "value": round(s, 2), "unit": "s", "recipe": name,
                            "model": cfg.model, "dataset": cfg.dataset, "params": params, "threads": threads,
                            "images": IMAGES, "budget_s": budget})
    _print_table(rows)
    return metrics


def _print_table(rows) -> None:
    print(f"{'recipe':<20} {'model':<14} {'params':>10} {'threads':>7} {'10,000 images':>14} {'images/s':>9} "
          f"{'budget':>7} {'margin':>7}")
    print("-" * 95)
    for name, model, params, threads, s, budget in rows:
        margin = f"{budget / s:6.1f}x" if budget else "      -"
        print(f"{name:<20} {model:<14} {params:>10,} {threads:>7} {s:>12.1f} s {IMAGES / s:>9,.0f} "
              f"{(f'{budget:g} s' if budget else '-'):>7} {margin:>7}")


if __name__ == "__main__":
    main()
