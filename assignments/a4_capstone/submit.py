"""Put trained checkpoints where the graders look for them, and check them before submitting.

    python submit.py export runs/vit_mnist_gpu vit_mnist    # -> checkpoints/vit_mnist/
    python submit.py check                                  # what the graders will find
    python submit.py check --evaluate                       # + accuracy on your local test set

A submission is this folder: your code (config.py, models.py, ... as you trained with them)
plus one folder per graded checkpoint:

    checkpoints/<name>/checkpoint.safetensors    the weights (safetensors only; < 64 MB)
    checkpoints/<name>/config.json               the Config they were trained with

The graders build each model with *your* models.py from config.json, load the weights and
evaluate them on the full official test set. A pickle or torch.save file is never loaded.
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
import tomllib
from pathlib import Path

from atomic_io import atomic_path
from checkpoint import CheckpointError, load_checkpoint
from config import ConfigError

# name -> (dataset, accepted models); the task ids are in assignment.toml.
CHECKPOINTS = {
    "vit_mnist": ("mnist", ("vit",)),
    "convit_mnist": ("mnist", ("convit", "convit_hybrid")),
    "vit_cifar10": ("cifar10", ("vit",)),
    "convit_cifar10": ("cifar10", ("convit", "convit_hybrid")),
}
MAX_BYTES = 64 << 20          # larger files are dropped when a submission is collected


def graded_names() -> list[str]:
    """The checkpoints this course grades: those named in assignment.toml's task titles
    ("... (checkpoints/<name>)"), or all of CHECKPOINTS when there is no assignment.toml."""
    path = Path(__file__).resolve().with_name("assignment.toml")
    if not path.is_file():
        return list(CHECKPOINTS)
    titles = [t.get("title", "") for t in tomllib.loads(path.read_text(encoding="utf-8")).get("tasks", [])]
    found = {m.group(1) for t in titles if (m := re.search(r"\(checkpoints/(\w+)\)", t))}
    return [name for name in CHECKPOINTS if name in found]


class SubmitError(ValueError):
    """A run cannot be exported as the named checkpoint; the message says why."""


def check_run(ckpt: Path, name: str):
    """Load `ckpt` with config.json beside it into a freshly built model (your code) and check
    that it suits checkpoint `name`. Returns (model, cfg); raises SubmitError naming the problem."""
    if name not in CHECKPOINTS:
        raise SubmitError(f"unknown checkpoint name {name!r} (this course grades: {', '.join(graded_names())})")
    dataset, models = CHECKPOINTS[name]
    try:
        model, cfg = load_checkpoint(ckpt)
    except (CheckpointError, ConfigError) as e:
        raise SubmitError(str(e)) from None
    if cfg.dataset != dataset:
        raise SubmitError(f"{ckpt}: trained on {cfg.dataset!r}, but {name!r} must be a {dataset!r} checkpoint")
    if cfg.model not in models:
        raise SubmitError(f"{ckpt}: model {cfg.model!r}, but {name!r} must be one of {', '.join(models)}")
    if ckpt.stat().st_size > MAX_BYTES:
        raise SubmitError(f"{ckpt}: {ckpt.stat().st_size / 2**20:.0f} MB; checkpoints over "
                          f"{MAX_BYTES >> 20} MB are not collected. Train a smaller model.")
    return model, cfg


def export(run_dir: str | Path, name: str, dest: str | Path = "checkpoints") -> Path:
    """Copy run_dir/checkpoint.safetensors + config.json to dest/<name>/ after checking that they
    load into your model. Returns the exported checkpoint's path."""
    run_dir = Path(run_dir)
    src = run_dir / "checkpoint.safetensors" if run_dir.is_dir() else run_dir
    check_run(src, name)
    out = Path(dest) / name
    out.mkdir(parents=True, exist_ok=True)
    for source, target in ((src.with_name("config.json"), out / "config.json"),
                           (src, out / "checkpoint.safetensors")):
        with atomic_path(target) as tmp:
            shutil.copyfile(source, tmp)
    return out / "checkpoint.safetensors"


def check(dest: str | Path = "checkpoints", evaluate: bool = False, data_dir=None) -> dict[str, str]:
    """What the graders will find under `dest`: {name: "ok ..." | "missing ..." | "error: ..."}.
    With evaluate=True, also the accuracy on the local copy of the official test set."""
    status = {}
    for name in graded_names():
        ckpt = Path(dest) / name / "checkpoint.safetensors"
        if not ckpt.is_file():
            status[name] = f"missing ({ckpt} not found)"
            continue
        try:
            model, cfg = check_run(ckpt, name)
        except SubmitError as e:
            status[name] = f"error: {e}"
            continue
        params = sum(p.numel() for p in model.parameters())
        line = f"ok: {cfg.model}, {params:,} parameters, {ckpt.stat().st_size / 2**20:.1f} MB"
        if evaluate:
            line += f", {_test_accuracy(model, cfg, data_dir)}"
        status[name] = line
    return status


def _test_accuracy(model, cfg, data_dir=None) -> str:
    import torch

    import vitdata
    from train import evaluate
    x, y = vitdata.load(cfg.dataset, "test", data_dir)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    _, acc = evaluate(model.eval(), x, y, cfg.replace(device="cpu", amp="none"))
    return f"test accuracy {100 * acc:.2f}% on {len(y):,} images ({vitdata.display_name(cfg.dataset, data_dir)})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("export", help="copy a run's checkpoint into checkpoints/<name>/")
    ex.add_argument("run_dir", help="a training run's out_dir (or its checkpoint.safetensors)")
    ex.add_argument("name", choices=list(CHECKPOINTS))
    ex.add_argument("--dest", default="checkpoints")
    ch = sub.add_parser("check", help="list what the graders will find")
    ch.add_argument("--dest", default="checkpoints")
    ch.add_argument("--evaluate", action="store_true", help="also measure test accuracy (needs the data)")
    args = parser.parse_args(argv)
    if args.cmd == "export":
        try:
            path = export(args.run_dir, args.name, args.dest)
        except SubmitError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(f"exported {path} (+ config.json)")
        if args.name not in graded_names():
            print(f"note: this course does not grade {args.name} (it grades: {', '.join(graded_names())})",
                  file=sys.stderr)
        return 0
    status = check(args.dest, args.evaluate)
    for name, line in status.items():
        print(f"{name:16s} {line}")
    return 0 if all(s.startswith("ok") for s in status.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
