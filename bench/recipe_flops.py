"""FLOPs per training step of each GPU recipe, a CPU profile of that step, and the step time
the FLOPs predict on one H200: the estimate written beside `time_budget_s` in each recipe.

    make bench NAME=recipe_flops
    make bench NAME=recipe_flops ARGS="--recipes vit_cifar10_gpu --util 0.3"

FLOPs are counted by torch.utils.flop_counter.FlopCounterMode for one forward + backward of
the recipe's model (matmuls, convolutions and attention's batched matmuls; elementwise work
is not counted) at the recipe's batch size. The GPU estimate assumes H200_PEAK (dense bf16)
at --util of it (default 25 %: small models with 64-token sequences reach 20-35 % of peak;
launch overhead and elementwise work take the rest), so it is a planning number, not a
measurement. The CPU profile (a few steps at a small batch, fp32) says what share of the
CPU step the counted ops take, the rest being the elementwise and memory-bound work that a GPU
does not speed up as much.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
A4 = ROOT / "solutions" / "a4_capstone"
GPU_RECIPES = ["vit_mnist_gpu", "convit_mnist_gpu", "vit_cifar10_gpu", "convit_cifar10_gpu"]
H200_PEAK = 790e12            # dense bf16 FLOP/s (H200 SXM datasheet, without sparsity)
DEFAULT_UTIL = 0.25
TRAIN_SIZE = {"mnist": 60_000, "cifar10": 50_000}

# Runs in a fresh process with the capstone folder first on sys.path (its module names,
# config/models/train, are shared with other assignments, so they never enter this process).
WORKER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import torch
from torch.utils.flop_counter import FlopCounterMode
from config import load_config
from models import build_model, count_params
from optim import AdamW, param_groups
import train as T
torch.set_num_threads(int(sys.argv[4]))
cfg = load_config(sys.argv[2], {"device": "cpu", "compile": False, "drop_path_rate": 0.0})
model = build_model(cfg)
opt = AdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr)
def step(b):
    x = torch.randn(b, cfg.in_chans, cfg.img_size, cfg.img_size)
    y = torch.randint(0, cfg.num_classes, (b,))
    T.train_step(model, x, y, opt, cfg)
with FlopCounterMode(display=False) as fc:
    step(2)
flops_per_image = fc.get_total_flops() / 2
b = int(sys.argv[3])
step(b)                                        # warm-up
with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
    t0 = time.perf_counter(); step(b); step(b); cpu_s = (time.perf_counter() - t0) / 2
counted = ("aten::mm", "aten::addmm", "aten::bmm", "aten::convolution", "aten::_convolution",
           "aten::mkldnn_convolution", "aten::convolution_backward", "aten::baddbmm")
events = prof.key_averages()
total = sum(e.self_cpu_time_total for e in events)
mm = sum(e.self_cpu_time_total for e in events if e.key in counted)
print(json.dumps({"params": count_params(model), "flops_per_image": flops_per_image, "cpu_step_s": cpu_s,
                  "cpu_batch": b, "matmul_share": mm / max(total, 1), "batch_size": cfg.batch_size,
                  "epochs": cfg.epochs, "time_budget_s": cfg.time_budget_s, "dataset": cfg.dataset,
                  "model": cfg.model, "train_subset": cfg.train_subset}))
"""


def parse(argv):
    p = argparse.ArgumentParser(prog="bench/recipe_flops.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--recipes", default=",".join(GPU_RECIPES), help="comma-separated recipe names")
    p.add_argument("--util", type=float, default=DEFAULT_UTIL, help="assumed share of the H200's bf16 peak")
    p.add_argument("--cpu-batch", type=int, default=16, help="batch of the CPU profile")
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args(argv)


def measure(recipe: str, cpu_batch: int, threads: int) -> dict:
    config = A4 / "configs" / f"{recipe}.toml"
    if not config.is_file():
        raise SystemExit(f"bench recipe_flops: no recipe {config}")
    proc = subprocess.run([sys.executable, "-c", WORKER, str(A4), str(config), str(cpu_batch), str(threads)],
                          capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"bench recipe_flops: {recipe} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def estimate(recipe: str, m: dict, util: float) -> dict:
    """The H200 step time the FLOPs predict, and what it means for the recipe's epochs and budget."""
    step_flops = m["flops_per_image"] * m["batch_size"]
    step_s = step_flops / (H200_PEAK * util)
    steps = (m["train_subset"] or TRAIN_SIZE[m["dataset"]]) // m["batch_size"]
    epoch_s = step_s * steps
    return {"recipe": recipe, "model": m["model"], "params": m["params"],
            "gflop_per_image": m["flops_per_image"] / 1e9, "tflop_per_step": step_flops / 1e12,
            "cpu_ms_per_image": 1000 * m["cpu_step_s"] / m["cpu_batch"], "matmul_share": m["matmul_share"],
            "h200_ms_per_step": 1000 * step_s, "h200_s_per_epoch": epoch_s, "epochs": m["epochs"],
            "h200_s_for_epochs": epoch_s * m["epochs"], "time_budget_s": m["time_budget_s"],
            "epochs_in_budget": (m["time_budget_s"] / epoch_s) if m["time_budget_s"] else None}


def print_table(rows: list[dict], util: float) -> None:
    print(f"H200 estimate at {util:.0%} of {H200_PEAK / 1e12:.0f} TFLOP/s bf16 (FLOPs: fwd + bwd, FlopCounterMode)")
    head = (f"{'recipe':20s} {'params':>9s} {'GFLOP/img':>9s} {'TFLOP/step':>10s} {'CPU ms/img':>10s} {'mm share':>8s} "
            f"{'H200 ms/step':>12s} {'s/epoch':>8s} {'epochs':>6s} {'s (epochs)':>10s} {'budget s':>8s}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['recipe']:20s} {r['params']:>9,d} {r['gflop_per_image']:>9.3f} {r['tflop_per_step']:>10.3f} "
              f"{r['cpu_ms_per_image']:>10.1f} {r['matmul_share']:>8.0%} {r['h200_ms_per_step']:>12.2f} "
              f"{r['h200_s_per_epoch']:>8.2f} {r['epochs']:>6d} {r['h200_s_for_epochs']:>10.0f} {r['time_budget_s']:>8.0f}")


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse(sys.argv[1:] if argv is None else argv)
    if not 0 < args.util <= 1:
        raise SystemExit(f"bench recipe_flops: --util {args.util} must be in (0, 1]")
    recipes = [r.strip() for r in args.recipes.split(",") if r.strip()]
    rows = [estimate(r, measure(r, args.cpu_batch, args.threads), args.util) for r in recipes]
    print_table(rows, args.util)
    out = []
    for r in rows:
        labels = {"recipe": r["recipe"], "model": r["model"], "params": r["params"], "util": args.util}
        out += [{"name": f"{r['recipe']}.gflop_per_image", "value": round(r["gflop_per_image"], 4), "unit": "GFLOP", **labels},
                {"name": f"{r['recipe']}.cpu_ms_per_image", "value": round(r["cpu_ms_per_image"], 2), "unit": "ms", **labels},
                {"name": f"{r['recipe']}.h200_ms_per_step", "value": round(r["h200_ms_per_step"], 3), "unit": "ms", **labels},
                {"name": f"{r['recipe']}.h200_s_per_epoch", "value": round(r["h200_s_per_epoch"], 2), "unit": "s", **labels}]
    return out


if __name__ == "__main__":
    main()
