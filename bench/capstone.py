"""Reference results for the capstone: train the reference recipes and print one table.

    make bench NAME=capstone                          # the CPU recipes (the GPU ones on CUDA)
    make bench-gpu                                    # the GPU recipes at once, exported and graded (bench/gpu_run.py)
    make bench NAME=capstone ARGS="--gpu"             # the GPU recipes one after another; needs CUDA
    make bench NAME=capstone ARGS="--recipes vit_mnist_cpu --threads 2"
    make bench NAME=capstone ARGS="--smoke"           # seconds: tiny models, synthetic data

Each recipe runs in its own process, exactly as `make train CONFIG=<recipe>` does, and its
numbers are read back from the run's metrics.json. Columns: recipe, model, dataset (as
vitdata names the cached copy, e.g. "CIFAR-10 (JPEG copy)"), parameters, epochs, training
time, wall time, training images/s, final and best test accuracy, hardware. These numbers
set the default thresholds in course.toml [capstone]; solutions/a4_capstone/README.md
lists them with the hardware they came from.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
A4 = ROOT / "solutions" / "a4_capstone"
RECIPES = {
    "gpu": ["vit_mnist_gpu", "convit_mnist_gpu", "vit_cifar10_gpu", "convit_cifar10_gpu"],
    "cpu": ["vit_mnist_cpu", "convit_mnist_cpu", "vit_cifar10_cpu", "convit_cifar10_cpu"],
}
# --smoke: the same recipes shrunk to seconds on synthetic data (checks the benchmark itself)
SMOKE = ["synthetic=true", "train_subset=256", "epochs=1", "embed_dim=32", "depth=2", "num_heads=4",
         "local_layers=1", "batch_size=64", "compile=false", "time_budget_s=0.0", "eval_every=1",
         "device='cpu'", "stem_channels=8"]


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/capstone.py", description=__doc__.split("\n\n")[0])
    which = p.add_mutually_exclusive_group()
    which.add_argument("--gpu", action="store_true", help="the GPU recipes (fails without CUDA)")
    which.add_argument("--cpu", action="store_true", help="the CPU recipes")
    which.add_argument("--recipes", help="comma-separated recipe names from solutions/a4_capstone/configs")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0 = its default)")
    p.add_argument("--smoke", action="store_true", help="tiny models on synthetic data (seconds)")
    p.add_argument("--out", help="folder for the runs (default: a temporary folder)")
    return p.parse_args(argv)


def hardware_label(device: str) -> str:
    from vitlab.bench import hardware
    hw = hardware()
    if device.startswith("cuda") and hw.get("gpu"):
        return hw["gpu"]
    return f"{hw['cpu']} ({hw['cpus']} cores visible)"


def dataset_label(dataset: str, synthetic: bool) -> str:
    if synthetic:
        return f"{dataset} (synthetic)"
    import vitdata
    try:
        return vitdata.display_name(dataset)
    except vitdata.DatasetMissingError:
        return dataset


def run_recipe(recipe: str, out: Path, overrides: list[str]) -> dict:
    """Train one recipe in a fresh process; return its metrics.json summary."""
    config = A4 / "configs" / f"{recipe}.toml"
    if not config.is_file():
        raise SystemExit(f"bench capstone: no recipe {config}")
    sets = [f"out_dir='{out / recipe}'", *overrides]
    cmd = [sys.executable, str(A4 / "train.py"), "--config", str(config)]
    for kv in sets:
        cmd += ["--set", kv]
    print(f"-- {recipe}: {' '.join(cmd[1:])}", flush=True)
    proc = subprocess.run(cmd, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"bench capstone: {recipe} failed (exit code {proc.returncode})")
    return json.loads((out / recipe / "metrics.json").read_text(encoding="utf-8"))


def row(recipe: str, m: dict) -> dict:
    cfg = m["config"]
    return {"recipe": recipe, "model": m["model"], "dataset": dataset_label(m["dataset"], cfg.get("synthetic", False)),
            "params": m["params"], "epochs": m["epochs_run"], "train_s": m["train_s"], "wall_s": m["wall_s"],
            "images_per_s": m["train_images_per_s"], "test_acc": 100 * m["test_acc"],
            "best_test_acc": 100 * m["best_test_acc"], "hardware": hardware_label(m["device"]),
            "stopped_early": m.get("stopped_early", False)}


def print_table(rows: list[dict]) -> None:
    head = f"{'recipe':20s} {'model':14s} {'dataset':22s} {'params':>10s} {'epochs':>6s} {'train s':>8s} " \
           f"{'wall s':>8s} {'img/s':>8s} {'test %':>7s} {'best %':>7s}  hardware"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['recipe']:20s} {r['model']:14s} {r['dataset']:22s} {r['params']:>10,d} {r['epochs']:>6d} "
              f"{r['train_s']:>8.1f} {r['wall_s']:>8.1f} {r['images_per_s']:>8.0f} {r['test_acc']:>7.2f} "
              f"{r['best_test_acc']:>7.2f}  {r['hardware']}" + ("  (time budget hit)" if r["stopped_early"] else ""))


def metrics_of(r: dict) -> list[dict]:
    labels = {k: r[k] for k in ("recipe", "model", "dataset", "hardware", "epochs", "params")}
    return [{"name": f"{r['recipe']}.test_acc", "value": round(r["test_acc"], 2), "unit": "%", **labels},
            {"name": f"{r['recipe']}.best_test_acc", "value": round(r["best_test_acc"], 2), "unit": "%", **labels},
            {"name": f"{r['recipe']}.train_s", "value": round(r["train_s"], 1), "unit": "s", **labels},
            {"name": f"{r['recipe']}.wall_s", "value": round(r["wall_s"], 1), "unit": "s", **labels},
            {"name": f"{r['recipe']}.images_per_s", "value": round(r["images_per_s"]), "unit": "images/s", **labels}]


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse(sys.argv[1:] if argv is None else argv)
    import torch
    if args.gpu and not torch.cuda.is_available():
        raise SystemExit("bench capstone --gpu: no CUDA device here; the GPU recipes need one")
    if args.recipes:
        recipes = [r.strip() for r in args.recipes.split(",") if r.strip()]
    else:
        recipes = RECIPES["gpu" if args.gpu or (not args.cpu and torch.cuda.is_available()) else "cpu"]
    overrides = (SMOKE if args.smoke else []) + ([f"threads={args.threads}"] if args.threads else [])
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench-capstone-"))
    rows = [row(r, run_recipe(r, out, overrides)) for r in recipes]
    print()
    print_table(rows)
    return [m for r in rows for m in metrics_of(r)]


if __name__ == "__main__":
    main()
